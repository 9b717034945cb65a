"""A small catalog, models and components that the runtime tests share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from loomlite.broker import MemoryBroker
from loomlite.broker.base import Broker, Record
from loomlite.clock import ManualClock
from loomlite.contract import ProcessingError, decode
from loomlite.contract.catalog import (
    Catalog,
    Retention,
    TableSpec,
    TopicKind,
    TopicSpec,
)
from loomlite.contract.envelope import Envelope
from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.runtime import Runtime
from loomlite.runtime.settings import LoomliteSettings
from loomlite.runtime.subscription import subscribe

START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)

GPS = "device.sensor.gps.raw"
PLACE = "location.address.geocoded"
NOTE = "device.text.note.raw"
WORDS = "media.text.word_count"
UNUSED = "location.address.unused"


class GpsFix(Envelope):
    latitude: float
    longitude: float


class Place(Envelope):
    name: str


class Note(Envelope):
    text: str


class WordCount(Envelope):
    words: int


def _error_topic(stage: str) -> TopicSpec:
    return TopicSpec(
        name=f"processing.errors.{stage}",
        kind=TopicKind.ERROR,
        description=f"Records the {stage} stage failed on.",
        models={1: ProcessingError},
        partitions=1,
        not_persisted_reason="tests read error topics from the broker",
    )


def build_catalog() -> Catalog:
    """Return a catalog of five topics and three error topics."""
    return Catalog(
        [
            TopicSpec(
                name=GPS,
                kind=TopicKind.RAW,
                description="GPS fixes from a phone.",
                models={1: GpsFix},
                aliases=("device.gps.legacy",),
                partitions=2,
                table=TableSpec("gps_fixes"),
            ),
            TopicSpec(
                name=PLACE,
                kind=TopicKind.DERIVED,
                description="Place names for GPS fixes.",
                models={1: Place},
                partitions=2,
                table=TableSpec("places"),
            ),
            TopicSpec(
                name=NOTE,
                kind=TopicKind.RAW,
                description="Typed notes.",
                models={1: Note},
                retention=Retention(max_age=timedelta(days=1)),
                partitions=1,
                not_persisted_reason="counted, not stored",
            ),
            TopicSpec(
                name=WORDS,
                kind=TopicKind.DERIVED,
                description="Word counts of notes.",
                models={1: WordCount},
                partitions=1,
                table=TableSpec("word_counts"),
            ),
            TopicSpec(
                name=UNUSED,
                kind=TopicKind.DERIVED,
                description="A topic nobody reads or stores.",
                models={1: Place},
                partitions=1,
                not_persisted_reason="exists to test the lint warning",
            ),
            _error_topic("geocoding"),
            _error_topic("counting"),
            _error_topic("recording"),
        ]
    )


def fix(latitude: float, device: str = "phone-1", minute: int = 0) -> GpsFix:
    moment = START + timedelta(minutes=minute)
    return GpsFix(
        device_id=device,
        recorded_at=moment,
        received_at=moment,
        latitude=latitude,
        longitude=13.4,
    )


def note(text: str, device: str = "laptop-1") -> Note:
    return Note(device_id=device, recorded_at=START, received_at=START, text=text)


class Geocoder(Component):
    """Names the place of each fix; raises on latitudes above 80 degrees."""

    name = "enrich"
    publishes = (PLACE,)

    def __init__(self) -> None:
        self.seen: list[float] = []

    @subscribe(GPS, stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        self.seen.append(message.latitude)
        if message.latitude > 80:
            raise ValueError(f"no places north of 80 degrees, got {message.latitude}")
        name = f"place at {message.latitude:.1f}"
        await context.publish(
            PLACE, Place.derive(message, received_at=context.clock.now(), name=name)
        )


class WordCounter(Component):
    """Counts the words of notes in batches."""

    name = "counter"
    publishes = (WORDS,)

    def __init__(self) -> None:
        self.batches: list[int] = []

    @subscribe(NOTE, stage="counting", batch=True)
    async def on_notes(self, messages: Sequence[Note], context: Context) -> None:
        self.batches.append(len(messages))
        for message in messages:
            words = len(message.text.split())
            await context.publish(
                WORDS,
                WordCount.derive(message, received_at=context.clock.now(), words=words),
            )


class PlaceRecorder(Component):
    """Keeps every place it receives, in order."""

    name = "recorder"

    def __init__(self) -> None:
        self.places: list[str] = []

    @subscribe(PLACE, stage="recording")
    async def on_place(self, message: Place, context: Context) -> None:
        self.places.append(message.name)


def fast_settings(**supervisor: float | int | None) -> LoomliteSettings:
    """Return settings with short real-time delays, so tests stay fast."""
    values: dict[str, float | int | None] = {
        "restart_initial_delay": 0.01,
        "restart_max_delay": 0.05,
        "publish_retry_delay": 0.0,
        "drain_timeout": 2.0,
    }
    values.update(supervisor)
    return LoomliteSettings(supervisor=values)


def memory_broker() -> MemoryBroker:
    """Return a MemoryBroker on a manual clock at START.

    Retention compares record timestamps with the broker clock, so a broker on
    the wall clock would delete the test messages, which are dated START.
    """
    return MemoryBroker(clock=ManualClock(START))


def make_runtime(
    *components: Component,
    broker: MemoryBroker | None = None,
    settings: LoomliteSettings | None = None,
    inputs: tuple[str, ...] = (GPS, NOTE),
) -> Runtime:
    """Return a runtime over the test catalog and a MemoryBroker, sharing the
    broker's manual clock."""
    broker = broker if broker is not None else memory_broker()
    return Runtime(
        settings or fast_settings(),
        components=components,
        broker=broker,
        clock=broker.clock,
        catalog=build_catalog(),
        inputs=inputs,
    )


async def read_records(broker: Broker, topic: str) -> list[Record]:
    """Return every retained record of ``topic``, partition by partition."""
    records: list[Record] = []
    for partition in range(broker.topics()[topic].partitions):
        start = broker.log_start_offset(topic, partition)
        records.extend(await broker.read(topic, partition, start, max_records=10_000))
    return records


async def read_messages(broker: Broker, topic: str) -> list[Envelope]:
    """Return every retained message of ``topic`` decoded with the test catalog."""
    spec = build_catalog().get(topic)
    return [decode(spec, record.value) for record in await read_records(broker, topic)]
