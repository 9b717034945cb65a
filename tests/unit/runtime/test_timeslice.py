"""Busy tasks give the event loop back: TimeSlice, and a dispatcher with a backlog."""

from __future__ import annotations

import time

import anyio
import pytest

from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.subscription import subscribe
from loomlite.runtime.timeslice import TimeSlice
from tests.unit.runtime.pipeline import GPS, GpsFix, fix, make_runtime

pytestmark = pytest.mark.anyio

BACKLOG = 60
HANDLER_SECONDS = 0.002


def spin(seconds: float) -> None:
    """Hold the thread, as a handler doing CPU work does."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


class SlowCounter(Component):
    """Spends HANDLER_SECONDS of CPU on each fix without awaiting anything."""

    name = "slow"

    def __init__(self, beats: list[int]) -> None:
        self.beats = beats
        self.beats_seen: list[int] = []

    @subscribe(GPS, stage="counting")
    async def on_fix(self, message: GpsFix, context: Context) -> None:
        spin(HANDLER_SECONDS)
        self.beats_seen.append(len(self.beats))


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="budget must be positive seconds, got 0"):
        TimeSlice(0)


async def test_checkpoint_yields_only_once_the_budget_is_spent() -> None:
    time_slice = TimeSlice(budget=0.005)
    other_ran = 0

    async def other() -> None:
        nonlocal other_ran
        other_ran += 1

    async with anyio.create_task_group() as group:
        group.start_soon(other)
        # Within the budget the checkpoint returns without yielding.
        time_slice.restart()
        await time_slice.checkpoint()
        assert (other_ran, time_slice.yields) == (0, 0)
        spin(0.006)
        await time_slice.checkpoint()
        assert (other_ran, time_slice.yields) == (1, 1)
        assert not time_slice.expired()


async def test_dispatcher_with_a_backlog_lets_other_tasks_run() -> None:
    beats: list[int] = []
    counter = SlowCounter(beats)
    async with make_runtime(counter) as runtime:
        for minute in range(BACKLOG):
            await runtime.publish(GPS, fix(50.0, minute=minute))

        async def heartbeat() -> None:
            while True:
                beats.append(1)
                await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as group:
            group.start_soon(heartbeat)
            await runtime.run_until_idle(timeout=10)
            group.cancel_scope.cancel()

    assert len(counter.beats_seen) == BACKLOG
    # The backlog takes BACKLOG * HANDLER_SECONDS = 120 ms of CPU; with a
    # 10 ms slice the heartbeat runs between records, not only after them.
    first, last = counter.beats_seen[0], counter.beats_seen[-1]
    assert last - first >= 5
