"""Per-axis statistics of one device's accelerometer samples in event-time windows.

MotionDetector reports when a device moved and how hard, but not along which
axis or at what sample rate. AxisHistory keeps per-window sums of x, y and z
for the same windows (epoch-aligned, the detector's window length), so the
enrich component can describe a motion event after the detector emits it.

Samples pass through their own ReorderBuffer with the detector's lateness, so
they are summed in event-time order and the sums are bit-for-bit the same for
every arrival order within the lateness bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from loomlite.components.enrich.reorder import ReorderBuffer, epoch_seconds
from loomlite.components.enrich.steps import AccelerationSample, acceleration_magnitude

__all__ = ["AxisHistory", "AxisSummary"]

Axis = Literal["x", "y", "z"]
_AXES: tuple[Axis, ...] = ("x", "y", "z")


@dataclass(frozen=True, slots=True)
class AxisSummary:
    """Summary of the samples between two window boundaries.

    ``dominant_axis`` has the largest variance around each window's own mean,
    so gravity and a slowly changing orientation do not count.
    ``sample_rate_hz`` is measured from the sample timestamps inside each
    window, so gaps between windows do not lower it. It is 0.0 without two
    samples in one window.
    """

    dominant_axis: Axis
    sample_rate_hz: float
    sample_count: int


@dataclass(slots=True)
class _WindowSums:
    count: int = 0
    sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    squares: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    first: float = math.inf
    last: float = -math.inf

    def add(self, seconds: float, values: tuple[float, float, float]) -> None:
        self.count += 1
        for axis, value in enumerate(values):
            self.sums[axis] += value
            self.squares[axis] += value * value
        self.first = min(self.first, seconds)
        self.last = max(self.last, seconds)

    def deviations(self) -> list[float]:
        """Return the sum of squared deviations from the window mean, per axis."""
        return [
            max(0.0, square - total * total / self.count)
            for total, square in zip(self.sums, self.squares, strict=True)
        ]


class AxisHistory:
    """Per-window axis sums of one device, kept for ``history`` of event time.

    NOTE: a motion event longer than ``history`` is summarised from its last
    ``history`` only.
    """

    def __init__(
        self,
        window: timedelta,
        lateness: timedelta,
        history: timedelta = timedelta(hours=1),
    ) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, got {window!r}")
        self._window_seconds = window.total_seconds()
        self._history_seconds = history.total_seconds()
        self._buffer: ReorderBuffer[tuple[float, float, float, float]] = ReorderBuffer(
            lateness, name="axis history"
        )
        self._windows: dict[int, _WindowSums] = {}

    def add(self, sample: AccelerationSample) -> None:
        """Accept one sample. Samples with a non-finite axis are skipped."""
        if acceleration_magnitude(sample) is None:
            return
        seconds = epoch_seconds(sample.recorded_at)
        values = (sample.x, sample.y, sample.z)
        self._fold(self._buffer.push(seconds, values, (seconds, *values)))

    def flush(self) -> None:
        """Fold every held sample, as at the end of a stream."""
        self._fold(self._buffer.flush())

    def summarize(self, start: datetime, end: datetime) -> AxisSummary:
        """Summarise the windows from ``start`` to ``end``, both window boundaries."""
        first = round(epoch_seconds(start) / self._window_seconds)
        last = round(epoch_seconds(end) / self._window_seconds)
        deviations = [0.0, 0.0, 0.0]
        intervals = 0
        span = 0.0
        count = 0
        for index in range(first, max(last, first + 1)):
            window = self._windows.get(index)
            if window is None:
                continue
            count += window.count
            for axis, value in enumerate(window.deviations()):
                deviations[axis] += value
            if window.count >= 2 and window.last > window.first:
                intervals += window.count - 1
                span += window.last - window.first

        # On a tie the earlier axis wins, so the result is deterministic.
        dominant = max(range(3), key=lambda axis: (deviations[axis], -axis))
        rate = intervals / span if span > 0 else 0.0
        return AxisSummary(_AXES[dominant], rate, count)

    def forget_before(self, moment: datetime) -> None:
        """Drop the windows that end at or before ``moment``."""
        boundary = epoch_seconds(moment) / self._window_seconds
        for index in [index for index in self._windows if index + 1 <= boundary]:
            del self._windows[index]

    def _fold(self, ready: list[tuple[float, float, float, float]]) -> None:
        if not ready:
            return
        for seconds, x, y, z in ready:
            index = math.floor(seconds / self._window_seconds)
            window = self._windows.get(index)
            if window is None:
                window = self._windows[index] = _WindowSums()
            window.add(seconds, (x, y, z))

        oldest = math.floor(
            (ready[-1][0] - self._history_seconds) / self._window_seconds
        )
        for index in [index for index in self._windows if index < oldest]:
            del self._windows[index]
