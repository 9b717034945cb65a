"""Replay a recording into a broker file or into a new runtime.

Every record keeps its value, headers and timestamp, so messages keep their
original event times. At a speed factor the replay waits between records
for their event-time gap divided by the factor. At ``max`` it does not wait,
and a new runtime's manual clock jumps to each record's time instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from loomlite.broker.base import Broker, RecordMetadata, TopicConfig
from loomlite.clock import AcceleratedClock, Clock, ManualClock
from loomlite.contract import CATALOG, decode
from loomlite.contract.catalog import Catalog
from loomlite.errors import ConfigurationError, LoomliteError
from loomlite.recording import RecordedMessage, arrival_time
from loomlite.runtime.component import Component
from loomlite.runtime.runtime import Runtime, retention_policy
from loomlite.runtime.settings import LoomliteSettings
from loomlite.runtime.topology import Topology

__all__ = [
    "ReplayReport",
    "Speed",
    "invalid_messages",
    "replay_into_broker",
    "replay_into_runtime",
]

logger = logging.getLogger(__name__)

Speed = float | str
"""A positive factor of real time, or ``"max"``."""

# Messages published between two waits until idle at speed max, so that a
# long recording does not pile up in the broker.
_IDLE_EVERY = 500
_IDLE_TIMEOUT = 120.0


@dataclass(slots=True)
class ReplayReport:
    """Counts of the messages a replay published, re-keyed and skipped."""

    published: int = 0
    rekeyed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    first: RecordMetadata | None = None
    last: RecordMetadata | None = None


def check_speed(speed: Speed) -> Speed:
    """Return ``speed`` if it is ``"max"`` or a positive number, else raise."""
    if speed == "max":
        return speed
    if isinstance(speed, int | float) and speed > 0:
        return float(speed)
    raise ConfigurationError(
        f"invalid replay speed {speed!r}: expected a positive factor or 'max'",
        key="speed",
    )


def invalid_messages(
    messages: Sequence[RecordedMessage], catalog: Catalog = CATALOG
) -> list[str]:
    """Describe each message of a catalog topic whose value does not decode
    to the topic's model, as ``topic[partition]@offset: reason``."""
    problems: list[str] = []
    for message in messages:
        if message.topic not in catalog:
            continue
        try:
            decode(catalog.get(message.topic), message.value)
        except LoomliteError as exc:
            where = f"{message.topic}[{message.partition}]@{message.offset}"
            problems.append(f"{where}: {exc}")
    return problems


def replay_clock(messages: Sequence[RecordedMessage], speed: Speed) -> Clock:
    """Return the clock of a replay: manual at ``max``, else accelerated,
    starting when the recorded run received the first message."""
    start = arrival_time(messages[0])
    if speed == "max":
        return ManualClock(start)
    assert not isinstance(speed, str)
    return AcceleratedClock(speed, start=start)


def _key(message: RecordedMessage, rekey: bool, catalog: Catalog) -> str | None:
    """Return the recorded key, or with ``rekey`` the message's device_id."""
    if not rekey:
        return message.key
    try:
        return decode(catalog.get(message.topic), message.value).device_id
    except LoomliteError as exc:
        logger.warning(
            "replayed the recorded key of %s[%d]@%d: %s",
            message.topic,
            message.partition,
            message.offset,
            exc,
        )
        return message.key


async def replay_into_broker(
    broker: Broker,
    messages: Sequence[RecordedMessage],
    *,
    clock: Clock,
    speed: Speed,
    rekey: bool = False,
    catalog: Catalog = CATALOG,
    runtime: Runtime | None = None,
) -> ReplayReport:
    """Publish ``messages`` (in arrival order, see ``sorted_by_arrival``) to
    ``broker``, each with its recorded timestamp.

    At ``max`` a ManualClock ``clock`` is set to each message's arrival time
    before it is published. At a factor the call waits on ``clock`` until
    that time. With ``runtime`` at ``max``, the replay waits until the runtime is
    idle every ``_IDLE_EVERY`` messages. Messages of topics the broker does
    not have are skipped and counted.
    """
    report = ReplayReport()
    known = broker.topics()
    for count, message in enumerate(messages, start=1):
        if message.topic not in known:
            report.skipped[message.topic] = report.skipped.get(message.topic, 0) + 1
            continue
        await _wait_for(clock, message, speed)
        key = _key(message, rekey, catalog)
        if key != message.key:
            report.rekeyed += 1
        metadata = await broker.publish(
            message.topic,
            message.value,
            key=key,
            headers=message.headers,
            timestamp=message.timestamp,
        )
        report.first = report.first or metadata
        report.last = metadata
        report.published += 1
        if runtime is not None and speed == "max" and count % _IDLE_EVERY == 0:
            await runtime.run_until_idle(timeout=_IDLE_TIMEOUT)
    for topic, skipped in sorted(report.skipped.items()):
        logger.warning("skipped %d message(s) of unknown topic %r", skipped, topic)
    return report


async def _wait_for(clock: Clock, message: RecordedMessage, speed: Speed) -> None:
    # The clock follows when the recorded run received each message, not its
    # event time: a calendar event two weeks ahead would otherwise move the
    # clock there, and age retention would delete the records not yet read.
    arrived = arrival_time(message)
    if speed == "max":
        if isinstance(clock, ManualClock) and arrived > clock.now():
            clock.set(arrived)
        return
    await clock.sleep_until(arrived)


async def create_catalog_topics(broker: Broker, catalog: Catalog = CATALOG) -> None:
    """Create every catalog topic on ``broker``, as a runtime does at start."""
    for spec in catalog:
        config = TopicConfig(
            name=spec.name, partitions=spec.partitions, retention=retention_policy(spec)
        )
        await broker.create_topic(config)


async def replay_into_runtime(
    messages: Sequence[RecordedMessage],
    settings: LoomliteSettings,
    *,
    speed: Speed,
    rekey: bool = False,
    process: bool = False,
) -> ReplayReport:
    """Start a runtime on ``settings`` and replay ``messages`` into it.

    The runtime stores every replayed message in ``settings.db_url``. With
    ``process`` the ai and enrich components run too, and messages of the
    topics they publish are left out, because the components derive them
    again. The runtime flushes and stops once the last message is handled.
    """
    from loomlite.components.ai.component import AiComponent
    from loomlite.components.enrich.component import EnrichComponent
    from loomlite.components.persist import persist_component, produced_topics
    from loomlite.sink import migrate

    speed = check_speed(speed)
    if not messages:
        return ReplayReport()
    processors: list[Component] = [AiComponent(), EnrichComponent()] if process else []
    derived = produced_topics(processors, CATALOG)
    replayed = [m for m in messages if m.topic not in derived]
    report_skipped = len(messages) - len(replayed)
    topics = {m.topic for m in replayed} | derived
    persist = persist_component(
        settings.db_url,
        CATALOG,
        topics=[t for t in topics if t in CATALOG],
        batch_size=settings.components.persist.batch_size,
        max_delay=0.0 if speed == "max" else settings.components.persist.flush_interval,
    )
    components = [*processors, persist]
    inputs = _inputs(components, CATALOG)
    clock = replay_clock(replayed or messages, speed)

    await migrate.upgrade(settings.db_url)
    async with Runtime(
        settings, components=components, clock=clock, inputs=inputs
    ) as runtime:
        report = await replay_into_broker(
            runtime.broker,
            replayed,
            clock=clock,
            speed=speed,
            rekey=rekey,
            runtime=runtime,
        )
        await runtime.run_until_idle(timeout=_IDLE_TIMEOUT)
        await runtime.flush(timeout=_IDLE_TIMEOUT)
    if report_skipped:
        report.skipped["(derived again)"] = report_skipped
    logger.info("replayed %d message(s) into %s", report.published, settings.db_url)
    return report


def _inputs(components: Sequence[Component], catalog: Catalog) -> list[str]:
    topology = Topology.from_components(components, catalog)
    produced = topology.producers()
    return sorted(topic for topic in topology.consumers() if topic not in produced)
