"""Run a pipeline as fast as it can go on a ManualClock ("--speed max").

The driver alternates two steps: wait until the runtime is idle (every group
caught up, no handler running) and every task of the process is blocked, then
move the clock to the earliest deadline a sleeper waits for. Simulators and
fetchers sleep on that clock, so each step wakes exactly those whose time has
come. Because time moves only when nothing else can run, a run with the same
seed produces the same messages whatever the machine's speed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import anyio
import anyio.lowlevel

from loomlite.clock import ManualClock
from loomlite.runtime.runtime import Runtime

__all__ = ["VirtualTimeReport", "drive_virtual_time"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VirtualTimeReport:
    """How a virtual-time run ended: the steps taken and the final time."""

    steps: int
    reached: datetime
    exhausted: bool  # True when no sleeper was left before ``until``


async def _settle(runtime: Runtime, idle_timeout: float) -> None:
    # A task that was runnable a moment ago may publish more records after the
    # runtime looked idle, so both conditions must hold at once.
    while True:
        await runtime.run_until_idle(timeout=idle_timeout)
        await anyio.wait_all_tasks_blocked()
        if not await runtime.is_busy():
            return
        await anyio.lowlevel.checkpoint()


async def drive_virtual_time(
    runtime: Runtime,
    clock: ManualClock,
    until: datetime,
    *,
    stop: anyio.Event | None = None,
    idle_timeout: float = 60.0,
) -> VirtualTimeReport:
    """Advance ``clock`` deadline by deadline until ``until`` or ``stop``.

    Returns when the next deadline lies beyond ``until`` (after moving the
    clock to ``until``), when no task sleeps on the clock any more, or when
    ``stop`` is set. ``idle_timeout`` bounds, in real seconds, how long one
    step may wait for the pipeline to catch up.
    """
    steps = 0
    while stop is None or not stop.is_set():
        await _settle(runtime, idle_timeout)
        deadline = clock.next_deadline
        if deadline is None:
            logger.info("virtual time: no sleeper left at %s", clock.now())
            return VirtualTimeReport(steps, clock.now(), exhausted=True)
        if deadline > until:
            if clock.now() < until:
                clock.set(until)
            await _settle(runtime, idle_timeout)
            return VirtualTimeReport(steps, clock.now(), exhausted=False)
        clock.set(deadline)
        steps += 1
    return VirtualTimeReport(steps, clock.now(), exhausted=False)
