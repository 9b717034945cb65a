"""Pipelines for the TUI tests: a live runtime, and a frozen state directory.

Both are built with ``loomlite.testing.pipeline``. ``live_pipeline`` runs
the ai, enrich, persist and monitor components on a memory broker with a
manual clock, the way ``loomlite tui --profile`` runs them, and publishes a
fixed set of device messages. ``frozen_state_dir``
writes what ``loomlite up`` leaves in its state directory (broker file,
database, statistics.json, topology.json) with fixed ids, times and rates,
so that snapshot tests draw the same screen on every machine.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from loomlite._fixtures import fixture_path
from loomlite.clock import ManualClock
from loomlite.components.ai.audio import decode_audio, encode_wav
from loomlite.components.ai.component import INPUT_TOPICS as AI_INPUTS
from loomlite.components.enrich.component import INPUT_TOPICS as ENRICH_INPUTS
from loomlite.components.monitor_statistics import (
    ComponentHealth,
    GroupLag,
    MonitorStatistics,
    PartitionLag,
    SinkHealth,
    TopicHealth,
)
from loomlite.components.persist import PersistComponent
from loomlite.contract import ProcessingError, encode
from loomlite.contract.models import AudioChunk, EmailEvent, GPSReading
from loomlite.runtime import LoomliteSettings, Runtime
from loomlite.runtime.topology_file import write_topology_file
from loomlite.testing import Pipeline, pipeline

START = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
GPS = "device.sensor.gps.raw"
EMAIL = "external.email.events.raw"
AUDIO = "device.audio.raw"
GEOCODING_ERRORS = "processing.errors.geocoding"
INPUTS = tuple(dict.fromkeys((*AI_INPUTS, *ENRICH_INPUTS)))
DEVICES = ("phone-0", "phone-1")
HANDLING = timedelta(milliseconds=200)
# Every GPS fix that gps_fix builds has the key phone-0, so the broker puts
# them all in this partition.
GPS_PARTITION = 1
# A refresh interval in seconds that never ends during a test, for tests
# that drive the ticks with refresh_now.
NEVER = 3600.0


def settings(state_dir: Path, **values: Any) -> LoomliteSettings:
    """Settings with short restart delays and the state in ``state_dir``."""
    supervisor = {
        "restart_initial_delay": 0.01,
        "restart_max_delay": 0.05,
        "publish_retry_delay": 0.0,
        "drain_timeout": 20.0,
    }
    return LoomliteSettings(
        state_dir=state_dir,
        supervisor=supervisor,
        components={"monitor": {"interval": 0.2, "status_log": False}},
        **values,
    )


def gps_fix(index: int, device: str = "phone-0") -> GPSReading:
    moment = START + timedelta(seconds=30 * index)
    return GPSReading(
        message_id=f"gps-{device}-{index:03d}",
        trace_id=f"trace-gps-{device}-{index:03d}",
        device_id=device,
        recorded_at=moment,
        received_at=moment,
        latitude=46.434981 + index * 1e-4,
        longitude=13.748273,
        accuracy=5.0,
        provider="gps",
    )


def email(index: int) -> EmailEvent:
    moment = START + timedelta(minutes=index)
    return EmailEvent(
        message_id=f"email-{index:03d}",
        trace_id=f"trace-email-{index:03d}",
        device_id="mailbox",
        recorded_at=moment,
        received_at=moment,
        subject=f"Dinner on day {index}",
        sender="ana.novak@example.org",
        recipients=["me@example.org"],
        body="Call me on +386 40 123 456 before six.",
    )


def speech_chunk() -> AudioChunk:
    """Ten seconds of recorded speech, as a phone posts it."""
    wav = fixture_path("audio", "speech_us_male_25db.wav").read_bytes()
    samples: np.ndarray[Any, Any] = decode_audio(wav).samples
    return AudioChunk(
        message_id="audio-000",
        trace_id="trace-audio-000",
        device_id="phone-0",
        recorded_at=START,
        received_at=START,
        data=encode_wav(samples, 16_000),
        sample_rate=16_000,
        duration_ms=len(samples) * 1000 // 16_000,
        format="wav",
    )


def open_pipeline(state_dir: Path, broker: str, clock: ManualClock) -> Pipeline:
    """Build the ai, enrich, persist and monitor pipeline with its state and
    SQLite database in ``state_dir``, on a ``memory`` or ``durable`` broker.

    Handlers are not wrapped in mocks, so that tests can replace a
    component's handler on its class.
    """
    return pipeline(
        components=["ai", "enrich", "persist", "monitor"],
        broker=broker,
        settings=settings(state_dir),
        clock=clock,
        inputs=INPUTS,
        observe_handlers=False,
    )


def sink_statistics(running: Pipeline) -> Callable[[], Any]:
    """Return the persist component's ``sink_statistics`` method."""
    persist = running.component("persist")
    assert isinstance(persist, PersistComponent)
    return persist.sink_statistics


@pytest.fixture
async def live_pipeline(tmp_path: Path) -> AsyncIterator[Pipeline]:
    """The pipeline running, with 12 GPS fixes and 3 emails handled."""
    async with open_pipeline(tmp_path, "memory", ManualClock(START)) as running:
        for index in range(12):
            await running.runtime.publish(GPS, gps_fix(index))
        for index in range(3):
            await running.runtime.publish(EMAIL, email(index))
        await running.runtime.run_until_idle(timeout=30)
        yield running


# -- the frozen state directory ---------------------------------------------


def geocoding_error(index: int) -> ProcessingError:
    fix = gps_fix(100 + index)
    return ProcessingError.derive(
        fix,
        received_at=fix.received_at,
        message_id=f"error-{index:03d}",
        stage="geocoding",
        source_topic=GPS,
        source_partition=0,
        source_offset=100 + index,
        source_key=fix.device_id,
        source_value=encode(fix),
        error_type="RuntimeError",
        error_message="geocoder unavailable",
        traceback=(
            "Traceback (most recent call last):\nRuntimeError: geocoder unavailable\n"
        ),
    )


async def write_frozen_state(state_dir: Path) -> None:
    """Run the pipeline on a durable broker and freeze its statistics."""
    clock = ManualClock(START)
    inputs: list[tuple[str, Any]] = [
        *((GPS, gps_fix(i, device)) for i in range(8) for device in DEVICES),
        *((EMAIL, email(i)) for i in range(3)),
    ]
    inputs.sort(key=lambda item: item[1].received_at)
    async with open_pipeline(state_dir, "durable", clock) as running:
        runtime = running.runtime
        broker = running.broker
        # Each message is handled 200 ms after it arrived, so derived
        # messages carry a later received_at than their input, as in a run.
        for topic, message in inputs:
            clock.set(max(clock.now(), message.received_at + HANDLING))
            await runtime.publish(topic, message)
            await runtime.run_until_idle(timeout=30)
        for index in range(2):
            error = geocoding_error(index)
            await broker.publish(
                GEOCODING_ERRORS,
                encode(error),
                key=error.device_id,
                timestamp=error.recorded_at,
            )
        await runtime.run_until_idle(timeout=30)
        write_topology_file(state_dir, runtime.topology)
        frozen = frozen_statistics(runtime, sink_statistics(running))
    # Written after the monitor's own last sample, which would replace it.
    (state_dir / "statistics.json").write_text(json.dumps(frozen.to_json()))


def frozen_statistics(
    runtime: Runtime, sink_statistics: Callable[[], Any]
) -> MonitorStatistics:
    """The runtime's counters with fixed times, rates and handler durations."""
    statistics = runtime.statistics()
    broker = statistics.broker
    assert broker is not None
    history = (1.0, 3.0, 2.0, 5.0, 4.0, 6.0)
    topics = {
        name: TopicHealth(
            name=name,
            published_total=topic.published_total,
            publish_rate=topic.published_total / 10,
            end_offsets=topic.end_offsets,
            publish_rate_history=tuple(
                (1000.0 + step, value * topic.published_total / 10)
                for step, value in enumerate(history)
            ),
            end_offset_history=(),
        )
        for name, topic in broker.topics.items()
        if topic.published_total
    }
    partitions: dict[str, list[PartitionLag]] = {}
    for entry in broker.groups:
        partitions.setdefault(entry.group, []).append(
            PartitionLag(
                entry.group,
                entry.topic,
                entry.partition,
                entry.committed,
                entry.end_offset,
                entry.lag,
                (),
            )
        )
    groups = {
        name: GroupLag(name, sum(p.lag for p in entries), tuple(entries), ())
        for name, entries in partitions.items()
    }
    healths = {
        name: ComponentHealth(
            name=name,
            state="running",
            restarts=0,
            messages_in=stats.messages_in,
            messages_out=stats.messages_out,
            errors=stats.errors,
            in_flight=0,
            handler_p50=0.0004,
            handler_p95=0.0011,
            handler_p99=0.0023,
            last_error=None,
            messages_in_history=(),
            messages_out_history=(),
            errors_history=(),
        )
        for name, stats in statistics.components.items()
    }
    sink = sink_statistics()
    assert sink is not None
    return MonitorStatistics(
        taken_at=1000.0,
        clock_time=START,
        interval=2.0,
        samples=6,
        runtime_state="running",
        messages=sum(t.published_total for t in topics.values()),
        rows_written=sum(sink.rows_written.values()),
        errors=2,
        max_lag=0,
        max_lag_group=None,
        topics=topics,
        groups=groups,
        components=healths,
        sink=SinkHealth(
            rows_written=dict(sink.rows_written),
            errors=0,
            pending_rows=0,
            last_write_at=START + timedelta(minutes=5),
        ),
    )


@pytest.fixture(scope="session")
def frozen_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state directory as ``loomlite up`` leaves it, with fixed contents."""
    import anyio

    state_dir = tmp_path_factory.mktemp("frozen") / "state"
    state_dir.mkdir()
    anyio.run(write_frozen_state, state_dir)
    yield state_dir
