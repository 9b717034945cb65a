"""Per-device step counting on event time.

A StepCounter reads accelerometer samples of one device, in any arrival order
within its lateness bound, and emits one StepWindow for each window of
``recorded_at`` time that received samples. Nothing here reads a clock, so a
replay at any speed gives the same windows.

Windows are aligned on local midnight in the configured timezone: with a
60 s window they start at 00:00:00, 00:01:00 and so on. A window never
crosses midnight (the last one of a day is cut short when the window length
does not divide the day, as on daylight-saving days), and each window carries
the running total of its day. That total restarts at midnight of event time.

A window is emitted once no later sample can change it: the released event
time (see ReorderBuffer) must be ``max_step_interval`` past its end and no
unconfirmed step candidate may lie inside it. ``flush`` emits the rest.
"""

from __future__ import annotations

import itertools
import logging
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from loomlite.components.enrich.reorder import (
    ReorderBuffer,
    ReorderStatistics,
    epoch_seconds,
    utc_from_epoch,
)
from loomlite.components.enrich.step_detector import (
    StepDetector,
    StepDetectorSettings,
)

__all__ = [
    "AccelerationSample",
    "StepCounter",
    "StepCounterConfig",
    "StepCounterStatistics",
    "StepWindow",
    "acceleration_magnitude",
]

logger = logging.getLogger(__name__)


class AccelerationSample(Protocol):
    """An accelerometer reading: event time and acceleration in m/s² per axis."""

    @property
    def recorded_at(self) -> datetime: ...
    @property
    def x(self) -> float: ...
    @property
    def y(self) -> float: ...
    @property
    def z(self) -> float: ...


def acceleration_magnitude(sample: AccelerationSample) -> float | None:
    """Return the magnitude of the acceleration in m/s², or None if not finite."""
    magnitude = math.sqrt(sample.x**2 + sample.y**2 + sample.z**2)
    return magnitude if math.isfinite(magnitude) else None


def _warn_invalid(count: int, detector: str) -> None:
    # Log the first invalid sample and then every 1000th, not each one.
    if count == 1 or count % 1000 == 0:
        logger.warning(
            "skipped %d accelerometer sample(s) with a non-finite x, y or z in %s",
            count,
            detector,
        )


class StepCounterConfig(BaseModel):
    """Settings of a StepCounter. Durations accept seconds or ISO 8601 strings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: timedelta = Field(default=timedelta(seconds=60), gt=timedelta(0))
    lateness: timedelta = Field(default=timedelta(seconds=10), ge=timedelta(0))
    timezone: str = "UTC"
    low_pass_hz: float = Field(default=4.0, gt=0)
    threshold_ratio: float = Field(default=0.4, ge=0)
    min_threshold: float = Field(default=0.5, gt=0)
    min_step_interval: timedelta = Field(
        default=timedelta(seconds=0.3), gt=timedelta(0)
    )
    max_step_interval: timedelta = Field(
        default=timedelta(seconds=2.0), gt=timedelta(0)
    )
    min_run_steps: int = Field(default=8, ge=2)
    max_sample_gap: timedelta = Field(default=timedelta(seconds=1.0), gt=timedelta(0))

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        _load_timezone(value)
        return value

    def zone(self) -> tzinfo:
        """Return the timezone whose midnight resets the daily total."""
        return _load_timezone(self.timezone)

    def detector_settings(self) -> StepDetectorSettings:
        """Return the detector parameters in seconds."""
        return StepDetectorSettings(
            low_pass_hz=self.low_pass_hz,
            threshold_ratio=self.threshold_ratio,
            min_threshold=self.min_threshold,
            min_step_interval=self.min_step_interval.total_seconds(),
            max_step_interval=self.max_step_interval.total_seconds(),
            min_run_steps=self.min_run_steps,
            max_sample_gap=self.max_sample_gap.total_seconds(),
        )


def _load_timezone(name: str) -> tzinfo:
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, LookupError) as error:
        raise ValueError(
            f"unknown timezone {name!r}; use an IANA name such as 'Europe/Berlin'"
        ) from error


@dataclass(frozen=True, slots=True)
class StepWindow:
    """Steps counted in one window [start, end) of event time for one device.

    ``cadence`` is the walking rate in steps per minute (60 over the median
    interval between steps in the window, 0.0 with fewer than two steps).
    ``sample_rate_hz`` is measured as 1 over the median sample interval
    (0.0 with fewer than two samples). ``daily_total`` counts the steps of
    ``day`` (a local date) up to ``end``.
    """

    device_id: str
    start: datetime
    end: datetime
    step_count: int
    cadence: float
    sample_rate_hz: float
    sample_count: int
    daily_total: int
    day: date


@dataclass(frozen=True, slots=True)
class StepCounterStatistics:
    """Counters of one StepCounter."""

    samples: ReorderStatistics
    invalid_samples: int
    steps: int
    inferred_steps: int
    discarded_candidates: int
    windows: int


@dataclass(slots=True)
class _Window:
    start: float
    end: float
    day: date
    sample_times: list[float] = field(default_factory=list)
    step_times: list[float] = field(default_factory=list)


class _Calendar:
    """Local days of one timezone, as Unix-second boundaries, cached."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._day: date | None = None
        self._bounds = (math.inf, -math.inf)

    def day_of(self, seconds: float) -> tuple[date, float, float]:
        """Return the local date containing ``seconds`` and its start and end."""
        start, end = self._bounds
        if self._day is not None and start <= seconds < end:
            return self._day, start, end

        local = datetime.fromtimestamp(seconds, self.zone)
        day = local.date()
        start = _local_midnight(day, self.zone)
        end = _local_midnight(day + timedelta(days=1), self.zone)
        self._day = day
        self._bounds = (start, end)
        return day, start, end


def _local_midnight(day: date, zone: tzinfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


class StepCounter:
    """Count the steps of one device in event-time windows."""

    def __init__(self, device_id: str, config: StepCounterConfig | None = None) -> None:
        self.device_id = device_id
        self.config = config or StepCounterConfig()
        self._window_seconds = self.config.window.total_seconds()
        self._settle_seconds = self.config.max_step_interval.total_seconds()
        self._buffer: ReorderBuffer[tuple[float, float]] = ReorderBuffer(
            self.config.lateness, name=f"step counter {device_id!r}"
        )
        self._detector = StepDetector(self.config.detector_settings())
        self._calendar = _Calendar(self.config.zone())
        self._windows: dict[float, _Window] = {}
        self._released_until = -math.inf
        self._current_day: date | None = None
        self._daily_total = 0
        self._steps = 0
        self._emitted = 0
        self._invalid = 0

    def add(self, sample: AccelerationSample) -> list[StepWindow]:
        """Accept one sample and return the windows it completed, oldest first."""
        magnitude = acceleration_magnitude(sample)
        if magnitude is None:
            self._invalid += 1
            _warn_invalid(self._invalid, f"step counter {self.device_id!r}")
            return []

        seconds = epoch_seconds(sample.recorded_at)
        ready = self._buffer.push(
            seconds, (sample.x, sample.y, sample.z), (seconds, magnitude)
        )
        return self._process(ready)

    def extend(self, samples: Iterable[AccelerationSample]) -> list[StepWindow]:
        """Accept many samples, in arrival order, and return completed windows."""
        windows: list[StepWindow] = []
        for sample in samples:
            windows += self.add(sample)
        return windows

    def flush(self) -> list[StepWindow]:
        """Process every buffered sample and emit every open window, oldest first.

        Call it at the end of a stream. Samples that arrive afterwards with an
        older ``recorded_at`` than the newest seen are dropped as late.
        """
        windows = self._process(self._buffer.flush())
        self._detector.finish()
        return windows + self._close_windows(math.inf)

    def statistics(self) -> StepCounterStatistics:
        """Return a snapshot of the counters."""
        return StepCounterStatistics(
            samples=self._buffer.statistics(),
            invalid_samples=self._invalid,
            steps=self._steps,
            inferred_steps=self._detector.inferred_steps,
            discarded_candidates=self._detector.discarded_candidates,
            windows=self._emitted,
        )

    # -- processing ----------------------------------------------------------

    def _process(self, ready: list[tuple[float, float]]) -> list[StepWindow]:
        if not ready:
            return []
        for seconds, magnitude in ready:
            self._window_for(seconds).sample_times.append(seconds)
            for step in self._detector.add(seconds, magnitude):
                self._window_for(step).step_times.append(step)
            self._released_until = seconds

        settled = self._released_until - self._settle_seconds
        pending = self._detector.earliest_pending
        if pending is not None:
            settled = min(settled, pending)
        return self._close_windows(settled)

    def _window_for(self, seconds: float) -> _Window:
        day, day_start, day_end = self._calendar.day_of(seconds)
        index = math.floor((seconds - day_start) / self._window_seconds)
        start = day_start + index * self._window_seconds
        window = self._windows.get(start)
        if window is None:
            end = min(start + self._window_seconds, day_end)
            window = _Window(start=start, end=end, day=day)
            self._windows[start] = window
        return window

    def _close_windows(self, settled: float) -> list[StepWindow]:
        closed = []
        for start in sorted(self._windows):
            window = self._windows[start]
            if window.end > settled:
                break
            del self._windows[start]
            closed.append(self._emit(window))
        return closed

    def _emit(self, window: _Window) -> StepWindow:
        if window.day != self._current_day:
            self._current_day = window.day
            self._daily_total = 0
        count = len(window.step_times)
        self._daily_total += count
        self._steps += count
        self._emitted += 1
        return StepWindow(
            device_id=self.device_id,
            start=utc_from_epoch(window.start),
            end=utc_from_epoch(window.end),
            step_count=count,
            cadence=_rate(sorted(window.step_times)) * 60.0,
            sample_rate_hz=_rate(window.sample_times),
            sample_count=len(window.sample_times),
            daily_total=self._daily_total,
            day=window.day,
        )


def _rate(times: list[float]) -> float:
    """Return 1 over the median positive interval of sorted ``times``, or 0.0."""
    intervals = [b - a for a, b in itertools.pairwise(times) if b > a]
    if not intervals:
        return 0.0
    return 1.0 / statistics.median(intervals)
