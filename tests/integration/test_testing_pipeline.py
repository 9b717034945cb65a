"""loomlite.testing on the memory and the durable broker: publish, wait, read
rows and messages, observe handlers, capture logs and move the clock."""

from __future__ import annotations

import logging
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import anyio
import pytest

from loomlite.clock import ManualClock
from loomlite.components.enrich import component as enrich_module
from loomlite.components.enrich.steps import StepWindow
from loomlite.contract.models.external import EmailEvent
from loomlite.errors import ConfigurationError, MessageValidationError
from loomlite.runtime import Component, Context, subscribe
from loomlite.testing import Pipeline, pipeline
from simulators.gait import GaitConfig, GaitGenerator, walk
from tests.integration.support import PipelineFactory

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.loomlite_brokers("memory", "durable"),
]

GPS = "device.sensor.gps.raw"
ACCELEROMETER = "device.sensor.accelerometer.raw"
PLACES = "location.address.geocoded"
STEPS = "device.health.steps.derived"
WEB_VISITS = "external.web.visits.raw"
CERKNICA = {"latitude": 45.7936, "longitude": 14.3627}
EMAIL = "external.email.events.raw"


class HeldReader(Component):
    """Reads emails. Each handler call waits until ``release`` is set."""

    name = "held"

    def __init__(self) -> None:
        self.release = anyio.Event()

    @subscribe(EMAIL, stage="general")
    async def on_email(self, message: EmailEvent, context: Context) -> None:
        await self.release.wait()


async def test_publish_alias_lands_as_row(loomlite_pipeline: PipelineFactory) -> None:
    async with loomlite_pipeline(components=["ingest", "enrich", "persist"]) as p:
        fix = await p.publish(
            GPS, {"device_id": "phone-1", "data": {**CERKNICA, "bearing": 90.0}}
        )
        power = await p.publish(
            "device.sensor.power.raw",
            {"device_id": "phone-1", "battery_level": 80.0, "is_charging": False},
        )
        await p.run_until_idle()
        fixes = await p.rows(GPS)
        places = await p.rows("location_address_geocoded")
        batteries = await p.rows("device.state.power.raw")

    assert fix.topic == GPS
    assert fix.key == "phone-1"
    assert fix.timestamp == p.clock.now()
    assert power.topic == "device.state.power.raw"
    assert [(row["latitude"], row["heading"]) for row in fixes] == [(45.7936, 90.0)]
    assert [row["place_name"] for row in places] == ["Cerknica"]
    assert [row["battery_level"] for row in batteries] == [80.0]
    assert [message.place_name for message in p.messages(PLACES)] == ["Cerknica"]


async def test_invalid_payload_names_field(loomlite_pipeline: PipelineFactory) -> None:
    async with loomlite_pipeline(components=["enrich"], db=None) as p:
        with pytest.raises(MessageValidationError, match="latitude"):
            await p.publish(GPS, {"device_id": "phone-1", "latitude": "north"})


async def test_handler_mock_records_calls(loomlite_pipeline: PipelineFactory) -> None:
    async with loomlite_pipeline(components=["enrich"], db=None) as p:
        await p.publish(GPS, {"device_id": "phone-1", **CERKNICA})
        await p.run_until_idle()
        handler = p.handler("enrich", "on_fixes_for_geocoding")

    assert handler.call_count == 1
    (messages, context), _ = handler.call_args
    assert [message.latitude for message in messages] == [45.7936]
    assert context.topic == GPS
    with pytest.raises(KeyError, match=r"no observed handler enrich\.on_nothing"):
        p.handler("enrich", "on_nothing")


async def test_wait_for_condition(loomlite_pipeline: PipelineFactory) -> None:
    async with loomlite_pipeline(components=["enrich"], db=None) as p:
        await p.publish(GPS, {"device_id": "phone-1", **CERKNICA})
        await p.wait_for(lambda: len(p.messages(PLACES)) == 1, timeout=10)
        with pytest.raises(TimeoutError, match=r"still false after 0\.2 s"):
            await p.wait_for(lambda: len(p.messages(PLACES)) == 2, timeout=0.2)


async def test_logs_are_captured(loomlite_pipeline: PipelineFactory) -> None:
    async with loomlite_pipeline(components=["enrich"], db=None) as p:
        await p.run_until_idle()

    started = p.logs.messages(logging.INFO, logger="loomlite.runtime")
    assert any("runtime started" in line for line in started)
    assert any("runtime stopped" in line for line in started)


async def test_advance_wakes_clock_sleepers(
    loomlite_pipeline: PipelineFactory,
) -> None:
    woken: list[datetime] = []
    async with loomlite_pipeline(components=["enrich"], db=None) as p:
        start = p.clock.now()

        async def sleeper() -> None:
            await p.clock.sleep(90)
            woken.append(p.clock.now())

        async with anyio.create_task_group() as group:
            group.start_soon(sleeper)
            await p.run_until_idle()  # lets the sleeper reach its sleep
            assert p.clock.next_deadline == start + timedelta(seconds=90)
            await p.advance(60)
            assert woken == []
            await p.advance(timedelta(seconds=60))

    assert woken == [start + timedelta(seconds=90)]
    assert p.clock.now() == start + timedelta(seconds=120)


async def test_daily_steps_reset_at_midnight(
    loomlite_pipeline: PipelineFactory,
) -> None:
    """Walk from 23:56 to 00:04 of event time, publishing each reading when
    the manual clock reaches it, and check the step counter's daily total."""
    start = datetime(2025, 6, 2, 23, 56, tzinfo=UTC)
    midnight = datetime(2025, 6, 3, tzinfo=UTC)
    recording = GaitGenerator(seed=4, config=GaitConfig(nominal_rate_hz=10.0))
    samples = recording.generate(start, (walk(480),)).samples
    by_second: defaultdict[datetime, list[Any]] = defaultdict(list)
    for sample in samples:
        by_second[sample.recorded_at.replace(microsecond=0)].append(sample)

    windows: list[StepWindow] = []
    real_steps_message = enrich_module.steps_message

    def spy(window: StepWindow, now: datetime) -> Any:
        windows.append(window)
        return real_steps_message(window, now)

    with mock.patch.object(enrich_module, "steps_message", spy):
        async with loomlite_pipeline(components=["enrich"], db=None, start=start) as p:
            for second in sorted(by_second):
                await p.set_time(second)
                for sample in by_second[second]:
                    await p.publish(
                        ACCELEROMETER,
                        {
                            "device_id": "phone-1",
                            "recorded_at": sample.recorded_at.isoformat(),
                            "x": sample.x,
                            "y": sample.y,
                            "z": sample.z,
                        },
                    )
            await p.advance(timedelta(minutes=1))
            await p.flush()

    before = [w for w in windows if w.start < midnight]
    after = [w for w in windows if w.start >= midnight]
    assert before
    assert after
    assert {w.day.isoformat() for w in before} == {"2025-06-02"}
    assert {w.day.isoformat() for w in after} == {"2025-06-03"}
    assert before[-1].daily_total == sum(w.step_count for w in before)
    assert after[0].daily_total == after[0].step_count
    assert after[-1].daily_total == sum(w.step_count for w in after)
    assert sum(w.step_count for w in after) > 0
    published = p.messages(STEPS)
    assert len(published) == len(windows)


async def test_runtime_fixture_runs_defaults(
    loomlite_runtime: Pipeline, loomlite_clock: ManualClock, loomlite_broker: str
) -> None:
    names = [component.name for component in loomlite_runtime.components]

    assert names == ["ingest", "ai", "enrich", "persist"]
    assert loomlite_runtime.broker.kind == loomlite_broker
    assert loomlite_clock is loomlite_runtime.clock


async def test_unknown_component_name_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="unknown component 'vision'"):
        pipeline(components=["vision"])


async def test_unknown_broker_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="invalid test broker 'kafka'"):
        pipeline(broker="kafka")


async def test_cancelled_pipeline_cleans_up() -> None:
    with anyio.CancelScope() as scope:
        async with pipeline(components=["persist"]) as p:
            state_dir = p.state_dir
            logs = p.logs
            # The read creates the pipeline's engine, which __aexit__ disposes.
            assert await p.rows(GPS) == []
            scope.cancel()
            await anyio.sleep_forever()

    assert scope.cancelled_caught
    assert not state_dir.exists()
    assert logs not in logging.getLogger("loomlite").handlers


async def test_persist_alone_stores_publish(
    loomlite_pipeline: PipelineFactory,
) -> None:
    async with loomlite_pipeline(components=["persist"]) as p:
        await p.publish(GPS, {"device_id": "phone-1", **CERKNICA})
        await p.run_until_idle()
        fixes = await p.rows(GPS)

    assert [(row["device_id"], row["latitude"]) for row in fixes] == [
        ("phone-1", 45.7936)
    ]


async def test_unstored_publish_is_rejected(
    loomlite_pipeline: PipelineFactory,
) -> None:
    visit = {"device_id": "phone-1", "url": "https://example.org/"}
    async with loomlite_pipeline(components=["persist"]) as p:
        with pytest.raises(
            ConfigurationError,
            match=r"cannot publish to 'external\.web\.visits\.raw': no component",
        ) as raised:
            await p.publish(WEB_VISITS, visit)

    assert "inputs=['external.web.visits.raw']" in str(raised.value)
    assert p.records(WEB_VISITS) == []

    async with loomlite_pipeline(components=["persist"], inputs=[WEB_VISITS]) as p:
        await p.publish(WEB_VISITS, visit)
        await p.run_until_idle()
        visits = await p.rows(WEB_VISITS)

    assert [row["url"] for row in visits] == ["https://example.org/"]


class BrokenSetup(Component):
    """Fails in setup, as a component whose model file is missing does."""

    name = "broken"

    async def setup(self) -> None:
        raise RuntimeError("cannot open the model file")

    @subscribe(EMAIL, stage="general")
    async def on_email(self, message: EmailEvent, context: Context) -> None:
        pass


async def test_idle_timeout_names_setup_crash(
    loomlite_pipeline: PipelineFactory,
) -> None:
    async with loomlite_pipeline(components=[BrokenSetup()], db=None) as p:
        with pytest.raises(TimeoutError) as caught:
            await p.run_until_idle(timeout=0.5)

    message = str(caught.value)
    assert "component 'broken' is" in message
    assert "RuntimeError: cannot open the model file" in message


async def test_idle_timeout_names_busy_handler(
    loomlite_pipeline: PipelineFactory,
) -> None:
    reader = HeldReader()
    async with loomlite_pipeline(components=[reader], db=None) as p:
        await p.publish(EMAIL, {"device_id": "mailbox", "subject": "held"})
        with pytest.raises(TimeoutError) as caught:
            await p.run_until_idle(timeout=0.2)
        reader.release.set()
        await p.run_until_idle()

    message = str(caught.value)
    assert "not idle after 0.2 s" in message
    assert "component 'held' has work in progress" in message


async def test_clock_moved_backwards_is_rejected(
    loomlite_pipeline: PipelineFactory,
) -> None:
    async with loomlite_pipeline(components=["enrich"], db=None) as p:
        start = p.clock.now()
        with pytest.raises(ValueError, match="cannot move backwards"):
            await p.advance(-60)
        with pytest.raises(ValueError, match="cannot move backwards"):
            await p.set_time(start - timedelta(hours=1))

        assert p.clock.now() == start


@pytest.mark.parametrize(
    "arguments",
    [{"components": ["persit"]}, {"profile": "no-such-profile"}],
    ids=["component-typo", "unknown-profile"],
)
def test_invalid_arguments_leave_no_state_dir(
    arguments: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    with pytest.raises(ConfigurationError):
        pipeline(**arguments)

    assert list(tmp_path.iterdir()) == []


async def test_non_mapping_payload_is_rejected(
    loomlite_pipeline: PipelineFactory,
) -> None:
    async with loomlite_pipeline(components=["enrich"], db=None) as p:
        with pytest.raises(MessageValidationError, match="expected a JSON object"):
            await p.publish(GPS, [45.79, 14.36])  # type: ignore[arg-type]

        assert p.messages(GPS) == []


@pytest.mark.parametrize("delta", [float("nan"), float("inf"), float("-inf")])
async def test_non_finite_advance_is_rejected(
    loomlite_pipeline: PipelineFactory, delta: float
) -> None:
    async with loomlite_pipeline(components=["enrich"], db=None) as p:
        start = p.clock.now()
        with pytest.raises(ValueError, match=f"invalid delta {delta!r}"):
            await p.advance(delta)

        assert p.clock.now() == start


async def test_rows_after_exit_name_the_removed_state_dir() -> None:
    async with pipeline(components=["persist"]) as p:
        await p.publish(GPS, {"device_id": "phone-1", **CERKNICA})
        await p.run_until_idle()

    with pytest.raises(ConfigurationError) as caught:
        await p.rows(GPS)

    message = str(caught.value)
    assert "removed its temporary state directory" in message
    assert "inside the 'async with' block" in message
