"""Clocks: the only source of the current time for components and simulators.

Three kinds exist. SystemClock follows the wall clock, AcceleratedClock runs a
virtual time that advances ``factor`` times faster than real time from a given
start, and ManualClock only moves when a test calls ``advance`` or ``set``.
Every clock returns aware UTC datetimes.
"""

from __future__ import annotations

import heapq
import itertools
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

import anyio
import anyio.lowlevel

__all__ = ["AcceleratedClock", "Clock", "ManualClock", "SystemClock"]


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


class Clock(ABC):
    """A source of current time and of sleeps measured in that time."""

    @abstractmethod
    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` of this clock's time have passed."""

    async def sleep_until(self, deadline: datetime) -> None:
        """Wait until this clock reads ``deadline`` or later."""
        deadline = _require_aware(deadline, "deadline")
        remaining = (deadline - self.now()).total_seconds()
        if remaining > 0:
            await self.sleep(remaining)


class SystemClock(Clock):
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(seconds, 0.0))

    def __repr__(self) -> str:
        return "SystemClock()"


class AcceleratedClock(Clock):
    """A virtual clock that starts at ``start`` and runs ``factor`` times faster
    than real time."""

    def __init__(self, factor: float, start: datetime | None = None) -> None:
        if not factor > 0:
            raise ValueError(f"factor must be a positive number, got {factor!r}")
        self.factor = factor
        self.start = _require_aware(start, "start") if start else datetime.now(UTC)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin) * self.factor
        return self.start + timedelta(seconds=elapsed)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(seconds, 0.0) / self.factor)

    def __repr__(self) -> str:
        return f"AcceleratedClock(factor={self.factor}, start={self.start.isoformat()})"


class ManualClock(Clock):
    """A clock that moves only when ``advance`` or ``set`` is called.

    Sleepers wake, in deadline order, as soon as the clock reaches their
    deadline.
    """

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start, "start")
        self._sleepers: list[tuple[datetime, int, anyio.Event]] = []
        self._sequence = itertools.count()

    def now(self) -> datetime:
        return self._now

    @property
    def next_deadline(self) -> datetime | None:
        """The earliest deadline a sleeper waits for, or None."""
        while self._sleepers and self._sleepers[0][2].is_set():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        deadline = self._now + timedelta(seconds=seconds)
        heapq.heappush(self._sleepers, (deadline, next(self._sequence), event))
        await event.wait()

    def advance(self, delta: timedelta | float) -> datetime:
        """Move the clock forward by ``delta`` (a timedelta or seconds)."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        if delta < timedelta(0):
            raise ValueError(f"a clock cannot move backwards, got {delta!r}")
        return self.set(self._now + delta)

    def set(self, moment: datetime) -> datetime:
        """Move the clock to ``moment``, which must not be earlier than now."""
        moment = _require_aware(moment, "moment")
        if moment < self._now:
            raise ValueError(
                f"a clock cannot move backwards from {self._now.isoformat()} "
                f"to {moment.isoformat()}"
            )
        self._now = moment
        while self._sleepers and self._sleepers[0][0] <= moment:
            _, _, event = heapq.heappop(self._sleepers)
            event.set()
        return moment

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now.isoformat()})"
