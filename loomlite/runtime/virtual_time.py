"""Run a pipeline as fast as it can go on a ManualClock ("--speed max").

The driver alternates two steps: wait until the runtime is idle (every group
caught up, no handler running) and every task of the process is blocked, then
move the clock to the earliest deadline a sleeper waits for. Simulators and
fetchers sleep on that clock, so each step wakes exactly those whose time has
come. Because time moves only when nothing else can run, a run with the same
seed produces the same messages whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

import anyio

from loomlite.clock import ManualClock
from loomlite.runtime.runtime import Runtime

__all__ = ["VirtualTimeReport", "drive_virtual_time"]

logger = logging.getLogger(__name__)

# Maximum wait, in real seconds, for activity before checking again, because a
# worker thread that finishes wakes no runtime event by itself.
_ACTIVITY_POLL = 0.01


@dataclass(frozen=True, slots=True)
class VirtualTimeReport:
    """The end of a virtual-time run: the steps taken and the final time."""

    steps: int
    reached: datetime
    exhausted: bool  # True when no sleeper was left before ``until``


async def _wait_all_tasks_blocked() -> None:
    """Return once no other task of the event loop can run right now.

    anyio's ``wait_all_tasks_blocked`` sleeps 0.1 s whenever a task is still
    runnable, which would cost a tenth of a second per virtual-time step.
    Here the loop yields one iteration at a time until asyncio's queue of
    ready callbacks is empty: then every task waits on a future (the clock, a
    fetch, a worker thread). ``_ready`` is private to asyncio's BaseEventLoop
    (CPython 3.11 and later); a loop without it falls back to anyio.
    """
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    if ready is None:
        await anyio.wait_all_tasks_blocked()
        return
    while True:
        await asyncio.sleep(0)
        if not ready:
            return


async def _settle(runtime: Runtime, idle_timeout: float) -> None:
    """Return once every task is blocked and every consumer waits for records.

    A task blocked on a worker thread (a database commit, a model call) keeps
    its handler in flight, so the loop then waits for the runtime's next
    activity instead of spinning.
    """
    with anyio.fail_after(idle_timeout):
        while True:
            await _wait_all_tasks_blocked()
            if runtime.is_quiescent():
                return
            await runtime.wait_for_activity(_ACTIVITY_POLL)


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

    NOTE: on the durable broker every publish waits for a disk commit, so a
    heavy profile (five phones sampling the accelerometer) can exceed
    ``idle_timeout`` in one step. Such a run raises TimeoutError.
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
