"""A small catalog for sink tests and helpers that build its messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loomlite.contract import Binary, Catalog, Envelope, TableSpec, TopicKind, TopicSpec
from loomlite.sink import build_metadata, create_engine

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Reading(Envelope):
    """A sensor value; stored in table ``sensor_reading``."""

    value: float
    unit: str
    label: str | None = None


class Note(Envelope):
    """A text note with every kind of column."""

    title: str
    body: str
    words: int = 0
    pinned: bool = False
    tags: list[str] = []
    attachment: Binary | None = None


class Digest(Envelope):
    """A fetched item whose producer sends a dedupe hash."""

    content_hash: str | None = None
    subject: str


class Ping(Envelope):
    """A message that is never stored."""


SMALL_CATALOG = Catalog(
    [
        TopicSpec(
            "sensor.reading",
            TopicKind.RAW,
            "A sensor value.",
            {1: Reading},
            aliases=("legacy.reading",),
            table=TableSpec("sensor_reading"),
        ),
        TopicSpec(
            "text.note",
            TopicKind.RAW,
            "A text note.",
            {1: Note},
            table=TableSpec("text_note", ("device_id", "recorded_at", "title")),
        ),
        TopicSpec(
            "external.digest",
            TopicKind.RAW,
            "A fetched item.",
            {1: Digest},
            table=TableSpec("digest", unique=("content_hash",)),
        ),
        TopicSpec(
            "internal.ping",
            TopicKind.INTERNAL,
            "A liveness ping.",
            {1: Ping},
            not_persisted_reason="pings only show that a component runs",
        ),
    ]
)


def reading(index: int, *, device_id: str = "phone-1", **fields: Any) -> Reading:
    """Return the reading number ``index``, one second after the previous one."""
    values: dict[str, Any] = {
        "device_id": device_id,
        "recorded_at": T0 + timedelta(seconds=index),
        "received_at": T0 + timedelta(seconds=index, milliseconds=250),
        "value": float(index),
        "unit": "C",
    }
    values.update(fields)
    return Reading(**values)


def note(index: int, **fields: Any) -> Note:
    values: dict[str, Any] = {
        "device_id": "desktop-1",
        "recorded_at": T0 + timedelta(minutes=index),
        "received_at": T0 + timedelta(minutes=index),
        "title": f"note {index}",
        "body": "text",
    }
    values.update(fields)
    return Note(**values)


def digest(index: int, content_hash: str | None, **fields: Any) -> Digest:
    values: dict[str, Any] = {
        "device_id": "fetcher-1",
        "recorded_at": T0 + timedelta(hours=index),
        "received_at": T0 + timedelta(hours=index),
        "content_hash": content_hash,
        "subject": f"item {index}",
    }
    values.update(fields)
    return Digest(**values)


async def create_tables(url: str, catalog: Catalog = SMALL_CATALOG) -> None:
    """Create the catalog's tables directly, as tests of ad-hoc catalogs do."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(build_metadata(catalog).create_all)
    finally:
        await engine.dispose()
