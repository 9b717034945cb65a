"""Event-loop lag: how long a callback waits for a blocked event loop.

A daemon thread schedules a callback on the loop every ``interval`` real
seconds with ``call_soon_threadsafe`` and the callback records how long it
waited. The wait is time in which the loop ran something else without
yielding, such as a model call that was not moved to a thread. The maximum
since the start is the figure that ``loomlite up`` prints.

The probe is a plain callback, not a task, so ``anyio.wait_all_tasks_blocked``
and the virtual-time driver, which look at tasks only, do not see it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start measuring the event loop that runs the caller."""
        if self._thread is not None:
            return
        loop = asyncio.get_running_loop()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._probe, args=(loop,), name="loop-lag", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop measuring. The measurements so far stay readable."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=1.0)

    def _probe(self, loop: asyncio.AbstractEventLoop) -> None:
        answered = threading.Event()

        def callback(sent: float) -> None:
            self.record(time.perf_counter() - sent)
            answered.set()

        while not self._stop.wait(self.interval):
            answered.clear()
            try:
                loop.call_soon_threadsafe(callback, time.perf_counter())
            except RuntimeError:
                return  # the loop is closed
            # Wait for the callback to run before the next probe, so a
            # blocked loop gets one pending callback, not a pile of them.
            while not answered.wait(self.interval):
                if self._stop.is_set() or loop.is_closed():
                    return

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
