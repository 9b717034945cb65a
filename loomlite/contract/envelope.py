"""The envelope every message carries, flat beside the topic's own fields."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import Field, field_validator, model_validator

from loomlite.contract.types import ContractModel, DeviceId, UtcDatetime

__all__ = ["ENVELOPE_FIELDS", "LATEST_EVENT_TIME", "Envelope", "new_id"]

LATEST_EVENT_TIME = datetime(9999, 1, 1, tzinfo=UTC)
"""First rejected ``recorded_at``. Stages add a day or a window to event
times (a step day's end, an activity window's end), and the year of margin
keeps those results within datetime's limit of year 9999."""


def new_id() -> str:
    """Return a fresh random identifier (a UUID4 in canonical text form)."""
    return str(uuid.uuid4())


class Envelope(ContractModel):
    """Fields shared by every message on every topic.

    ``recorded_at`` is event time and is never null; ``received_at`` is when
    loomlite took the message in (or derived it). The broker key is always
    ``device_id``. Subclasses set ``version`` to their schema version.
    """

    version: ClassVar[int] = 1

    schema_version: int = Field(default=1, ge=1, description="Model version.")
    message_id: str = Field(default_factory=new_id, min_length=1, max_length=256)
    trace_id: str = Field(default_factory=new_id, min_length=1, max_length=256)
    device_id: DeviceId
    recorded_at: UtcDatetime = Field(description="Event time, UTC.")
    received_at: UtcDatetime = Field(description="Intake or derivation time, UTC.")

    @field_validator("recorded_at")
    @classmethod
    def _check_event_time(cls, value: datetime) -> datetime:
        if value >= LATEST_EVENT_TIME:
            raise ValueError(
                f"event time {value.isoformat()} is too late: expected a time "
                "before 9999-01-01T00:00:00Z, so that the day and window ends "
                "derived from it stay within year 9999"
            )
        return value

    @model_validator(mode="after")
    def _check_version(self) -> Self:
        if self.schema_version != self.version:
            raise ValueError(
                f"schema_version {self.schema_version} does not match this "
                f"model's version {self.version}"
            )
        return self

    @classmethod
    def derive(cls, source: Envelope, *, received_at: datetime, **fields: Any) -> Self:
        """Build a message of this model that continues ``source``'s trace.

        The new message keeps the source's ``trace_id``, ``device_id`` and
        ``recorded_at`` unless ``fields`` override them.
        """
        values: dict[str, Any] = {
            "trace_id": source.trace_id,
            "device_id": source.device_id,
            "recorded_at": source.recorded_at,
            "received_at": received_at,
            "schema_version": cls.version,
        }
        values.update(fields)
        return cls(**values)


ENVELOPE_FIELDS: tuple[str, ...] = tuple(Envelope.model_fields)
