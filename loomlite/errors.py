"""The exception hierarchy: every error loomlite raises derives from LoomliteError."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class LoomliteError(Exception):
    """Base class of every error that loomlite raises on purpose."""


class LifecycleError(LoomliteError):
    """Raised when an object is used in a state that does not allow the call.

    Examples are publishing to a closed broker or starting a runtime twice.
    """

    def __init__(self, what: str, state: str, action: str) -> None:
        self.what = what
        self.state = state
        self.action = action
        super().__init__(f"cannot {action}: the {what} is {state}")


class ConfigurationError(LoomliteError):
    """Raised when settings or a profile contain an unknown key or a bad value."""

    def __init__(
        self, message: str, *, key: str | None = None, source: Path | str | None = None
    ) -> None:
        self.key = key
        self.source = source
        where = f" (in {source})" if source else ""
        super().__init__(f"{message}{where}")


# -- contract ---------------------------------------------------------------


class ContractError(LoomliteError):
    """Base class of errors about topics and message payloads."""


class UnknownTopicError(ContractError):
    """Raised when a topic name is neither a canonical name nor an alias."""

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        hint = ""
        if self.suggestions:
            hint = "; did you mean " + " or ".join(repr(s) for s in self.suggestions)
        super().__init__(
            f"unknown topic {name!r}{hint}; run 'loomlite topics' to list them"
        )


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failed field of a message: its dotted path, the reason and the input."""

    path: str
    message: str
    input: Any = None

    def __str__(self) -> str:
        shown = repr(self.input)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"field {self.path!r}: {self.message} (got {shown})"


class MessageValidationError(ContractError):
    """Raised when a payload does not match its topic's model.

    ``errors`` contains one FieldError per failed field, in the order the model
    reported them.
    """

    def __init__(self, topic: str, errors: Sequence[FieldError]) -> None:
        self.topic = topic
        self.errors = tuple(errors)
        details = "; ".join(str(error) for error in self.errors) or "no details"
        super().__init__(f"invalid message for topic {topic!r}: {details}")

    @property
    def fields(self) -> tuple[str, ...]:
        """The dotted paths of the failed fields."""
        return tuple(error.path for error in self.errors)


class AudioFormatError(ContractError):
    """Raised when audio bytes cannot be decoded or disagree with their metadata.

    ``field`` names what is wrong: ``format``, ``sample_rate`` or ``channels``
    when a declared value disagrees with the bytes (or with the stream the audio
    continues), ``data`` when the bytes themselves are invalid or truncated.
    ``declared`` and ``actual`` are the two values of a disagreement, and None
    where a value does not apply. The message names every value involved.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str = "data",
        declared: object = None,
        actual: object = None,
    ) -> None:
        self.field = field
        self.declared = declared
        self.actual = actual
        super().__init__(message)


class ImageFormatError(ContractError):
    """Raised when image bytes cannot be decoded into pixels, or are too large.

    ``format`` is the format the message declared, and ``size`` the length of
    the data in bytes. The message names the check that failed.
    """

    def __init__(self, message: str, *, format: str, size: int) -> None:
        self.format = format
        self.size = size
        super().__init__(message)


# -- broker -----------------------------------------------------------------


class BrokerError(LoomliteError):
    """Base class of broker errors."""


class TopicNotFoundError(BrokerError):
    """Raised when a broker call names a topic that was never created."""

    def __init__(self, topic: str, known: Sequence[str] = ()) -> None:
        self.topic = topic
        known_text = ", ".join(sorted(known)[:10]) or "none"
        super().__init__(
            f"topic {topic!r} does not exist on this broker "
            f"(created topics: {known_text})"
        )


class OffsetOutOfRangeError(BrokerError):
    """Raised when a position lies outside the retained log and the group's
    offset-reset policy is ``none``."""

    def __init__(
        self, topic: str, partition: int, offset: int, start: int, end: int
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.start = start
        self.end = end
        super().__init__(
            f"offset {offset} of {topic}[{partition}] is out of range "
            f"(retained offsets {start}..{end}); seek to a retained offset or "
            "use offset_reset='earliest' or 'latest'"
        )


class NoCommittedOffsetError(BrokerError):
    """Raised when a group has no committed offset for a partition and its
    offset-reset policy is ``none``."""

    def __init__(self, group: str, topic: str, partition: int) -> None:
        self.group = group
        self.topic = topic
        self.partition = partition
        super().__init__(
            f"group {group!r} has no committed offset for {topic}[{partition}] "
            "and its offset_reset is 'none'; commit or seek an offset first, or "
            "use offset_reset='earliest' or 'latest'"
        )


class PartitionNotAssignedError(BrokerError):
    """Raised when a consumer commits, seeks or reads the position of a
    partition that is not assigned to it, for example after a rebalance gave
    the partition to another member of the group."""

    def __init__(self, group: str, partition: str, assigned: Sequence[str]) -> None:
        self.group = group
        self.partition = partition
        self.assigned = tuple(assigned)
        assigned_text = ", ".join(self.assigned) or "none"
        super().__init__(
            f"partition {partition} is not assigned to this member of group "
            f"{group!r} (assigned: {assigned_text}); after a rebalance, fetch "
            "again and commit only what the new assignment returns"
        )


class BrokerStorageError(BrokerError):
    """Raised when the durable broker cannot read or write its SQLite file.

    ``path`` is the file. The original sqlite3 error is chained as the cause.
    """

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(f"{message} (broker file {path})")


# -- simulators -------------------------------------------------------------


class GpxError(LoomliteError):
    """Raised when a GPX file cannot be parsed or contains no usable track point.

    ``source`` is the file path (or the name given for in-memory text) and
    ``reason`` the problem found.
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"invalid GPX file {source!r}: {reason}")


# -- sink -------------------------------------------------------------------


class SinkError(LoomliteError):
    """Raised when the database sink cannot write or reach its database.

    ``table`` names the table involved, or is None when the error concerns the
    database as a whole.
    """

    def __init__(self, message: str, *, table: str | None = None) -> None:
        self.table = table
        super().__init__(message)


# -- runtime ----------------------------------------------------------------


class TopologyError(LoomliteError):
    """Raised at start when the component topology has lint errors.

    ``problems`` lists each error as a sentence naming the topic or component.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        listing = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"the topology has {len(self.problems)} error(s):\n{listing}")


class ComponentError(LoomliteError):
    """Raised when a component is declared wrongly or fails outside a handler."""


# -- benchmarks -------------------------------------------------------------


class BenchmarkError(LoomliteError):
    """Raised when a benchmark cannot measure its subject, for example because
    a ``loomlite up`` child process failed or timed out."""
