"""Per-device activity classification from derived steps, GPS fixes and motion events.

Event time is cut into windows of ``window`` length aligned on the Unix epoch.
Each input lands in the windows it belongs to: a DerivedSteps message by its
window start, a GPS fix by its ``recorded_at`` and a SignificantMotion event in
every window it overlaps.

Derived steps pace the classification. Their windows are emitted in order,
so a window's steps are complete once a later steps window arrives. A window
is classified and closed once a DerivedSteps message ends ``lateness`` or
more after the window's end, which gives GPS fixes and motion events that
much event time to arrive. Those that arrive after their window closed are
dropped and counted as late. ``flush`` classifies every open window.

NOTE: windows of a device that never produces derived steps (no
accelerometer) close only at ``flush`` or when more than ``max_open_windows``
are open. A motion event is emitted only after it ends, so a long event can
arrive after some of the windows it overlaps have closed, and then it is not
counted in them.

The rules follow production's activity classifier, on steps per minute and
mean GPS speed, with production's fixed confidences. The first that matches
wins:

- faster than ``vehicle_speed``: cycling (0.7) with 10 or more steps per
  minute, else vehicle (0.9);
- more than ``running_cadence`` steps per minute: running (0.8);
- more than ``walking_cadence`` steps per minute: walking (0.9);
- slower than ``stationary_speed``, fewer than ``stationary_cadence`` steps
  per minute and no motion event: stationary (0.8). A window needs steps or
  a speed for this, and a missing one does not count against it;
- motion events: their most frequent kind (0.6);
- otherwise unknown (0.5).
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from loomlite.components.enrich.geo import haversine_distance
from loomlite.components.enrich.reorder import epoch_seconds, utc_from_epoch
from loomlite.contract.models import (
    DerivedSteps,
    GeoPoint,
    GPSReading,
    SignificantMotion,
)

__all__ = ["Activity", "ActivityConfig", "ActivityTracker", "classify"]

logger = logging.getLogger(__name__)

# Steps per minute at or above which a fast window is cycling, not a vehicle.
_CYCLING_CADENCE: Final = 10.0


class ActivityConfig(BaseModel):
    """Settings of an ActivityTracker. Speeds in m/s, cadences in steps per minute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: timedelta = Field(default=timedelta(seconds=60), gt=timedelta(0))
    lateness: timedelta = Field(default=timedelta(seconds=30), ge=timedelta(0))
    vehicle_speed: float = Field(default=5.0, gt=0)
    running_cadence: float = Field(default=120.0, gt=0)
    walking_cadence: float = Field(default=30.0, gt=0)
    stationary_speed: float = Field(default=0.5, ge=0)
    stationary_cadence: float = Field(default=5.0, ge=0)
    max_open_windows: int = Field(default=1440, ge=1)


@dataclass(frozen=True, slots=True)
class _Fix:
    seconds: float
    latitude: float
    longitude: float
    speed: float | None
    message_id: str


@dataclass(slots=True)
class _Window:
    start: float
    steps: int | None = None
    fixes: list[_Fix] = field(default_factory=list)
    motion_kinds: list[str] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Activity:
    """The classified activity of one device in one window."""

    device_id: str
    start: datetime
    end: datetime
    activity_type: str
    confidence: float
    motion_events_count: int
    step_count: int | None
    distance_meters: float | None
    avg_speed_ms: float | None
    max_speed_ms: float | None
    start_location: GeoPoint | None
    end_location: GeoPoint | None
    source_message_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Movement:
    distance: float | None
    average_speed: float | None
    max_speed: float | None


class ActivityTracker:
    """Classify the activity of one device in event-time windows."""

    def __init__(self, device_id: str, config: ActivityConfig | None = None) -> None:
        self.device_id = device_id
        self.config = config or ActivityConfig()
        self._window_seconds = self.config.window.total_seconds()
        self._lateness = self.config.lateness.total_seconds()
        self._windows: dict[int, _Window] = {}
        # Every window below this index has been classified.
        self._closed_below = -math.inf
        self.late_inputs = 0

    def add_steps(self, steps: DerivedSteps) -> list[Activity]:
        """Add one window of derived steps and return the windows it closed."""
        window = self._window_at(epoch_seconds(steps.window_start))
        if window is not None:
            window.steps = (window.steps or 0) + steps.step_count
            window.sources.add(steps.message_id)
        watermark = epoch_seconds(steps.window_end) - self._lateness
        return self._close(math.floor(watermark / self._window_seconds))

    def add_fix(self, fix: GPSReading) -> list[Activity]:
        """Add one GPS fix and return the windows closed to make room, if any."""
        seconds = epoch_seconds(fix.recorded_at)
        window = self._window_at(seconds)
        if window is not None:
            window.fixes.append(
                _Fix(seconds, fix.latitude, fix.longitude, fix.speed, fix.message_id)
            )
            window.sources.add(fix.message_id)
        return self._close_excess()

    def add_motion(self, event: SignificantMotion) -> list[Activity]:
        """Count one motion event in each open window it overlaps."""
        start = epoch_seconds(event.window_start)
        end = epoch_seconds(event.window_end)
        first = math.floor(start / self._window_seconds)
        last = max(first, math.ceil(end / self._window_seconds) - 1)
        for index in range(first, last + 1):
            window = self._window_at(index * self._window_seconds)
            if window is not None:
                window.motion_kinds.append(event.motion_type)
                window.sources.add(event.message_id)
        return self._close_excess()

    def flush(self) -> list[Activity]:
        """Classify and close every open window, as at the end of a stream."""
        if not self._windows:
            return []
        return self._close(max(self._windows) + 1)

    # -- windows ------------------------------------------------------------

    def _window_at(self, seconds: float) -> _Window | None:
        """Return the open window containing ``seconds``, or None when it is closed."""
        index = math.floor(seconds / self._window_seconds)
        if index < self._closed_below:
            self.late_inputs += 1
            if self.late_inputs == 1 or self.late_inputs % 1000 == 0:
                logger.info(
                    "activity of device %s: dropped %d input(s) for windows already "
                    "classified",
                    self.device_id,
                    self.late_inputs,
                )
            return None
        window = self._windows.get(index)
        if window is None:
            window = self._windows[index] = _Window(index * self._window_seconds)
        return window

    def _close(self, below: int) -> list[Activity]:
        """Classify every open window with an index below ``below``, oldest first."""
        if below <= self._closed_below:
            return []
        self._closed_below = below
        ready = sorted(index for index in self._windows if index < below)
        return [self._classify(self._windows.pop(index)) for index in ready]

    def _close_excess(self) -> list[Activity]:
        excess = len(self._windows) - self.config.max_open_windows
        if excess <= 0:
            return []
        # The oldest windows go first, as if their steps had arrived.
        boundary = sorted(self._windows)[excess]
        return self._close(boundary)

    def _classify(self, window: _Window) -> Activity:
        fixes = sorted(window.fixes, key=lambda fix: (fix.seconds, fix.message_id))
        movement = _movement(fixes)
        minutes = self._window_seconds / 60.0
        cadence = None if window.steps is None else window.steps / minutes
        activity_type, confidence = classify(
            self.config, cadence, movement.average_speed, window.motion_kinds
        )
        return Activity(
            device_id=self.device_id,
            start=utc_from_epoch(window.start),
            end=utc_from_epoch(window.start + self._window_seconds),
            activity_type=activity_type,
            confidence=confidence,
            motion_events_count=len(window.motion_kinds),
            step_count=window.steps,
            distance_meters=movement.distance,
            avg_speed_ms=movement.average_speed,
            max_speed_ms=movement.max_speed,
            start_location=_point(fixes[0]) if fixes else None,
            end_location=_point(fixes[-1]) if fixes else None,
            source_message_ids=tuple(sorted(window.sources)),
        )


def classify(
    config: ActivityConfig,
    cadence: float | None,
    speed: float | None,
    motion_kinds: list[str],
) -> tuple[str, float]:
    """Return the activity type and confidence of one window.

    ``cadence`` is steps per minute and ``speed`` the mean GPS speed in m/s,
    each None when the window has no such input.
    """
    if speed is not None and speed > config.vehicle_speed:
        if cadence is not None and cadence >= _CYCLING_CADENCE:
            return "cycling", 0.7
        return "vehicle", 0.9
    if cadence is not None and cadence > config.running_cadence:
        return "running", 0.8
    if cadence is not None and cadence > config.walking_cadence:
        return "walking", 0.9

    slow = speed is None or speed < config.stationary_speed
    few_steps = cadence is None or cadence < config.stationary_cadence
    has_data = speed is not None or cadence is not None
    if has_data and slow and few_steps and not motion_kinds:
        return "stationary", 0.8
    if motion_kinds:
        # The most frequent kind wins. On a tie the name that sorts first wins.
        kind = max(sorted(set(motion_kinds)), key=motion_kinds.count)
        if kind in ("walking", "running", "vehicle"):
            return kind, 0.6
    return "unknown", 0.5


def _movement(fixes: list[_Fix]) -> _Movement:
    """Return distance and speeds of time-ordered fixes.

    Reported speeds are preferred. Without them the speed of each segment
    between consecutive fixes is used.
    """
    pairs = list(itertools.pairwise(fixes))
    distances = [
        haversine_distance(a.latitude, a.longitude, b.latitude, b.longitude)
        for a, b in pairs
    ]
    distance = sum(distances) if distances else None
    reported = [fix.speed for fix in fixes if fix.speed is not None]
    if reported:
        return _Movement(distance, sum(reported) / len(reported), max(reported))

    segment_speeds = [
        meters / (b.seconds - a.seconds)
        for meters, (a, b) in zip(distances, pairs, strict=True)
        if b.seconds > a.seconds
    ]
    if not segment_speeds:
        return _Movement(distance, None, None)
    elapsed = fixes[-1].seconds - fixes[0].seconds
    average = (distance or 0.0) / elapsed
    return _Movement(distance, average, max(segment_speeds))


def _point(fix: _Fix) -> GeoPoint:
    return GeoPoint(latitude=fix.latitude, longitude=fix.longitude)
