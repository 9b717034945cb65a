"""The event-loop lag monitor."""

from __future__ import annotations

import time

import anyio
import anyio.lowlevel
import pytest

from loomlite.runtime.loop_lag import LoopLagMonitor


@pytest.mark.anyio
async def test_blocked_loop_shows_as_lag() -> None:
    monitor = LoopLagMonitor(interval=0.01)
    monitor.start()
    fired = monitor.snapshot().samples

    # Block the event loop on purpose: this is the fault being measured.
    time.sleep(0.15)  # noqa: ASYNC251
    with anyio.fail_after(5):
        while monitor.snapshot().samples <= fired:
            await anyio.lowlevel.checkpoint()
    monitor.stop()
    lag = monitor.snapshot()

    assert lag.samples > fired
    assert lag.max_seconds >= 0.1
    assert lag.last_seconds <= lag.max_seconds


def test_record_keeps_maximum_and_mean() -> None:
    monitor = LoopLagMonitor()

    monitor.record(0.02)
    monitor.record(-0.001)
    monitor.record(0.01)

    lag = monitor.snapshot()
    assert lag.samples == 3
    assert lag.max_seconds == 0.02
    assert lag.last_seconds == 0.01
    assert lag.mean_seconds == pytest.approx(0.01)


def test_reset_max_starts_new_phase() -> None:
    monitor = LoopLagMonitor()
    monitor.record(0.3)

    monitor.reset_max()
    monitor.record(0.01)

    assert monitor.snapshot().max_seconds == 0.01


def test_stopped_monitor_takes_no_samples() -> None:
    monitor = LoopLagMonitor()

    monitor.stop()

    assert monitor.snapshot().samples == 0


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval must be positive"):
        LoopLagMonitor(interval=0)
