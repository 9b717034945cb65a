"""Play back a timed track: position, speed and heading at any instant.

A Track is built from points with non-decreasing times (see
``simulators.gpx.timed_points``). Between two points the position is
interpolated linearly and the speed is the segment's distance over its
duration. Visits insert a stay of a given length at chosen points and shift
everything after them, and the Track records when each stay begins and ends
so that geofence tests have ground truth.

``sample_fixes`` turns a track into GPS fixes with Gaussian position noise.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from loomlite.components.enrich.geo import (
    destination_point,
    haversine_distance,
    initial_bearing,
    interpolate,
)
from simulators.gpx import GpxFile, GpxPoint, timed_points

__all__ = [
    "Position",
    "Track",
    "Visit",
    "VisitTruth",
    "sample_fixes",
]

logger = logging.getLogger(__name__)

# Ratio of the 68 % horizontal error radius to the standard deviation of a
# circular 2-D Gaussian: sqrt(-2 ln(1 - 0.68)). Phones report ``accuracy`` as
# that radius.
_ACCURACY_PER_SIGMA = math.sqrt(-2.0 * math.log(1.0 - 0.68))


@dataclass(frozen=True, slots=True)
class Position:
    """A position on a track, with the field names of a GPS message.

    Units: degrees, metres above sea level, metres per second, and degrees
    clockwise from true north. ``heading`` is None while standing still and
    ``accuracy`` (68 % error radius in metres) is None for a noiseless position.
    """

    recorded_at: datetime
    latitude: float
    longitude: float
    altitude: float | None
    speed: float
    heading: float | None
    accuracy: float | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """A request to stay ``dwell`` at the track point with index ``point_index``."""

    name: str
    point_index: int
    dwell: timedelta


@dataclass(frozen=True, slots=True)
class VisitTruth:
    """Ground truth of one visit: its place and its times on the played-back track."""

    name: str
    latitude: float
    longitude: float
    arrival: datetime
    departure: datetime


@dataclass(frozen=True, slots=True)
class _Timed:
    seconds: float
    latitude: float
    longitude: float
    altitude: float | None


class Track:
    """A timed sequence of positions that can be sampled at any instant."""

    def __init__(
        self, points: Sequence[GpxPoint], visits: Sequence[Visit] = ()
    ) -> None:
        """Build a track from ``points`` and insert the stays given by ``visits``.

        Every point needs a time, and times must not decrease. Raises
        ValueError otherwise, or when a visit's index is out of range, its
        dwell is negative, or two visits share an index or a name.
        """
        if not points:
            raise ValueError("a track needs at least one point")
        self._check_times(points)
        self._check_visits(visits, len(points))

        self._origin = self._first_time(points)
        self._input_coordinates = [
            (point.latitude, point.longitude) for point in points
        ]
        self._points, self.visits = self._insert_visits(points, visits)
        self._seconds = [point.seconds for point in self._points]

    @classmethod
    def from_gpx(
        cls,
        gpx: GpxFile,
        *,
        start: datetime,
        speed_mps: float,
        visits: Sequence[Visit] = (),
    ) -> Track:
        """Build a track from every track point of ``gpx``, starting at ``start``.

        Recorded times are kept when they are usable. Otherwise the points are
        re-timed at ``speed_mps`` (see ``simulators.gpx.timed_points``).
        """
        return cls(timed_points(gpx, start=start, speed_mps=speed_mps), visits)

    # -- queries ---------------------------------------------------------------

    @property
    def start(self) -> datetime:
        """The time of the first point."""
        return self._at(self._seconds[0])

    @property
    def end(self) -> datetime:
        """The time of the last point, including every visit's dwell."""
        return self._at(self._seconds[-1])

    @property
    def length_m(self) -> float:
        """The distance along the track in metres."""
        return sum(
            _distance(first, second)
            for first, second in itertools.pairwise(self._points)
        )

    def position_at(self, moment: datetime) -> Position:
        """Return the interpolated position at ``moment``.

        Before the start the track stays at its first point and after the end
        at its last point, both with speed 0.
        """
        seconds = (moment - self._origin).total_seconds()
        if seconds <= self._seconds[0]:
            return self._standing(self._points[0], moment)
        if seconds >= self._seconds[-1]:
            return self._standing(self._points[-1], moment)

        # The segment [index - 1, index] contains ``seconds``; equal times
        # (repeated points) resolve to the last of them.
        index = bisect.bisect_right(self._seconds, seconds)
        first = self._points[index - 1]
        second = self._points[index]
        duration = second.seconds - first.seconds
        fraction = (seconds - first.seconds) / duration
        return self._moving(first, second, fraction, moment)

    def nearest_index(self, latitude: float, longitude: float) -> int:
        """Return the index of the input point closest to the given position."""
        distances = [
            haversine_distance(latitude, longitude, point_latitude, point_longitude)
            for point_latitude, point_longitude in self._input_coordinates
        ]
        return distances.index(min(distances))

    # -- construction helpers --------------------------------------------------

    @staticmethod
    def _check_times(points: Sequence[GpxPoint]) -> None:
        for index, point in enumerate(points):
            if point.time is None:
                raise ValueError(
                    f"track point {index} has no time; build the track with "
                    "Track.from_gpx or simulators.gpx.retime"
                )
            previous = points[index - 1].time if index else None
            if previous is not None and point.time < previous:
                raise ValueError(
                    f"track point {index} at {point.time.isoformat()} is earlier "
                    f"than point {index - 1} at {previous.isoformat()}; "
                    "re-time the track with simulators.gpx.retime"
                )

    @staticmethod
    def _check_visits(visits: Sequence[Visit], point_count: int) -> None:
        indices = [visit.point_index for visit in visits]
        names = [visit.name for visit in visits]
        for visit in visits:
            if not 0 <= visit.point_index < point_count:
                raise ValueError(
                    f"visit {visit.name!r} has point_index {visit.point_index}, "
                    f"expected 0 to {point_count - 1}"
                )
            if visit.dwell < timedelta(0):
                raise ValueError(
                    f"visit {visit.name!r} has a negative dwell {visit.dwell!r}"
                )
        if len(set(indices)) != len(indices):
            raise ValueError(f"two visits share a point index: {sorted(indices)}")
        if len(set(names)) != len(names):
            raise ValueError(f"two visits share a name: {sorted(names)}")

    @staticmethod
    def _first_time(points: Sequence[GpxPoint]) -> datetime:
        first = points[0].time
        assert first is not None
        return first.astimezone(UTC)

    def _insert_visits(
        self, points: Sequence[GpxPoint], visits: Sequence[Visit]
    ) -> tuple[list[_Timed], tuple[VisitTruth, ...]]:
        dwell_by_index = {visit.point_index: visit for visit in visits}
        timed: list[_Timed] = []
        truths: list[VisitTruth] = []
        shift = 0.0
        for index, point in enumerate(points):
            assert point.time is not None
            seconds = (point.time - self._origin).total_seconds() + shift
            timed.append(
                _Timed(seconds, point.latitude, point.longitude, point.elevation)
            )

            visit = dwell_by_index.get(index)
            if visit is None:
                continue
            dwell = visit.dwell.total_seconds()
            shift += dwell
            timed.append(
                _Timed(
                    seconds + dwell, point.latitude, point.longitude, point.elevation
                )
            )
            truths.append(
                VisitTruth(
                    name=visit.name,
                    latitude=point.latitude,
                    longitude=point.longitude,
                    arrival=self._at(seconds),
                    departure=self._at(seconds + dwell),
                )
            )
        return timed, tuple(truths)

    # -- positions -------------------------------------------------------------

    def _at(self, seconds: float) -> datetime:
        return self._origin + timedelta(seconds=seconds)

    @staticmethod
    def _standing(point: _Timed, moment: datetime) -> Position:
        return Position(
            recorded_at=moment,
            latitude=point.latitude,
            longitude=point.longitude,
            altitude=point.altitude,
            speed=0.0,
            heading=None,
        )

    @staticmethod
    def _moving(
        first: _Timed, second: _Timed, fraction: float, moment: datetime
    ) -> Position:
        latitude, longitude = interpolate(
            first.latitude, first.longitude, second.latitude, second.longitude, fraction
        )
        distance = _distance(first, second)
        speed = distance / (second.seconds - first.seconds)
        heading = None
        if distance > 0:
            heading = initial_bearing(
                first.latitude, first.longitude, second.latitude, second.longitude
            )
        return Position(
            recorded_at=moment,
            latitude=latitude,
            longitude=longitude,
            altitude=_interpolate_altitude(first, second, fraction),
            speed=speed,
            heading=heading,
        )


def _distance(first: _Timed, second: _Timed) -> float:
    return haversine_distance(
        first.latitude, first.longitude, second.latitude, second.longitude
    )


def _interpolate_altitude(
    first: _Timed, second: _Timed, fraction: float
) -> float | None:
    if first.altitude is None or second.altitude is None:
        return first.altitude if fraction < 0.5 else second.altitude
    return first.altitude + (second.altitude - first.altitude) * fraction


def sample_fixes(
    track: Track,
    *,
    interval: timedelta,
    noise_m: float = 0.0,
    seed: int = 0,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Position]:
    """Sample GPS fixes from ``track`` every ``interval`` from ``start`` to ``end``.

    ``start`` and ``end`` default to the track's. Each fix is displaced by
    independent Gaussian noise with standard deviation ``noise_m`` metres
    east and north, seeded by ``seed``, and reports ``accuracy`` as the 68 %
    error radius of that noise (about 1.51 times ``noise_m``).
    """
    if interval <= timedelta(0):
        raise ValueError(f"interval must be positive, got {interval!r}")
    if not (math.isfinite(noise_m) and noise_m >= 0):
        raise ValueError(f"noise_m must be a non-negative number, got {noise_m!r}")

    first = track.start if start is None else start
    last = track.end if end is None else end
    count = int((last - first) / interval) + 1
    generator = np.random.default_rng(seed)
    offsets = generator.normal(0.0, noise_m, size=(max(count, 0), 2))

    fixes = []
    for index in range(max(count, 0)):
        exact = track.position_at(first + index * interval)
        fixes.append(_displace(exact, offsets[index, 0], offsets[index, 1], noise_m))
    return fixes


def _displace(
    position: Position, east: float, north: float, noise_m: float
) -> Position:
    if noise_m == 0:
        return position
    distance = math.hypot(east, north)
    bearing = math.degrees(math.atan2(east, north))
    latitude, longitude = destination_point(
        position.latitude, position.longitude, bearing, distance
    )
    return Position(
        recorded_at=position.recorded_at,
        latitude=latitude,
        longitude=longitude,
        altitude=position.altitude,
        speed=position.speed,
        heading=position.heading,
        accuracy=_ACCURACY_PER_SIGMA * noise_m,
    )
