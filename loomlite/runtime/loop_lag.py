"""Event-loop lag: how late a timer callback runs on a blocked event loop.

A timer callback is scheduled every ``interval`` real seconds with
``loop.call_at`` and records how much later than its due time it ran.
The delay is time in which the loop ran something else without yielding,
such as a model call that was not moved to a thread. The maximum since the
start is the figure that ``loomlite up`` prints.

The probe is a plain timer callback: no task and no thread. So
``anyio.wait_all_tasks_blocked`` and the virtual-time driver, which look at
tasks and ready callbacks only, do not wait for it, and it never wakes the
loop from another thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

__all__ = ["LoopLag", "LoopLagMonitor"]

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.05
"""Real seconds between two measurements."""

# A block at least this long is logged as a warning when it sets a new maximum.
_WARN_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class LoopLag:
    """Lag measurements in real seconds since the monitor started."""

    samples: int
    max_seconds: float
    last_seconds: float
    mean_seconds: float


class LoopLagMonitor:
    """Measures the lag of the running event loop between ``start`` and ``stop``."""

    def __init__(self, interval: float = DEFAULT_INTERVAL) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self.interval = interval
        self._samples = 0
        self._max = 0.0
        self._last = 0.0
        self._total = 0.0
        self._warned_at = _WARN_SECONDS
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Start measuring the event loop that runs the caller."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._schedule()

    def stop(self) -> None:
        """Stop measuring. The measurements so far stay readable."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._loop = None

    def _schedule(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        due = loop.time() + self.interval
        self._timer = loop.call_at(due, self._fire, due)

    def _fire(self, due: float) -> None:
        if self._loop is None:
            return
        self.record(self._loop.time() - due)
        self._schedule()

    def record(self, lag: float) -> None:
        """Add one measurement of ``lag`` seconds; negative values count as 0."""
        lag = max(0.0, lag)
        self._samples += 1
        self._last = lag
        self._total += lag
        if lag > self._max:
            self._max = lag
            if lag >= self._warned_at:
                self._warned_at = lag
                logger.warning(
                    "event loop was blocked for %.0f ms, the longest so far",
                    lag * 1000.0,
                )

    def reset_max(self) -> None:
        """Forget the maximum so far, to measure one phase of a run."""
        self._max = 0.0
        self._warned_at = _WARN_SECONDS

    def snapshot(self) -> LoopLag:
        mean = self._total / self._samples if self._samples else 0.0
        return LoopLag(
            samples=self._samples,
            max_seconds=self._max,
            last_seconds=self._last,
            mean_seconds=mean,
        )
