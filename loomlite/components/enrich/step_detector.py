"""Step detection on a stream of accelerometer magnitudes with irregular times.

The detector reads ``(seconds, magnitude)`` pairs in event-time order. Every
filter is a first-order exponential smoother whose coefficient comes from the
actual interval to the previous sample, ``alpha = 1 - exp(-dt / tau)``, so
the filters keep their cut-off frequencies at any sample rate and across
jitter:

1. gravity and slow orientation changes are removed by subtracting a smoother
   with a time constant of ``gravity_time_constant``;
2. two cascaded smoothers low-pass the rest at ``low_pass_hz``. The cut-off is
   lowered to 0.4 times the measured sample rate when that is smaller, so it
   stays below the Nyquist frequency;
3. a step candidate is an upward crossing of ``+threshold`` after the signal
   was below ``-threshold`` (hysteresis). The threshold is
   ``threshold_ratio`` times the recent RMS of the filtered signal, but at
   least ``min_threshold``, so sensor noise at rest does not count;
4. candidates closer than ``min_step_interval`` are ignored, and candidates
   count as steps only in runs of at least ``min_run_steps`` with no pause
   longer than ``max_step_interval``, whose intervals each lie within 35 % of
   their median. Single jolts, short shuffles and noise crossings are
   discarded that way, as most pedometers do. Within a confirmed run, a
   candidate sooner than half the median step interval is a jolt.

A sampling gap is an interval longer than 2.5 times the smoothed sample
interval, and one longer than ``max_sample_gap`` also resets the filters. In
a confirmed run, a step interval that spans a gap and is within 30 % of the
median interval of a whole multiple (two or more) of the run's median
interval gets the steps the gap hid, spaced evenly. Without that, each short
gap in a walk loses one or two steps.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import deque
from dataclasses import dataclass

__all__ = ["StepDetector", "StepDetectorSettings"]


@dataclass(frozen=True, slots=True)
class StepDetectorSettings:
    """Detector parameters in seconds, hertz and m/s².

    NOTE: the defaults were tuned on ``simulators.gait`` recordings (walking
    amplitudes of 1 to 3 m/s², noise up to 0.5 m/s² per axis, 10 to 50 Hz).
    They have not been checked against recordings of real phones.
    """

    low_pass_hz: float = 4.0
    gravity_time_constant: float = 1.0
    energy_time_constant: float = 2.0
    threshold_ratio: float = 0.4
    min_threshold: float = 0.5
    min_step_interval: float = 0.3
    max_step_interval: float = 2.0
    min_run_steps: int = 8
    max_sample_gap: float = 1.0


# The sample interval used before two samples have been seen: 50 Hz.
_INITIAL_INTERVAL = 0.02
# The intervals of a run must each be within this fraction of their median.
_REGULARITY = 0.35
# In a confirmed run, a candidate sooner than this fraction of the median
# step interval is a jolt.
_EARLY_RATIO = 0.5
# An interval longer than this many smoothed sample intervals is a gap.
_GAP_RATIO = 2.5
# How many recent step intervals give the run's median interval.
_RECENT_INTERVALS = 8
# A gap-spanning interval may differ from a whole multiple of the median by
# this fraction of the median and still have its hidden steps inferred.
_MULTIPLE_TOLERANCE = 0.3


class StepDetector:
    """A streaming step detector; feed it samples in event-time order."""

    def __init__(self, settings: StepDetectorSettings) -> None:
        self.settings = settings
        self._last_seconds: float | None = None
        self._interval = _INITIAL_INTERVAL
        self._gravity = 0.0
        self._smooth1 = 0.0
        self._smooth2 = 0.0
        self._energy = 0.0
        self._armed = False
        self._gap_since_candidate = False

        self._last_candidate: float | None = None
        self._pending: list[float] = []
        self._confirmed_run = False
        self._recent_intervals: deque[float] = deque(maxlen=_RECENT_INTERVALS)
        self.discarded_candidates = 0
        self.inferred_steps = 0

    @property
    def earliest_pending(self) -> float | None:
        """The time of the oldest candidate that may still become a step."""
        return self._pending[0] if self._pending else None

    def add(self, seconds: float, magnitude: float) -> list[float]:
        """Process one sample and return the times of newly confirmed steps."""
        self._expire_run(seconds)
        candidate = self._filter(seconds, magnitude)
        if candidate is None:
            return []
        return self._accept_candidate(candidate)

    def finish(self) -> None:
        """End the stream and discard the candidates of an unconfirmed run."""
        self._end_run()

    # -- filtering -----------------------------------------------------------

    def _filter(self, seconds: float, magnitude: float) -> float | None:
        previous = self._last_seconds
        self._last_seconds = seconds
        if previous is None or seconds - previous > self.settings.max_sample_gap:
            self._reset_filters(magnitude, gap=previous is not None)
            return None

        interval = seconds - previous
        if interval <= 0:
            return None
        if interval > _GAP_RATIO * self._interval:
            # A sampling gap: remember it for step inference and keep it out
            # of the sample-rate estimate.
            self._gap_since_candidate = True
        else:
            self._interval += _alpha(interval, 2.0) * (interval - self._interval)

        settings = self.settings
        self._gravity += _alpha(interval, settings.gravity_time_constant) * (
            magnitude - self._gravity
        )
        cutoff = min(settings.low_pass_hz, 0.4 / self._interval)
        smoothing = _alpha(interval, 1.0 / (2 * math.pi * cutoff))
        self._smooth1 += smoothing * (magnitude - self._gravity - self._smooth1)
        self._smooth2 += smoothing * (self._smooth1 - self._smooth2)
        signal = self._smooth2
        self._energy += _alpha(interval, settings.energy_time_constant) * (
            signal * signal - self._energy
        )

        return self._cross(seconds, signal)

    def _reset_filters(self, magnitude: float, *, gap: bool) -> None:
        self._gravity = magnitude
        self._smooth1 = 0.0
        self._smooth2 = 0.0
        self._armed = False
        if gap:
            self._gap_since_candidate = True

    def _cross(self, seconds: float, signal: float) -> float | None:
        settings = self.settings
        threshold = max(
            settings.min_threshold,
            settings.threshold_ratio * math.sqrt(self._energy),
        )
        if signal < -threshold:
            self._armed = True
            return None
        if not (self._armed and signal > threshold):
            return None

        self._armed = False
        last = self._last_candidate
        if last is not None and seconds - last < settings.min_step_interval:
            return None
        return seconds

    # -- runs ----------------------------------------------------------------

    def _accept_candidate(self, seconds: float) -> list[float]:
        previous = self._last_candidate
        if self._confirmed_run and previous is not None:
            return self._continue_run(previous, seconds)

        self._last_candidate = seconds
        self._gap_since_candidate = False
        self._pending.append(seconds)
        if len(self._pending) < self.settings.min_run_steps:
            return []
        if not _regular(self._pending):
            # Drop the oldest candidate and keep the rest, which may still
            # form a regular run with the next candidates.
            self._pending.pop(0)
            self.discarded_candidates += 1
            return []

        confirmed = self._pending
        self._pending = []
        self._confirmed_run = True
        for earlier, later in itertools.pairwise(confirmed):
            self._recent_intervals.append(later - earlier)
        return confirmed

    def _continue_run(self, previous: float, seconds: float) -> list[float]:
        interval = seconds - previous
        median = statistics.median(self._recent_intervals)
        if interval < _EARLY_RATIO * median:
            # Far too soon for the walker's rhythm: a jolt, not a step.
            self.discarded_candidates += 1
            return []

        spans_gap = self._gap_since_candidate
        self._last_candidate = seconds
        self._gap_since_candidate = False
        steps = self._hidden_steps(previous, interval, median) if spans_gap else []
        if not steps:
            self._recent_intervals.append(interval)
        return [*steps, seconds]

    def _hidden_steps(
        self, previous: float, interval: float, median: float
    ) -> list[float]:
        multiple = round(interval / median)
        if (
            multiple < 2
            or abs(interval - multiple * median) > _MULTIPLE_TOLERANCE * median
        ):
            return []

        self.inferred_steps += multiple - 1
        spacing = interval / multiple
        return [previous + spacing * index for index in range(1, multiple)]

    def _expire_run(self, seconds: float) -> None:
        last = self._last_candidate
        if last is not None and seconds - last > self.settings.max_step_interval:
            self._end_run()

    def _end_run(self) -> None:
        self.discarded_candidates += len(self._pending)
        self._pending = []
        self._confirmed_run = False
        self._last_candidate = None
        self._recent_intervals.clear()


def _regular(times: list[float]) -> bool:
    intervals = [later - earlier for earlier, later in itertools.pairwise(times)]
    median = statistics.median(intervals)
    return all(abs(i - median) <= _REGULARITY * median for i in intervals)


def _alpha(interval: float, time_constant: float) -> float:
    return 1.0 - math.exp(-interval / time_constant)
