"""Time slices: a busy task lets the event loop run others at regular intervals.

An ``await`` suspends a task only when the awaited call has to wait. A
consumer with a backlog gets records from ``fetch`` at once and publishes its
handler's outputs at once. So it can run through thousands of records without
giving the event loop back. Meanwhile the TUI cannot draw, the gateway
cannot respond and the loop-lag monitor reports a block.

A task that calls ``TimeSlice.checkpoint`` between units of work yields once
it has run ``budget`` seconds since its previous checkpoint. The slice is
measured in real time, because it is about the process, not event time.
"""

from __future__ import annotations

import time

import anyio.lowlevel

__all__ = ["DEFAULT_BUDGET", "TimeSlice"]

DEFAULT_BUDGET = 0.01
"""Real seconds a task may run between two yields."""


class TimeSlice:
    """The time one task has run since it last yielded at a checkpoint."""

    __slots__ = ("_started", "budget", "yields")

    def __init__(self, budget: float = DEFAULT_BUDGET) -> None:
        if budget <= 0:
            raise ValueError(f"budget must be positive seconds, got {budget!r}")
        self.budget = budget
        self.yields = 0
        self._started = time.perf_counter()

    def expired(self) -> bool:
        """Return True when the task has run a whole budget since the last yield."""
        return time.perf_counter() - self._started >= self.budget

    async def checkpoint(self) -> None:
        """Yield to the event loop once the budget is spent, or else return at once.

        Like any checkpoint that yields, this raises the cancellation of an
        enclosing cancelled scope.
        """
        if time.perf_counter() - self._started < self.budget:
            return
        await anyio.lowlevel.checkpoint()
        self.yields += 1
        self._started = time.perf_counter()

    def restart(self) -> None:
        """Start a new slice, for a task that has just waited anyway."""
        self._started = time.perf_counter()
