"""Restarts with backoff, FAILED components and the restart delay schedule."""

from __future__ import annotations

import logging

import anyio
import pytest

from loomlite.errors import ComponentError
from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.settings import SupervisorSettings
from loomlite.runtime.statistics import ComponentState
from loomlite.runtime.subscription import subscribe
from loomlite.runtime.supervisor import restart_delay
from tests.unit.runtime.pipeline import (
    GPS,
    Geocoder,
    GpsFix,
    PlaceRecorder,
    fast_settings,
    fix,
    make_runtime,
)


class Crasher(Component):
    """A background loop that crashes ``failures`` times, then keeps running."""

    name = "crasher"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.starts = 0
        self.setups = 0
        self.teardowns = 0
        self.running = anyio.Event()
        self.crashed = anyio.Event()

    async def setup(self) -> None:
        self.setups += 1

    async def teardown(self) -> None:
        self.teardowns += 1

    async def run(self) -> None:
        self.starts += 1
        if self.starts <= self.failures:
            if self.starts > 1:
                self.crashed.set()  # set once a restart has happened
            raise RuntimeError(f"crash number {self.starts}")
        self.running.set()
        await anyio.sleep_forever()


class BrokenSetup(Component):
    """A component with a subscription whose setup always fails."""

    name = "broken"

    def __init__(self) -> None:
        self.attempts = 0

    async def setup(self) -> None:
        self.attempts += 1
        raise OSError(f"device missing, attempt {self.attempts}")

    @subscribe(GPS, stage="geocoding")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        pass


def restart_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "restart attempt" in r.getMessage()]


@pytest.mark.anyio
async def test_crashing_run_restarts_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crasher, geocoder, recorder = Crasher(failures=2), Geocoder(), PlaceRecorder()

    async with make_runtime(crasher, geocoder, recorder) as runtime:
        caplog.set_level(logging.INFO)
        with anyio.fail_after(5):
            await crasher.running.wait()
        await runtime.publish(GPS, fix(20.0))
        await runtime.run_until_idle(timeout=5)
        statistics = runtime.statistics().components

    assert crasher.starts == 3
    assert crasher.setups == 3
    assert crasher.teardowns == 3
    assert statistics["crasher"].restarts == 2
    assert statistics["crasher"].state is ComponentState.RUNNING
    assert statistics["crasher"].last_error == "RuntimeError: crash number 2"
    assert statistics["enrich"].restarts == 0
    assert recorder.places == ["place at 20.0"]

    records = restart_records(caplog)
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING]
    assert [r.attempt for r in records] == [1, 2]  # type: ignore[attr-defined]
    assert "restart attempt 1 in 0.01 s" in records[0].getMessage()
    assert "restart attempt 2 in 0.02 s" in records[1].getMessage()
    assert "crash number 1" in records[0].getMessage()
    assert records[0].exc_info is not None
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.anyio
async def test_others_run_while_one_crashes() -> None:
    crasher, recorder = Crasher(failures=10**6), PlaceRecorder()

    async with make_runtime(crasher, Geocoder(), recorder) as runtime:
        for latitude in (1.0, 2.0, 3.0):
            await runtime.publish(GPS, fix(latitude))
        await runtime.run_until_idle(timeout=5)
        with anyio.fail_after(5):
            await crasher.crashed.wait()
        restarts = runtime.statistics().components["crasher"].restarts

    assert recorder.places == ["place at 1.0", "place at 2.0", "place at 3.0"]
    assert restarts >= 1


@pytest.mark.anyio
async def test_healthy_period_resets_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crasher = Crasher(failures=3)
    settings = fast_settings(restart_healthy_after=1e-9)

    async with make_runtime(crasher, settings=settings):
        caplog.set_level(logging.INFO)
        with anyio.fail_after(5):
            await crasher.running.wait()

    assert [r.attempt for r in restart_records(caplog)] == [1, 1, 1]  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_restart_limit_marks_failed(caplog: pytest.LogCaptureFixture) -> None:
    broken = BrokenSetup()
    settings = fast_settings(restart_max_attempts=2)

    async with make_runtime(broken, settings=settings) as runtime:
        caplog.set_level(logging.INFO)
        with pytest.raises(ComponentError, match="component 'broken' has FAILED"):
            await runtime.run_until_idle(timeout=5)
        statistics = runtime.statistics().components["broken"]

    assert broken.attempts == 3
    assert statistics.state is ComponentState.FAILED
    assert statistics.restarts == 2
    assert statistics.last_error == "OSError: device missing, attempt 3"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "more than the limit of 2" in errors[0].getMessage()


def test_restart_delay_doubles_to_cap() -> None:
    settings = SupervisorSettings(restart_initial_delay=0.1, restart_max_delay=30.0)

    delays = [restart_delay(attempt, settings) for attempt in range(1, 12)]

    assert delays == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    )
