"""Rates over a sliding window of monotonic time, from samples of a running total."""

from __future__ import annotations

from collections import deque

__all__ = ["RateMeter"]

# Samples closer together than window / _SAMPLES_PER_WINDOW replace each
# other, so a meter keeps about this many samples whatever the event rate.
_SAMPLES_PER_WINDOW = 10


class RateMeter:
    """Events per second over the last ``window`` seconds of a running total.

    The owner keeps the total and calls ``sample`` now and then; ``rate``
    samples too. The rate is measured from the newest sample that is at least
    ``window`` seconds old (or from the meter's creation) to now. It is the
    rate over the last ``window`` seconds when samples come at least every
    ``window / 10`` seconds, and an average over a longer span otherwise.
    """

    __slots__ = ("_samples", "_spacing", "window")

    def __init__(self, window: float, now: float, total: int = 0) -> None:
        if not window > 0:
            raise ValueError(f"rate window must be positive seconds, got {window!r}")
        self.window = window
        self._spacing = window / _SAMPLES_PER_WINDOW
        self._samples: deque[tuple[float, int]] = deque([(now, total)])

    def sample(self, now: float, total: int) -> None:
        """Record that the running total was ``total`` at monotonic time ``now``."""
        samples = self._samples
        if len(samples) >= 2 and now - samples[-2][0] < self._spacing:
            samples[-1] = (now, total)
        else:
            samples.append((now, total))
        start = now - self.window
        while len(samples) >= 2 and samples[1][0] <= start:
            samples.popleft()

    def rate(self, now: float, total: int) -> float:
        """Return events per second up to ``now``, when the total is ``total``."""
        self.sample(now, total)
        base_time, base_total = self._samples[0]
        # One sample spacing at least, so that a meter a few milliseconds old
        # does not report a burst as millions of events per second.
        elapsed = max(now - base_time, self._spacing)
        return (total - base_total) / elapsed
