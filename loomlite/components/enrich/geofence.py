"""Per-device geofence enter and exit events on event time.

Regions are circles (name, centre, radius in metres) from configuration. For
each region a GeofenceTracker runs a small state machine over a device's GPS
fixes, in ``recorded_at`` order (see ReorderBuffer):

- outside, a fix within ``radius_m`` of the centre starts an entry. The entry
  is confirmed when fixes stay within the radius for ``min_dwell``. A fix
  outside the radius before then cancels it;
- inside, a fix farther than ``radius_m + exit_margin_m`` starts an exit,
  which is confirmed when fixes stay beyond that distance for ``min_dwell``.
  A fix back within it cancels the exit.

The margin (hysteresis) and the dwell keep GPS noise near the boundary from
producing enter/exit pairs. Phones send fixes through a distance filter, so
a device that stays put sends none: with ``silence_confirms`` a pending
transition is also confirmed when the next fix arrives ``min_dwell`` or more
after the last qualifying one. An event's ``recorded_at`` is the time of the
first fix of the confirmed run, and ``confirmed_at`` the time of the fix
that completed the dwell. Fixes whose reported ``accuracy`` is worse than
``max_accuracy_m`` are ignored, and so are fixes with a non-finite or
out-of-range latitude or longitude.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loomlite.components.enrich.geo import haversine_distance
from loomlite.components.enrich.reorder import (
    ReorderBuffer,
    ReorderStatistics,
    epoch_seconds,
    utc_from_epoch,
)
from loomlite.errors import ConfigurationError

__all__ = [
    "GeofenceConfig",
    "GeofenceEvent",
    "GeofenceRegion",
    "GeofenceTracker",
    "GeofenceTrackerStatistics",
    "GpsFix",
    "Transition",
    "load_regions",
]

logger = logging.getLogger(__name__)


class GpsFix(Protocol):
    """A GPS fix: event time, degrees, and the 68 % error radius in metres."""

    @property
    def recorded_at(self) -> datetime: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...
    @property
    def accuracy(self) -> float | None: ...


class GeofenceRegion(BaseModel):
    """A circular region: a unique name, its centre in degrees, its radius in metres."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0)


class GeofenceConfig(BaseModel):
    """Settings of a GeofenceTracker, with distances in metres."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exit_margin_m: float = Field(default=25.0, ge=0)
    min_dwell: timedelta = Field(default=timedelta(seconds=30), ge=timedelta(0))
    max_accuracy_m: float = Field(default=100.0, gt=0)
    lateness: timedelta = Field(default=timedelta(seconds=30), ge=timedelta(0))
    silence_confirms: bool = Field(
        default=True,
        description=(
            "Confirm a pending transition when the next fix comes min_dwell or "
            "more after the last qualifying one, wherever it lies: phones send "
            "fixes through a distance filter, so silence means no movement."
        ),
    )


class Transition(enum.StrEnum):
    """The direction of a geofence event."""

    ENTER = "enter"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class GeofenceEvent:
    """A confirmed entry into or exit from one region by one device.

    ``distance_m`` is the distance of the first fix of the run from the
    region's centre.
    """

    device_id: str
    region: str
    transition: Transition
    recorded_at: datetime
    confirmed_at: datetime
    latitude: float
    longitude: float
    distance_m: float


@dataclass(frozen=True, slots=True)
class GeofenceTrackerStatistics:
    """Counters of one GeofenceTracker."""

    fixes: ReorderStatistics
    invalid_fixes: int
    inaccurate_fixes: int
    events: int
    cancelled_transitions: int


def load_regions(
    items: Iterable[Mapping[str, Any]], *, source: str | None = None
) -> tuple[GeofenceRegion, ...]:
    """Validate region tables from configuration and return the regions.

    Raises ConfigurationError naming the key (such as ``regions[2].radius_m``)
    and ``source`` for an invalid field or a repeated name.
    """
    regions: list[GeofenceRegion] = []
    for index, item in enumerate(items):
        try:
            region = GeofenceRegion.model_validate(item)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            key = f"regions[{index}].{field}" if field else f"regions[{index}]"
            raise ConfigurationError(
                f"invalid geofence region at {key}: {first['msg']} "
                f"(got {first.get('input')!r})",
                key=key,
                source=source,
            ) from error
        regions.append(region)

    names = [region.name for region in regions]
    for index, name in enumerate(names):
        if name in names[:index]:
            key = f"regions[{index}].name"
            raise ConfigurationError(
                f"geofence region name {name!r} at {key} is already used; "
                "give each region a unique name",
                key=key,
                source=source,
            )
    return tuple(regions)


class _State(enum.Enum):
    OUTSIDE = "outside"
    ENTERING = "entering"
    INSIDE = "inside"
    EXITING = "exiting"


@dataclass(slots=True)
class _Candidate:
    seconds: float
    latitude: float
    longitude: float
    distance: float


@dataclass(slots=True)
class _RegionState:
    region: GeofenceRegion
    state: _State = _State.OUTSIDE
    candidate: _Candidate | None = None
    last_qualifying: float | None = None  # seconds of the candidate's latest fix


@dataclass(frozen=True, slots=True)
class _Fix:
    seconds: float
    latitude: float
    longitude: float


class GeofenceTracker:
    """Track one device's presence in each configured region."""

    def __init__(
        self,
        device_id: str,
        regions: Sequence[GeofenceRegion],
        config: GeofenceConfig | None = None,
    ) -> None:
        self.device_id = device_id
        self.config = config or GeofenceConfig()
        self._states = [_RegionState(region) for region in regions]
        self._buffer: ReorderBuffer[_Fix] = ReorderBuffer(
            self.config.lateness, name=f"geofence tracker {device_id!r}"
        )
        self._dwell = self.config.min_dwell.total_seconds()
        self._inaccurate = 0
        self._invalid = 0
        self._events = 0
        self._cancelled = 0

    def inside(self) -> tuple[str, ...]:
        """Return the names of the regions the device is confirmed to be in.

        A region whose exit has started but is not confirmed still counts.
        """
        return tuple(
            state.region.name
            for state in self._states
            if state.state in (_State.INSIDE, _State.EXITING)
        )

    def add(self, fix: GpsFix) -> list[GeofenceEvent]:
        """Accept one fix and return the events it confirmed, in time order."""
        if not _valid_position(fix.latitude, fix.longitude):
            self._invalid += 1
            if self._invalid == 1 or self._invalid % 1000 == 0:
                logger.warning(
                    "skipped %d GPS fix(es) with an invalid position in geofence "
                    "tracker %r; the last was (%r, %r)",
                    self._invalid,
                    self.device_id,
                    fix.latitude,
                    fix.longitude,
                )
            return []
        if fix.accuracy is not None and fix.accuracy > self.config.max_accuracy_m:
            self._inaccurate += 1
            return []
        seconds = epoch_seconds(fix.recorded_at)
        item = _Fix(seconds, fix.latitude, fix.longitude)
        ready = self._buffer.push(seconds, (fix.latitude, fix.longitude), item)
        return self._process(ready)

    def extend(self, fixes: Iterable[GpsFix]) -> list[GeofenceEvent]:
        """Accept many fixes, in arrival order, and return the confirmed events."""
        events: list[GeofenceEvent] = []
        for fix in fixes:
            events += self.add(fix)
        return events

    def flush(self) -> list[GeofenceEvent]:
        """Process every buffered fix, as at the end of a stream.

        A transition whose dwell is not complete stays pending and is not
        emitted.
        """
        return self._process(self._buffer.flush())

    def statistics(self) -> GeofenceTrackerStatistics:
        """Return a snapshot of the counters."""
        return GeofenceTrackerStatistics(
            fixes=self._buffer.statistics(),
            invalid_fixes=self._invalid,
            inaccurate_fixes=self._inaccurate,
            events=self._events,
            cancelled_transitions=self._cancelled,
        )

    # -- state machine -------------------------------------------------------

    def _process(self, fixes: list[_Fix]) -> list[GeofenceEvent]:
        events = []
        for fix in fixes:
            for state in self._states:
                silent = self._confirm_by_silence(state, fix)
                if silent is not None:
                    events.append(silent)
                event = self._step(state, fix)
                if event is not None:
                    events.append(event)
        return events

    def _confirm_by_silence(
        self, state: _RegionState, fix: _Fix
    ) -> GeofenceEvent | None:
        """Confirm a pending transition whose device sent no fix for min_dwell.

        The confirmed state then meets ``fix`` as usual, so a fix outside a
        region just entered starts its exit.
        """
        if not self.config.silence_confirms or state.candidate is None:
            return None
        if state.last_qualifying is None:
            return None
        if fix.seconds - state.last_qualifying < self._dwell:
            return None
        transition = (
            Transition.ENTER if state.state is _State.ENTERING else Transition.EXIT
        )
        last = _Fix(state.last_qualifying, fix.latitude, fix.longitude)
        return self._confirm(state, last, transition)

    def _step(self, state: _RegionState, fix: _Fix) -> GeofenceEvent | None:
        region = state.region
        distance = haversine_distance(
            region.latitude, region.longitude, fix.latitude, fix.longitude
        )
        if state.state in (_State.OUTSIDE, _State.ENTERING):
            qualifies = distance <= region.radius_m
            return self._advance(state, fix, distance, qualifies, Transition.ENTER)

        qualifies = distance > region.radius_m + self.config.exit_margin_m
        return self._advance(state, fix, distance, qualifies, Transition.EXIT)

    def _advance(
        self,
        state: _RegionState,
        fix: _Fix,
        distance: float,
        qualifies: bool,
        transition: Transition,
    ) -> GeofenceEvent | None:
        settled, pending = _STATES[transition]
        if not qualifies:
            if state.state is pending:
                self._cancelled += 1
            state.state = settled
            state.candidate = None
            state.last_qualifying = None
            return None

        if state.candidate is None:
            state.candidate = _Candidate(
                fix.seconds, fix.latitude, fix.longitude, distance
            )
            state.state = pending
        state.last_qualifying = fix.seconds
        if fix.seconds - state.candidate.seconds < self._dwell:
            return None
        return self._confirm(state, fix, transition)

    def _confirm(
        self, state: _RegionState, fix: _Fix, transition: Transition
    ) -> GeofenceEvent:
        candidate = state.candidate
        assert candidate is not None
        state.candidate = None
        state.last_qualifying = None
        state.state = (
            _State.INSIDE if transition is Transition.ENTER else _State.OUTSIDE
        )
        self._events += 1
        event = GeofenceEvent(
            device_id=self.device_id,
            region=state.region.name,
            transition=transition,
            recorded_at=utc_from_epoch(candidate.seconds),
            confirmed_at=utc_from_epoch(fix.seconds),
            latitude=candidate.latitude,
            longitude=candidate.longitude,
            distance_m=candidate.distance,
        )
        logger.debug(
            "%s %s region %r at %s",
            self.device_id,
            transition.value,
            state.region.name,
            event.recorded_at,
        )
        return event


def _valid_position(latitude: float, longitude: float) -> bool:
    return -90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0


# For each transition: the state it leaves and the state while it is pending.
_STATES = {
    Transition.ENTER: (_State.OUTSIDE, _State.ENTERING),
    Transition.EXIT: (_State.INSIDE, _State.EXITING),
}
