"""Runtime start, lint at start, idle detection, draining and shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

import loomlite.broker
from loomlite.broker.base import BrokerState
from loomlite.clock import ManualClock
from loomlite.contract.catalog import Catalog
from loomlite.errors import ComponentError, LifecycleError, TopologyError
from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.profiles import load_settings
from loomlite.runtime.runtime import Runtime, RuntimeState
from loomlite.runtime.settings import LoomliteSettings
from loomlite.runtime.statistics import ComponentState
from loomlite.runtime.subscription import subscribe
from tests.unit.runtime.pipeline import (
    GPS,
    PLACE,
    Geocoder,
    GpsFix,
    Place,
    PlaceRecorder,
    build_catalog,
    fast_settings,
    fix,
    make_runtime,
    memory_broker,
    read_records,
)

pytestmark = pytest.mark.anyio


class Blocking(Component):
    """A handler that waits for ``release`` before it publishes its place."""

    name = "enrich"
    publishes = (PLACE,)

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.release = anyio.Event()
        self.finished = False

    @subscribe(GPS, stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        self.entered.set()
        await self.release.wait()
        place = Place.derive(message, received_at=context.clock.now(), name="late")
        await context.publish(PLACE, place)
        self.finished = True


class SetupProbe(Component):
    """Records whether setup ran; subscribes to a topic that no component produces."""

    name = "probe"

    def __init__(self) -> None:
        self.set_up = False

    async def setup(self) -> None:
        self.set_up = True

    @subscribe(PLACE, stage="recording")
    async def on_place(self, message: Place, context: Context) -> None:
        pass


def other_tasks() -> set[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return {task for task in asyncio.all_tasks() if task is not current}


async def test_chain_runs_until_idle() -> None:
    recorder = PlaceRecorder()

    async with make_runtime(Geocoder(), recorder) as runtime:
        for minute in range(20):
            device = f"phone-{minute % 4}"
            await runtime.publish(GPS, fix(float(minute), device, minute))
        await runtime.run_until_idle(timeout=5)
        statistics = runtime.statistics()

    assert sorted(recorder.places) == sorted(f"place at {m:.1f}" for m in range(20))
    assert statistics.broker is not None
    assert statistics.broker.lag("enrich.geocoding") == 0
    assert statistics.broker.lag("recorder.recording") == 0
    enrich = statistics.components["enrich"]
    assert enrich.messages_in == 20
    assert enrich.messages_out == 20
    assert enrich.in_flight == 0
    assert enrich.handler_p50 is not None
    assert enrich.handler_p99 is not None
    assert enrich.handler_p50 <= enrich.handler_p99
    assert statistics.state is RuntimeState.RUNNING


async def test_runtime_creates_catalog_topics() -> None:
    broker = memory_broker()
    catalog = build_catalog()

    async with make_runtime(Geocoder(), broker=broker):
        topics = broker.topics()

    assert set(topics) == {spec.name for spec in catalog}
    assert topics[GPS].partitions == 2
    assert topics["device.text.note.raw"].retention.max_age == (
        catalog.get("device.text.note.raw").retention.max_age
    )


async def test_orphan_topic_fails_start() -> None:
    probe = SetupProbe()
    broker = memory_broker()
    before = other_tasks()

    with pytest.raises(TopologyError) as caught:
        async with make_runtime(probe, broker=broker):
            pytest.fail("the runtime started despite a lint error")

    assert repr(PLACE) in str(caught.value)
    assert "'probe'" in str(caught.value)
    assert not probe.set_up
    assert broker.state is BrokerState.CLOSED
    assert other_tasks() == before


async def test_exception_in_body_closes_everything() -> None:
    broker = memory_broker()
    before = other_tasks()
    runtime = make_runtime(Geocoder(), PlaceRecorder(), broker=broker)

    with anyio.fail_after(5), pytest.raises(RuntimeError, match="test body failed"):
        async with runtime:
            await runtime.publish(GPS, fix(5.0))
            raise RuntimeError("test body failed")

    assert runtime.state is RuntimeState.STOPPED
    assert broker.state is BrokerState.CLOSED
    assert other_tasks() == before
    states = {s.state for s in runtime.statistics().components.values()}
    assert states == {ComponentState.STOPPED}


async def test_cancellation_closes_everything() -> None:
    broker = memory_broker()
    before = other_tasks()
    runtime = make_runtime(Geocoder(), PlaceRecorder(), broker=broker)

    with anyio.fail_after(5):
        with anyio.CancelScope() as scope:
            async with runtime:
                await runtime.publish(GPS, fix(5.0))
                await runtime.run_until_idle(timeout=5)
                scope.cancel()
                await anyio.sleep_forever()

    assert scope.cancelled_caught
    assert runtime.state is RuntimeState.STOPPED
    assert broker.state is BrokerState.CLOSED
    assert other_tasks() == before


async def test_drain_lets_handler_finish() -> None:
    blocking = Blocking()
    lag_at_sink_close: list[int] = []
    broker = memory_broker()

    @asynccontextmanager
    async def sink(settings: LoomliteSettings, catalog: Catalog) -> AsyncIterator[str]:
        yield "sink"
        # The runtime closes the sink after the drain and before the broker.
        lag_at_sink_close.append(broker.statistics().lag("enrich.geocoding"))

    runtime = Runtime(
        fast_settings(),
        components=[blocking],
        broker=broker,
        clock=broker.clock,
        catalog=build_catalog(),
        inputs=(GPS,),
        sink_factory=sink,
    )
    async with runtime:
        assert runtime.sink == "sink"
        await runtime.publish(GPS, fix(5.0))
        with anyio.fail_after(5):
            await blocking.entered.wait()
            async with anyio.create_task_group() as group:
                group.start_soon(runtime.stop)
                await anyio.wait_all_tasks_blocked()
                assert runtime.state is RuntimeState.STOPPING
                blocking.release.set()

    assert blocking.finished
    assert lag_at_sink_close == [0]
    assert runtime.statistics().components["enrich"].messages_out == 1
    assert broker.state is BrokerState.CLOSED


async def test_drain_timeout_cancels_handler() -> None:
    blocking = Blocking()
    broker = memory_broker()
    runtime = make_runtime(
        blocking, broker=broker, settings=fast_settings(drain_timeout=0.1)
    )

    with anyio.fail_after(5):
        async with runtime:
            await runtime.publish(GPS, fix(5.0))
            await blocking.entered.wait()

    assert not blocking.finished
    assert broker.state is BrokerState.CLOSED
    assert runtime.statistics().components["enrich"].state is ComponentState.STOPPED


async def test_run_until_idle_timeout_names_group() -> None:
    blocking = Blocking()

    async with make_runtime(blocking, settings=fast_settings(drain_timeout=0.1)) as rt:
        await rt.publish(GPS, fix(5.0))
        with pytest.raises(TimeoutError) as caught:
            await rt.run_until_idle(timeout=0.2)

    assert "not idle after 0.2 s" in str(caught.value)
    assert "'enrich'" in str(caught.value)


async def test_idle_ignores_producer_only_component() -> None:
    class Ticker(Component):
        name = "ticker"

        async def run(self) -> None:
            await anyio.sleep_forever()

    async with make_runtime(Ticker(), Geocoder()) as runtime:
        await runtime.publish(GPS, fix(5.0))
        await runtime.run_until_idle(timeout=5)
        lag = runtime.statistics().broker

    assert lag is not None
    assert lag.lag("enrich.geocoding") == 0


async def test_idle_wakes_when_busy_block_ends() -> None:
    class Fetching(Component):
        name = "fetching"

        def __init__(self) -> None:
            self.entered = anyio.Event()
            self.release = anyio.Event()

        async def run(self) -> None:
            with self.context.busy():
                self.entered.set()
                await self.release.wait()
            await anyio.sleep_forever()

    fetching = Fetching()

    async with make_runtime(fetching, Geocoder()) as runtime:
        with anyio.fail_after(5):
            await fetching.entered.wait()
        assert await runtime.is_busy()
        async with anyio.create_task_group() as group:
            # The fetch ends once run_until_idle waits, and nothing else
            # happens after it, so only the end of the busy block can wake it.
            group.start_soon(runtime.run_until_idle, 5)
            await anyio.wait_all_tasks_blocked()
            fetching.release.set()
        busy_after = await runtime.is_busy()

    assert busy_after is False


async def test_component_in_setup_is_not_quiescent() -> None:
    class Opening(Component):
        name = "opening"

        def __init__(self) -> None:
            self.entered = anyio.Event()
            self.opened = anyio.Event()

        async def setup(self) -> None:
            # Like a store that opens on a worker thread: no group, no
            # handler, yet the component has not taken its first step.
            self.entered.set()
            await self.opened.wait()

        async def run(self) -> None:
            await anyio.sleep_forever()

    opening = Opening()

    async with make_runtime(opening, Geocoder()) as runtime:
        with anyio.fail_after(5):
            await opening.entered.wait()
        await anyio.wait_all_tasks_blocked()
        during_setup = runtime.is_quiescent()
        opening.opened.set()
        with anyio.fail_after(5):
            runner = runtime.supervisor.runners["opening"]
            while runner.state is not ComponentState.RUNNING:
                await runtime.wait_for_activity(0.01)
        await anyio.wait_all_tasks_blocked()
        after_setup = runtime.is_quiescent()

    assert during_setup is False
    assert after_setup is True


async def test_disabled_component_does_not_run() -> None:
    settings = LoomliteSettings(components={"enrich": {"enabled": False}})
    geocoder = Geocoder()

    runtime = make_runtime(geocoder, PlaceRecorder(), settings=settings)
    with pytest.raises(TopologyError, match="no component publishes it"):
        async with runtime:
            pass

    assert [component.name for component in runtime.components] == ["recorder"]


async def test_runtime_cannot_start_twice() -> None:
    runtime = make_runtime(Geocoder())

    async with runtime:
        with pytest.raises(LifecycleError, match="the runtime is running"):
            await runtime.__aenter__()

    with pytest.raises(LifecycleError, match="the runtime is stopped"):
        await runtime.run_until_idle()


async def test_stop_inside_body_is_idempotent() -> None:
    broker = memory_broker()

    async with make_runtime(Geocoder(), broker=broker) as runtime:
        await runtime.stop()
        await runtime.stop()
        assert runtime.state is RuntimeState.STOPPED

    assert broker.state is BrokerState.CLOSED


async def test_publish_rejects_wrong_model() -> None:
    source = fix(1.0)
    place = Place.derive(source, received_at=source.received_at, name="x")

    async with make_runtime(Geocoder(), PlaceRecorder()) as runtime:
        with pytest.raises(ComponentError, match="expects GpsFix"):
            await runtime.publish(GPS, place)
        records = await read_records(runtime.broker, GPS)

    assert records == []


class FixSource(Component):
    """A background loop that publishes ``count`` fixes, then waits."""

    name = "source"
    publishes = (GPS,)

    def __init__(self, count: int) -> None:
        self.count = count
        self.published = anyio.Event()

    async def run(self) -> None:
        for minute in range(self.count):
            await self.context.publish(GPS, fix(float(minute), minute=minute))
        self.published.set()
        await anyio.sleep_forever()


async def test_background_loop_feeds_handlers() -> None:
    source, recorder = FixSource(count=3), PlaceRecorder()

    async with make_runtime(source, Geocoder(), recorder, inputs=()) as runtime:
        with anyio.fail_after(5):
            await source.published.wait()
        await runtime.run_until_idle(timeout=5)
        statistics = runtime.statistics().components["source"]

    assert recorder.places == ["place at 0.0", "place at 1.0", "place at 2.0"]
    assert statistics.messages_out == 3
    assert statistics.messages_in == 0


def test_unbound_component_context_raises() -> None:
    with pytest.raises(LifecycleError, match="not bound to a runtime"):
        _ = Geocoder().context


async def test_profile_builds_clock(tmp_path: Path) -> None:
    settings = load_settings("ci", state_dir=tmp_path)
    broker = memory_broker()
    recorder = PlaceRecorder()
    runtime = Runtime(
        settings,
        components=[Geocoder(), recorder],
        broker=broker,
        catalog=build_catalog(),
        inputs=(GPS,),
    )

    async with runtime:
        await runtime.publish(GPS, fix(7.0))
        await runtime.run_until_idle(timeout=5)
        clock = runtime.clock

    assert isinstance(clock, ManualClock)
    assert clock is not broker.clock
    assert clock.now() == settings.start
    assert recorder.places == ["place at 7.0"]


@pytest.mark.skipif(
    not hasattr(loomlite.broker, "open_broker"),
    reason="loomlite.broker.open_broker does not exist yet",
)
async def test_profile_opens_broker(tmp_path: Path) -> None:
    settings = load_settings("ci", state_dir=tmp_path)
    recorder = PlaceRecorder()
    runtime = Runtime(
        settings,
        components=[Geocoder(), recorder],
        catalog=build_catalog(),
        inputs=(GPS,),
    )

    async with runtime:
        await runtime.publish(GPS, fix(7.0))
        await runtime.run_until_idle(timeout=5)
        kind = runtime.broker.kind

    assert kind == "memory"
    assert recorder.places == ["place at 7.0"]
    assert runtime.broker.state is BrokerState.CLOSED
