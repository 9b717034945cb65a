"""A seeded accelerometer simulator for a phone carried while walking and resting.

The phone lies flat, so gravity (9.80665 m/s²) is on z. While walking, each
step adds a vertical acceleration pulse on z with a second harmonic, a
forward component on y and a sway on x at half the step rate. The step
frequency starts between 1.7 and 1.9 Hz and drifts slowly (sinusoidally, by
up to 0.1 Hz), so it stays within 1.6 to 2.0 Hz. The amplitude differs from
bout to bout and varies slowly within one. Every axis gets Gaussian noise,
and short jolts (a knock, a bump) that are not steps arrive at random in both
walking and still periods.

Sample times are irregular like a phone's: intervals scatter around the
nominal rate by a uniform jitter, and rare gaps of a few hundred milliseconds
mimic a busy sensor pipeline.

The generator records its ground truth in GaitTruth: the exact instant of
every step (the moment the step phase crosses a whole number), the walking
and still intervals, the jolts and the sampling gaps. Steps taken during a
gap count as steps, because the person took them.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "STANDARD_GRAVITY",
    "AccelerometerSample",
    "Bout",
    "GaitConfig",
    "GaitGenerator",
    "GaitInterval",
    "GaitRecording",
    "GaitTruth",
    "still",
    "walk",
]

# Standard gravity in m/s².
STANDARD_GRAVITY = 9.80665

FloatArray = npt.NDArray[np.float64]
_PhaseFunction = Callable[[FloatArray], FloatArray]
_Kind = Literal["walking", "still"]

# The grid on which step times are found, in seconds, and its points per block.
_GRID_STEP = 0.001
_GRID_BLOCK = 65_536


@dataclass(frozen=True, slots=True)
class AccelerometerSample:
    """One accelerometer reading in m/s², with the field names of the message."""

    recorded_at: datetime
    x: float
    y: float
    z: float


@dataclass(frozen=True, slots=True)
class Bout:
    """One part of a gait plan: walking or standing still for ``duration``."""

    kind: Literal["walking", "still"]
    duration: timedelta


def walk(seconds: float) -> Bout:
    """Return a walking bout of ``seconds``."""
    return Bout("walking", timedelta(seconds=seconds))


def still(seconds: float) -> Bout:
    """Return a still bout of ``seconds``."""
    return Bout("still", timedelta(seconds=seconds))


@dataclass(frozen=True, slots=True)
class GaitConfig:
    """Parameters of the simulated phone and walker.

    Rates are in hertz, accelerations in m/s², durations in seconds.
    ``jitter`` is the maximum deviation of one sample interval from the
    nominal interval, as a fraction of it.
    """

    nominal_rate_hz: float = 25.0
    jitter: float = 0.2
    gaps_per_minute: float = 1.0
    gap_seconds: tuple[float, float] = (0.2, 0.5)
    noise_sd: float = 0.25
    step_frequency_hz: tuple[float, float] = (1.7, 1.9)
    step_frequency_drift_hz: tuple[float, float] = (0.03, 0.1)
    step_amplitude: tuple[float, float] = (1.5, 3.0)
    jolts_per_minute: float = 1.0
    jolt_amplitude: tuple[float, float] = (3.0, 8.0)
    jolt_seconds: tuple[float, float] = (0.03, 0.1)

    def __post_init__(self) -> None:
        if not self.nominal_rate_hz > 0:
            raise ValueError(
                f"nominal_rate_hz must be positive, got {self.nominal_rate_hz!r}"
            )
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter!r}")
        for name in ("gaps_per_minute", "noise_sd", "jolts_per_minute"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"{name} must not be negative, got {getattr(self, name)!r}"
                )


@dataclass(frozen=True, slots=True)
class GaitInterval:
    """A walking or still interval [start, end) and the steps taken in it."""

    kind: Literal["walking", "still"]
    start: datetime
    end: datetime
    steps: int


@dataclass(frozen=True, slots=True)
class GaitTruth:
    """Ground truth of a recording: exact steps, bouts, jolts and sampling gaps."""

    intervals: tuple[GaitInterval, ...]
    step_times: tuple[datetime, ...]
    jolt_times: tuple[datetime, ...]
    gaps: tuple[tuple[datetime, datetime], ...]

    @property
    def total_steps(self) -> int:
        """The number of steps in the whole recording."""
        return len(self.step_times)

    @property
    def walking_intervals(self) -> tuple[GaitInterval, ...]:
        """The walking intervals in time order."""
        return tuple(i for i in self.intervals if i.kind == "walking")

    def steps_between(self, start: datetime, end: datetime) -> int:
        """Return the number of steps taken in [start, end)."""
        first = bisect.bisect_left(self.step_times, start)
        last = bisect.bisect_left(self.step_times, end)
        return last - first


@dataclass(frozen=True, slots=True)
class GaitRecording:
    """The samples a phone would send, and the truth behind them."""

    samples: tuple[AccelerometerSample, ...]
    truth: GaitTruth
    seed: int
    config: GaitConfig = field(repr=False)


class GaitGenerator:
    """A deterministic accelerometer simulator: one seed, one recording."""

    def __init__(self, *, seed: int, config: GaitConfig | None = None) -> None:
        self.seed = seed
        self.config = config or GaitConfig()

    def generate(self, start: datetime, plan: Sequence[Bout]) -> GaitRecording:
        """Simulate ``plan`` from ``start`` and return the samples and the truth."""
        if start.tzinfo is None:
            raise ValueError(f"start must be timezone-aware, got naive {start!r}")
        if not plan:
            raise ValueError("plan is empty; give at least one walk() or still()")

        random = np.random.default_rng(self.seed)
        total = sum(bout.duration.total_seconds() for bout in plan)
        times, gaps = self._sample_times(random, total)

        vertical = np.zeros_like(times)
        forward = np.zeros_like(times)
        sideways = np.zeros_like(times)
        step_seconds: list[float] = []
        intervals: list[tuple[_Kind, float, float]] = []

        offset = 0.0
        for bout in plan:
            length = bout.duration.total_seconds()
            intervals.append((bout.kind, offset, offset + length))
            if bout.kind == "walking":
                step_seconds += self._add_walking(
                    random, times, offset, length, (vertical, forward, sideways)
                )
            offset += length

        jolts = self._add_jolts(random, times, total, (sideways, forward, vertical))
        noise = random.normal(0.0, self.config.noise_sd, size=(3, times.size))
        x = sideways + noise[0]
        y = forward + noise[1]
        z = STANDARD_GRAVITY + vertical + noise[2]

        origin = start.astimezone(UTC)
        return GaitRecording(
            samples=_to_samples(origin, times, x, y, z),
            truth=_to_truth(origin, intervals, step_seconds, jolts, gaps),
            seed=self.seed,
            config=self.config,
        )

    # -- sampling ----------------------------------------------------------------

    def _sample_times(
        self, random: np.random.Generator, total: float
    ) -> tuple[FloatArray, list[tuple[float, float]]]:
        config = self.config
        nominal = 1.0 / config.nominal_rate_hz
        expected = int(total / (nominal * (1 - config.jitter))) + 2
        intervals = nominal * (
            1 + random.uniform(-config.jitter, config.jitter, expected)
        )

        gap_probability = config.gaps_per_minute / 60.0 * nominal
        has_gap = random.random(expected) < gap_probability
        gap_lengths = random.uniform(*config.gap_seconds, expected) * has_gap
        intervals += gap_lengths

        times = np.concatenate(([0.0], np.cumsum(intervals)))
        times = times[times < total]

        gaps = []
        for index in np.flatnonzero(has_gap):
            if index + 1 < times.size:
                gaps.append((float(times[index]), float(times[index + 1])))
        return times, gaps

    # -- walking -------------------------------------------------------------------

    def _add_walking(
        self,
        random: np.random.Generator,
        times: FloatArray,
        offset: float,
        length: float,
        axes: tuple[FloatArray, FloatArray, FloatArray],
    ) -> list[float]:
        config = self.config
        base = random.uniform(*config.step_frequency_hz)
        drift = random.uniform(*config.step_frequency_drift_hz)
        drift_period = random.uniform(20.0, 60.0)
        drift_phase = random.uniform(0.0, 2 * math.pi)
        start_phase = random.uniform(0.0, 1.0)
        amplitude = random.uniform(*config.step_amplitude)
        harmonic_phase = random.uniform(0.0, 2 * math.pi)

        def phase(elapsed: FloatArray) -> FloatArray:
            # The integral of base + drift * sin(2 pi t / T + theta) from 0 to t.
            angular = 2 * math.pi / drift_period
            wobble = (
                np.cos(drift_phase) - np.cos(angular * elapsed + drift_phase)
            ) / angular
            result: FloatArray = start_phase + base * elapsed + drift * wobble
            return result

        inside = (times >= offset) & (times < offset + length)
        elapsed = times[inside] - offset
        cycle = 2 * math.pi * phase(elapsed)
        envelope = amplitude * (1 + 0.1 * np.sin(2 * math.pi * elapsed / 7.0))

        vertical, forward, sideways = axes
        vertical[inside] += envelope * (
            np.cos(cycle) + 0.25 * np.cos(2 * cycle + harmonic_phase)
        )
        forward[inside] += 0.3 * envelope * np.sin(cycle)
        sideways[inside] += 0.4 * envelope * np.sin(cycle / 2)

        return [offset + s for s in _whole_phase_crossings(phase, length)]

    # -- jolts ---------------------------------------------------------------------

    def _add_jolts(
        self,
        random: np.random.Generator,
        times: FloatArray,
        total: float,
        axes: tuple[FloatArray, FloatArray, FloatArray],
    ) -> list[float]:
        config = self.config
        count = random.poisson(config.jolts_per_minute * total / 60.0)
        starts = np.sort(random.uniform(0.0, total, count))
        for jolt_start in starts:
            duration = random.uniform(*config.jolt_seconds)
            peak = random.uniform(*config.jolt_amplitude)
            direction = random.normal(size=3)
            direction /= np.linalg.norm(direction)

            inside = (times >= jolt_start) & (times < jolt_start + duration)
            pulse = peak * np.sin(math.pi * (times[inside] - jolt_start) / duration)
            for axis, weight in zip(axes, direction, strict=True):
                axis[inside] += weight * pulse
        return [float(s) for s in starts]


def _whole_phase_crossings(phase: _PhaseFunction, length: float) -> list[float]:
    """Return the seconds at which ``phase`` crosses a whole number in [0, length).

    The phase increases monotonically, so its inverse is found by linear
    interpolation on a 1 ms grid, which places each step within a few
    microseconds. The grid is evaluated a block at a time, because a grid of
    a long walk takes 8 bytes a millisecond in each of several arrays: about
    60 MB at once for a 30-minute walk.
    """
    points = math.ceil(length / _GRID_STEP)
    crossings: list[float] = []
    for first in range(0, points, _GRID_BLOCK):
        # Each block ends on the next block's first point, so that every
        # interval between two grid points lies in one block.
        last = min(first + _GRID_BLOCK, points - 1)
        grid = np.arange(first, last + 1, dtype=np.float64) * _GRID_STEP
        values = phase(grid)
        lowest = math.ceil(values[0])
        if last == points - 1:
            highest = math.floor(values[-1])
        else:
            # A whole number at the block's last point belongs to the next block.
            highest = math.ceil(values[-1]) - 1
        wholes = np.arange(lowest, highest + 1, dtype=np.float64)
        crossings += np.interp(wholes, values, grid).tolist()
    return [s for s in crossings if s < length]


def _to_samples(
    origin: datetime, times: FloatArray, x: FloatArray, y: FloatArray, z: FloatArray
) -> tuple[AccelerometerSample, ...]:
    return tuple(
        AccelerometerSample(origin + timedelta(seconds=t), a, b, c)
        for t, a, b, c in zip(
            times.tolist(), x.tolist(), y.tolist(), z.tolist(), strict=True
        )
    )


def _to_truth(
    origin: datetime,
    intervals: list[tuple[_Kind, float, float]],
    step_seconds: list[float],
    jolt_seconds: list[float],
    gap_seconds: list[tuple[float, float]],
) -> GaitTruth:
    def at(seconds: float) -> datetime:
        return origin + timedelta(seconds=seconds)

    step_times = tuple(at(s) for s in step_seconds)
    truth_intervals = []
    for kind, begin, finish in intervals:
        steps = sum(1 for s in step_seconds if begin <= s < finish)
        truth_intervals.append(GaitInterval(kind, at(begin), at(finish), steps))
    return GaitTruth(
        intervals=tuple(truth_intervals),
        step_times=step_times,
        jolt_times=tuple(at(s) for s in jolt_seconds),
        gaps=tuple((at(begin), at(finish)) for begin, finish in gap_seconds),
    )
