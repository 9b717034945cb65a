"""``loomlite tail``, ``record`` and ``seek``: read and move through a broker file.

These commands open the durable broker file of a state directory
(``broker.sqlite3``, written by a runtime whose broker is ``durable``).
NOTE: the durable broker keeps its logs in memory while it runs and nothing
locks the file, so run these commands while no runtime uses the directory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import anyio
import click

from loomlite.errors import LoomliteError

__all__ = ["open_state_broker", "record", "run_command", "seek", "tail"]

_T = TypeVar("_T")

STATE_DIR_OPTION = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("state"),
    show_default=True,
    envvar="LOOMLITE_STATE_DIR",
    help="State directory whose broker.sqlite3 to open.",
)


class TimestampType(click.ParamType[datetime]):
    """An ISO 8601 time with a UTC offset, such as 2025-06-02T07:00:00Z."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"invalid time {value!r}: expected ISO 8601 such as "
                "2025-06-02T07:00:00Z",
                param,
                ctx,
            )
        if moment.tzinfo is None:
            self.fail(
                f"invalid time {value!r}: add a UTC offset such as Z or +02:00",
                param,
                ctx,
            )
        return moment


TIMESTAMP = TimestampType()


def run_command(main: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``main`` on asyncio and turn loomlite errors into click errors."""
    try:
        return anyio.run(main)
    except (LoomliteError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise click.ClickException(str(message)) from None


def open_state_broker(state_dir: Path) -> Any:
    """Return an unstarted DurableBroker on ``state_dir``'s broker file.

    Its clock is at INSPECTION_EPOCH, so opening the file deletes no
    record by age. Raises ClickException when the file does not exist.
    """
    from loomlite.broker import DurableBroker
    from loomlite.broker.factory import DURABLE_FILE_NAME
    from loomlite.clock import ManualClock
    from loomlite.recording import INSPECTION_EPOCH

    path = state_dir / DURABLE_FILE_NAME
    if not path.is_file():
        raise click.ClickException(
            f"broker file not found: {path}; run a pipeline with broker "
            "'durable' in that state directory first (LOOMLITE_BROKER=durable)"
        )
    return DurableBroker(path, ManualClock(INSPECTION_EPOCH))


def _canonical(names: Sequence[str]) -> list[str]:
    from loomlite.contract import CATALOG

    return [CATALOG.resolve(name) for name in names]


# -- tail ----------------------------------------------------------------------


@click.command()
@click.argument("topic")
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Number of newest messages to print.",
)
@click.option("--json", "as_json", is_flag=True, help="Print recording lines.")
@STATE_DIR_OPTION
def tail(topic: str, lines: int, as_json: bool, state_dir: Path) -> None:
    """Print the newest messages of TOPIC (a name or an alias), oldest first."""
    records = run_command(lambda: _tail(topic, lines, state_dir))
    from loomlite.recording import encode_record

    for item in records:
        if as_json:
            click.echo(encode_record(item))
            continue
        value = item.value.decode("utf-8", errors="replace")
        if len(value) > 240:
            value = value[:237] + "..."
        click.echo(
            f"{item.timestamp.isoformat()} {item.topic}[{item.partition}]"
            f"@{item.offset} key={item.key} {value}"
        )


async def _tail(topic: str, lines: int, state_dir: Path) -> list[Any]:
    (name,) = _canonical([topic])
    async with open_state_broker(state_dir) as broker:
        if name not in broker.topics():
            return []
        found = []
        for partition in range(broker.topics()[name].partitions):
            end = broker.end_offset(name, partition)
            start = max(broker.log_start_offset(name, partition), end - lines)
            if end > start:
                found.extend(await broker.read(name, partition, start, end - start))
    found.sort(key=lambda r: (r.timestamp_ns, r.partition, r.offset))
    return found[-lines:]


# -- record --------------------------------------------------------------------


@click.command()
@click.option(
    "--topic",
    "topics",
    multiple=True,
    help="Topic to record (a name or an alias); repeat for several.",
)
@click.option("--all", "all_topics", is_flag=True, help="Record every topic.")
@click.option("--from-time", type=TIMESTAMP, help="First record time to include.")
@click.option("--to-time", type=TIMESTAMP, help="Record time to stop before.")
@click.option(
    "--from-offset", type=click.IntRange(min=0), help="First offset per partition."
)
@click.option(
    "--to-offset",
    type=click.IntRange(min=0),
    help="Offset per partition to stop before.",
)
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8", lazy=False),
    default="-",
    help="JSON-lines file to write (default: standard output).",
)
@STATE_DIR_OPTION
def record(
    topics: tuple[str, ...],
    all_topics: bool,
    from_time: datetime | None,
    to_time: datetime | None,
    from_offset: int | None,
    to_offset: int | None,
    output: IO[str],
    state_dir: Path,
) -> None:
    """Write the messages of topics in a time and offset range as JSON lines.

    Binary values are written as base64 with a "$base64" marker, so 'loomlite
    replay' publishes the same bytes again.
    """
    if not topics and not all_topics:
        raise click.UsageError("name at least one --topic, or pass --all")
    if from_offset is not None and to_offset is not None and to_offset <= from_offset:
        raise click.UsageError(
            f"--to-offset {to_offset} must be greater than --from-offset "
            f"{from_offset}, because the range stops before --to-offset"
        )
    if from_time is not None and to_time is not None and to_time <= from_time:
        raise click.UsageError(
            f"--to-time {to_time.isoformat()} must be later than --from-time "
            f"{from_time.isoformat()}, because the range stops before --to-time"
        )
    from loomlite.recording import OffsetRange, TimeRange

    times = TimeRange(from_time, to_time)
    offsets = OffsetRange(from_offset, to_offset)
    count = run_command(
        lambda: _record(topics, all_topics, times, offsets, output, state_dir)
    )
    click.echo(f"recorded {count} message(s)", err=True)


async def _record(
    topics: tuple[str, ...],
    all_topics: bool,
    times: Any,
    offsets: Any,
    output: IO[str],
    state_dir: Path,
) -> int:
    from loomlite.recording import record_topics

    async with open_state_broker(state_dir) as broker:
        names = sorted(broker.topics()) if all_topics else _canonical(topics)
        missing = [name for name in names if name not in broker.topics()]
        names = [name for name in names if name in broker.topics()]
        for name in missing:
            click.echo(f"topic {name} has no records in {state_dir}", err=True)
        return await record_topics(broker, names, output, times=times, offsets=offsets)


# -- seek ----------------------------------------------------------------------


@click.command()
@click.argument("group")
@click.argument("topic")
@click.option("--to-offset", type=click.IntRange(min=0), help="Offset to move to.")
@click.option(
    "--to-time", type=TIMESTAMP, help="Move to the first record at or after this time."
)
@click.option(
    "--partition",
    type=click.IntRange(min=0),
    help="Only this partition (default: every partition of TOPIC).",
)
@STATE_DIR_OPTION
def seek(
    group: str,
    topic: str,
    to_offset: int | None,
    to_time: datetime | None,
    partition: int | None,
    state_dir: Path,
) -> None:
    """Move consumer GROUP's committed offsets in TOPIC.

    The group then reads TOPIC from there when its runtime starts again. An
    offset outside the retained log is clamped to its start or end.
    """
    if (to_offset is None) == (to_time is None):
        raise click.UsageError("pass exactly one of --to-offset and --to-time")
    moved = run_command(
        lambda: _seek(group, topic, to_offset, to_time, partition, state_dir)
    )
    for name, number, old, new in moved:
        click.echo(f"{group} {name}[{number}]: {old} -> {new}")


async def _seek(
    group: str,
    topic: str,
    to_offset: int | None,
    to_time: datetime | None,
    partition: int | None,
    state_dir: Path,
) -> list[tuple[str, int, int | None, int]]:
    from loomlite.broker import TopicPartition

    (name,) = _canonical([topic])
    async with open_state_broker(state_dir) as broker:
        if name not in broker.topics():
            raise click.ClickException(f"topic {name} has no records in {state_dir}")
        known_groups = sorted({g.group for g in broker.statistics().groups})
        if group not in known_groups:
            raise click.ClickException(
                f"unknown consumer group {group!r}; groups in {state_dir}: "
                f"{', '.join(known_groups) or 'none'}"
            )
        count = broker.topics()[name].partitions
        if partition is not None and partition >= count:
            raise click.ClickException(
                f"invalid partition {partition}: {name} has partitions 0 to {count - 1}"
            )
        numbers = range(count) if partition is None else [partition]
        moved = []
        async with broker.consumer(group, [name]) as consumer:
            offsets = {}
            for number in numbers:
                position = TopicPartition(name, number)
                old = await consumer.committed(position)
                if to_time is not None:
                    new = await broker.offset_for_time(name, number, to_time)
                else:
                    assert to_offset is not None
                    start = broker.log_start_offset(name, number)
                    new = min(max(to_offset, start), broker.end_offset(name, number))
                offsets[position] = new
                moved.append((name, number, old, new))
            await consumer.commit(offsets)
        return moved
