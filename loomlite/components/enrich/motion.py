"""Per-device significant-motion detection on event time.

The detector splits ``recorded_at`` time into windows of ``window`` length,
aligned on the Unix epoch, and computes the standard deviation of the
acceleration magnitude ‖(x, y, z)‖ in each. A window is active when it has
at least ``min_samples`` samples and a standard deviation of at least
``threshold``. Because the deviation is taken around the window's own mean,
gravity and the phone's orientation do not matter.

A motion event begins with consecutive active windows that last at least
``min_duration``, which rejects single jolts and pairs of them. After that,
pauses (inactive or empty windows) of up to ``max_pause`` do not end it. The
event is emitted once a pause exceeds ``max_pause``. After an event ends,
windows that start before ``end + cooldown`` are ignored, so a new event
starts no earlier than that.

Every duration is event time. The detector never reads a clock, so replays at
any speed, or in any order within the lateness bound, give the same events.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from loomlite.components.enrich.reorder import (
    ReorderBuffer,
    ReorderStatistics,
    epoch_seconds,
    utc_from_epoch,
)
from loomlite.components.enrich.steps import (
    AccelerationSample,
    acceleration_magnitude,
)

__all__ = [
    "MotionDetector",
    "MotionDetectorConfig",
    "MotionDetectorStatistics",
    "MotionEvent",
    "MotionKind",
]

logger = logging.getLogger(__name__)


class MotionKind(enum.StrEnum):
    """The kind of a motion event, from its magnitude."""

    WALKING = "walking"
    RUNNING = "running"


class MotionDetectorConfig(BaseModel):
    """Settings of a MotionDetector, with accelerations in m/s².

    NOTE: ``running_threshold`` is an estimate. Walks from ``simulators.gait``
    give a magnitude deviation of 1.1 to 2.2 m/s² and running gives more, but
    the boundary has not been checked on real recordings.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: timedelta = Field(default=timedelta(seconds=2), gt=timedelta(0))
    lateness: timedelta = Field(default=timedelta(seconds=10), ge=timedelta(0))
    threshold: float = Field(default=0.6, gt=0)
    min_samples: int = Field(default=3, ge=2)
    min_duration: timedelta = Field(default=timedelta(seconds=6), ge=timedelta(0))
    max_pause: timedelta = Field(default=timedelta(seconds=4), ge=timedelta(0))
    cooldown: timedelta = Field(default=timedelta(seconds=10), ge=timedelta(0))
    running_threshold: float = Field(default=4.0, gt=0)


@dataclass(frozen=True, slots=True)
class MotionEvent:
    """One significant-motion event of one device, on event time.

    ``magnitude`` is the root mean square of the active windows' standard
    deviations of ‖a‖ and ``peak`` the largest deviation of one sample's ‖a‖
    from its window mean, both in m/s².
    """

    device_id: str
    start: datetime
    end: datetime
    kind: MotionKind
    magnitude: float
    peak: float
    sample_count: int


@dataclass(frozen=True, slots=True)
class MotionDetectorStatistics:
    """Counters of one MotionDetector."""

    samples: ReorderStatistics
    invalid_samples: int
    events: int
    discarded_runs: int
    windows_in_cooldown: int


@dataclass(slots=True)
class _Window:
    """Running mean and variance of ‖a‖ in one window (Welford's method)."""

    index: int
    count: int = 0
    mean: float = 0.0
    squares: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, magnitude: float) -> None:
        self.count += 1
        delta = magnitude - self.mean
        self.mean += delta / self.count
        self.squares += delta * (magnitude - self.mean)
        self.low = min(self.low, magnitude)
        self.high = max(self.high, magnitude)

    @property
    def variance(self) -> float:
        return self.squares / self.count if self.count else 0.0

    @property
    def peak(self) -> float:
        return max(self.high - self.mean, self.mean - self.low)


@dataclass(slots=True)
class _Run:
    start: float
    last_active_end: float
    variances: list[float]
    peak: float
    sample_count: int

    def active_seconds(self, window_seconds: float) -> float:
        return len(self.variances) * window_seconds


class MotionDetector:
    """Detect significant motion of one device in accelerometer samples."""

    def __init__(
        self, device_id: str, config: MotionDetectorConfig | None = None
    ) -> None:
        self.device_id = device_id
        self.config = config or MotionDetectorConfig()
        self._window_seconds = self.config.window.total_seconds()
        self._min_duration = self.config.min_duration.total_seconds()
        self._max_pause = self.config.max_pause.total_seconds()
        self._buffer: ReorderBuffer[tuple[float, float]] = ReorderBuffer(
            self.config.lateness, name=f"motion detector {device_id!r}"
        )
        self._window: _Window | None = None
        self._run: _Run | None = None
        self._cooldown_until = -math.inf
        self._events = 0
        self._discarded_runs = 0
        self._windows_in_cooldown = 0
        self._invalid = 0

    def add(self, sample: AccelerationSample) -> list[MotionEvent]:
        """Accept one sample and return the events it completed."""
        magnitude = acceleration_magnitude(sample)
        if magnitude is None:
            self._invalid += 1
            if self._invalid == 1 or self._invalid % 1000 == 0:
                logger.warning(
                    "skipped %d accelerometer sample(s) with a non-finite x, y or z "
                    "in motion detector %r",
                    self._invalid,
                    self.device_id,
                )
            return []

        seconds = epoch_seconds(sample.recorded_at)
        ready = self._buffer.push(
            seconds, (sample.x, sample.y, sample.z), (seconds, magnitude)
        )
        return self._process(ready)

    def extend(self, samples: Iterable[AccelerationSample]) -> list[MotionEvent]:
        """Accept many samples, in arrival order, and return completed events."""
        events: list[MotionEvent] = []
        for sample in samples:
            events += self.add(sample)
        return events

    def flush(self) -> list[MotionEvent]:
        """Process every buffered sample and end the current event, as at stream end."""
        events = self._process(self._buffer.flush())
        if self._window is not None:
            events += self._close_window(self._window)
            self._window = None
        if self._run is not None:
            events += self._finish_run()
        return events

    def statistics(self) -> MotionDetectorStatistics:
        """Return a snapshot of the counters."""
        return MotionDetectorStatistics(
            samples=self._buffer.statistics(),
            invalid_samples=self._invalid,
            events=self._events,
            discarded_runs=self._discarded_runs,
            windows_in_cooldown=self._windows_in_cooldown,
        )

    # -- processing ----------------------------------------------------------

    def _process(self, ready: list[tuple[float, float]]) -> list[MotionEvent]:
        events: list[MotionEvent] = []
        for seconds, magnitude in ready:
            index = math.floor(seconds / self._window_seconds)
            window = self._window
            if window is not None and window.index != index:
                events += self._close_window(window)
                window = None
            if window is None:
                window = _Window(index)
                self._window = window
            window.add(magnitude)
        return events

    def _close_window(self, window: _Window) -> list[MotionEvent]:
        config = self.config
        start = window.index * self._window_seconds
        end = start + self._window_seconds

        events: list[MotionEvent] = []
        # Windows without samples are never closed, so check here whether the
        # pause before this window already ended the run.
        run = self._run
        if run is not None and start - run.last_active_end > self._allowed_pause(run):
            events += self._finish_run()

        active = (
            window.count >= config.min_samples
            and math.sqrt(window.variance) >= config.threshold
        )
        if not active:
            run = self._run
            if run is not None and end - run.last_active_end > self._allowed_pause(run):
                events += self._finish_run()
            return events

        if self._run is None and start < self._cooldown_until:
            self._windows_in_cooldown += 1
            return events
        self._extend_run(window, start, end)
        return events

    def _allowed_pause(self, run: _Run) -> float:
        # Until a run has lasted min_duration, any pause ends it, so a jolt
        # just before a walk does not move the event's start.
        if run.active_seconds(self._window_seconds) < self._min_duration:
            return 0.0
        return self._max_pause

    def _extend_run(self, window: _Window, start: float, end: float) -> None:
        run = self._run
        if run is None:
            self._run = _Run(start, end, [window.variance], window.peak, window.count)
            return
        run.last_active_end = end
        run.variances.append(window.variance)
        run.peak = max(run.peak, window.peak)
        run.sample_count += window.count

    def _finish_run(self) -> list[MotionEvent]:
        run = self._run
        assert run is not None
        self._run = None
        config = self.config
        if run.active_seconds(self._window_seconds) < self._min_duration:
            self._discarded_runs += 1
            return []

        self._cooldown_until = run.last_active_end + config.cooldown.total_seconds()
        magnitude = math.sqrt(sum(run.variances) / len(run.variances))
        kind = MotionKind.WALKING
        if magnitude >= config.running_threshold:
            kind = MotionKind.RUNNING
        self._events += 1
        event = MotionEvent(
            device_id=self.device_id,
            start=utc_from_epoch(run.start),
            end=utc_from_epoch(run.last_active_end),
            kind=kind,
            magnitude=magnitude,
            peak=run.peak,
            sample_count=run.sample_count,
        )
        logger.debug(
            "motion event of %s from %s to %s", self.device_id, event.start, event.end
        )
        return [event]
