"""A seeded day in the life of a phone's owner, and the regions they visit.

Each simulated day starts at the scenario's start plus whole days. With the
times jittered per seed, a day runs:

1. night at home, the phone charging, until waking at 06:30 to 07:15;
2. a morning walk on the Mojstrovka GPX track, re-timed at walking pace,
   with stays at a viewpoint, the summit and a mountain hut;
3. 40 to 80 minutes at home, then a drive to Istria;
4. the Višnjan GPX track, re-timed at driving speed, with a stay at the
   office halfway round until 16:30 to 17:30;
5. the rest of the track, the drive home and the evening at home, charging
   from bedtime (22:30 to 23:30).

Home is the walk's first point. The two tracks lie 129 km apart, so two
drives at highway speed connect them and keep positions continuous.
NOTE: those drives follow a straight line, not roads.

``PhoneScenario(walk_track=path)`` replaces the Mojstrovka walk with another
GPX file (the profile setting ``[simulators.phone] track``). Its recorded
times are ignored, because the walk is re-timed at walking pace like the
bundled one, so a track with constant, missing or backwards times plays back
the same.
Home moves to its first point, and the viewpoint, summit and hut stays sit
at the same fractions of its points as on Mojstrovka. A stay whose region
would overlap home, the office or an earlier stay is left out, so on a short
track the walk may have no stay, and the hut's conversation then starts when
the walk ends.

``PhoneScenario.regions`` lists the geofences (home, viewpoint, summit,
mountain-hut, office) for a profile's georegion settings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from loomlite.components.enrich.geo import haversine_distance
from simulators.gpx import (
    DRIVING_SPEED_MPS,
    WALKING_SPEED_MPS,
    GpxPoint,
    bundled_track_path,
    read_gpx,
    retime,
)
from simulators.ids import derive_rng
from simulators.media import Conversation
from simulators.places import (
    BluetoothDevice,
    Region,
    RegionCrossing,
    WifiNetwork,
    region_crossings,
)
from simulators.routine import (
    AppUse,
    Notification,
    ScreenSession,
    plan_conversation,
    plan_notifications,
    plan_screen_sessions,
)
from simulators.track import Position, Track, Visit, VisitTruth

__all__ = [
    "CAR_TRACK",
    "HIGHWAY_SPEED_MPS",
    "WALK_TRACK",
    "Activity",
    "DayPlan",
    "Leg",
    "PhoneScenario",
]

logger = logging.getLogger(__name__)

WALK_TRACK = "Mojstrovka.gpx"
CAR_TRACK = "around-visnjan-with-car.gpx"

HIGHWAY_SPEED_MPS = 25.0
"""Speed of the drives between the two tracks (90 km/h), in metres per second."""

DAY = timedelta(days=1)

Activity = Literal["sleeping", "still", "walking", "driving"]
LegKind = Literal["walking", "driving"]


@dataclass(frozen=True, slots=True)
class _RegionSpec:
    name: str
    track: str
    point_index: int
    radius_m: float
    dwell_minutes: tuple[float, float] | None = None


# The walk passes the hut's region on the way up and stays there on the way
# down. On the way down it also passes the viewpoint's region again.
_REGIONS = (
    _RegionSpec("home", WALK_TRACK, 0, 80.0),
    _RegionSpec("viewpoint", WALK_TRACK, 24, 40.0, (4.0, 8.0)),
    _RegionSpec("summit", WALK_TRACK, 56, 40.0, (12.0, 25.0)),
    _RegionSpec("mountain-hut", WALK_TRACK, 136, 40.0, (20.0, 35.0)),
    _RegionSpec("office", CAR_TRACK, 48, 60.0),
)
_WIFI_REGIONS = {
    "home": ("Home-2G", "192.168.1.23"),
    "mountain-hut": ("Koca-Guest", "10.0.0.57"),
    "office": ("Office-5G", "172.16.4.112"),
}


@cache
def _track_points(name: str) -> tuple[GpxPoint, ...]:
    return read_gpx(bundled_track_path(name)).track_points()


@dataclass(frozen=True, slots=True)
class _Walk:
    """The morning walk's points and its stays, indexed into those points."""

    points: tuple[GpxPoint, ...]
    stays: tuple[_RegionSpec, ...]


def _bundled_walk() -> _Walk:
    stays = tuple(
        spec
        for spec in _REGIONS
        if spec.track == WALK_TRACK and spec.dwell_minutes is not None
    )
    return _Walk(_track_points(WALK_TRACK), stays)


def _walk_from_file(path: Path) -> _Walk:
    """Read a walk from the GPX file at ``path``, placing the bundled walk's
    stays at the same fractions of its points.

    Raises GpxError naming the file when it cannot be read, is not GPX, or
    has no usable track point.
    """
    points = read_gpx(path).track_points()
    bundled = _bundled_walk()
    scale = (len(points) - 1) / (len(bundled.points) - 1)
    home = next(spec for spec in _REGIONS if spec.name == "home")
    office = next(spec for spec in _REGIONS if spec.name == "office")
    placed = [
        (points[0], home.radius_m),
        (_track_points(CAR_TRACK)[office.point_index], office.radius_m),
    ]
    stays = []
    for spec in bundled.stays:
        index = round(spec.point_index * scale)
        point = points[index]
        # Ground truth and region_at expect at most one region at a time.
        if any(_distance(point, other) < spec.radius_m + r for other, r in placed):
            logger.info(
                "%s: left out the %s stay, whose region would overlap another",
                path,
                spec.name,
            )
            continue
        placed.append((point, spec.radius_m))
        stays.append(replace(spec, track=str(path), point_index=index))
    return _Walk(points, tuple(stays))


def _distance(first: GpxPoint, second: GpxPoint) -> float:
    return haversine_distance(
        first.latitude, first.longitude, second.latitude, second.longitude
    )


def _build_regions(walk: _Walk) -> tuple[Region, ...]:
    home = next(spec for spec in _REGIONS if spec.name == "home")
    office = next(spec for spec in _REGIONS if spec.name == "office")
    placed = [
        (home, walk.points[0]),
        *((spec, walk.points[spec.point_index]) for spec in walk.stays),
        (office, _track_points(CAR_TRACK)[office.point_index]),
    ]
    return tuple(
        Region(spec.name, point.latitude, point.longitude, spec.radius_m)
        for spec, point in placed
    )


@dataclass(frozen=True, slots=True, eq=False)
class Leg:
    """A stretch of the day on a track; the track's visits are stays on it."""

    name: str
    kind: LegKind
    track: Track
    speed_mps: float

    @property
    def start(self) -> datetime:
        return self.track.start

    @property
    def end(self) -> datetime:
        return self.track.end

    def moving_intervals(self) -> list[tuple[datetime, datetime]]:
        """Return the intervals of the leg spent moving, outside every stay."""
        intervals = []
        moment = self.start
        for visit in self.track.visits:
            if visit.arrival > moment:
                intervals.append((moment, visit.arrival))
            moment = visit.departure
        if self.end > moment:
            intervals.append((moment, self.end))
        return intervals


@dataclass(frozen=True, slots=True, eq=False)
class DayPlan:
    """One simulated day from ``start`` to ``end``: movement and routine."""

    index: int
    start: datetime
    end: datetime
    wake: datetime
    bedtime: datetime
    legs: tuple[Leg, ...]
    crossings: tuple[RegionCrossing, ...]
    screen_sessions: tuple[ScreenSession, ...]
    notifications: tuple[Notification, ...]
    conversations: tuple[Conversation, ...]

    @property
    def stays(self) -> tuple[VisitTruth, ...]:
        """The planned stays at named places along the legs, in time order."""
        return tuple(visit for leg in self.legs for visit in leg.track.visits)

    def leg(self, name: str) -> Leg:
        """Return the leg called ``name``; raises KeyError for an unknown one."""
        for leg in self.legs:
            if leg.name == name:
                return leg
        raise KeyError(f"no leg {name!r}; legs: {[leg.name for leg in self.legs]}")

    def position_at(self, moment: datetime) -> Position:
        """Return the exact position at ``moment`` (speed 0 between legs)."""
        current = self.legs[0]
        for leg in self.legs:
            if leg.start <= moment:
                current = leg
        return current.track.position_at(moment)

    def activity_at(self, moment: datetime) -> Activity:
        if moment < self.wake or moment >= self.bedtime:
            return "sleeping"
        for leg in self.legs:
            for start, end in leg.moving_intervals():
                if start <= moment < end:
                    return leg.kind
        return "still"

    def intervals_of(self, kind: LegKind) -> list[tuple[datetime, datetime]]:
        """Return the moving intervals of every leg of ``kind``."""
        return [
            interval
            for leg in self.legs
            if leg.kind == kind
            for interval in leg.moving_intervals()
        ]

    def is_charging(self, moment: datetime) -> bool:
        return moment < self.wake or moment >= self.bedtime

    def screen_session_at(self, moment: datetime) -> ScreenSession | None:
        for session in self.screen_sessions:
            if session.start <= moment < session.end:
                return session
        return None

    def app_at(self, moment: datetime) -> AppUse | None:
        """Return the app in the foreground at ``moment``, if the screen is on."""
        session = self.screen_session_at(moment)
        if session is None:
            return None
        for use in session.apps:
            if use.start <= moment < use.end:
                return use
        return None


class PhoneScenario:
    """The owner's days from ``start`` on, built lazily and cached.

    ``walk_track`` is a GPX file for the morning walk in place of the bundled
    Mojstrovka track. Raises GpxError naming the file when it cannot be read
    or has no usable track point.
    """

    def __init__(
        self,
        start: datetime,
        *,
        seed: int = 0,
        walk_track: str | Path | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError(f"start must be timezone-aware, got naive {start!r}")
        self.start = start.astimezone(UTC)
        self.seed = seed
        if walk_track is None:
            self._walk = _bundled_walk()
        else:
            self._walk = _walk_from_file(Path(walk_track))
        self.regions = _build_regions(self._walk)
        self.wifi_networks = self._build_networks()
        self.fixed_devices = self._build_fixed_devices()
        self._days: dict[int, DayPlan] = {}

    # -- days ---------------------------------------------------------------------

    def day(self, index: int) -> DayPlan:
        """Return day ``index`` (0 is the day that begins at ``start``)."""
        if index < 0:
            raise ValueError(f"day index must not be negative, got {index!r}")
        plan = self._days.get(index)
        if plan is None:
            plan = _plan_day(
                self.start + index * DAY, index, self.seed, self.regions, self._walk
            )
            # Keep a few days: sources read the current one and the next.
            if len(self._days) >= 3:
                del self._days[min(self._days)]
            self._days[index] = plan
        return plan

    def day_index(self, moment: datetime) -> int:
        """Return the index of the day containing ``moment`` (0 before start)."""
        return max(0, (moment - self.start) // DAY)

    def day_at(self, moment: datetime) -> DayPlan:
        return self.day(self.day_index(moment))

    # -- state at an instant ------------------------------------------------------

    def position_at(self, moment: datetime) -> Position:
        return self.day_at(moment).position_at(moment)

    def activity_at(self, moment: datetime) -> Activity:
        return self.day_at(moment).activity_at(moment)

    def region_at(self, moment: datetime) -> str | None:
        """Return the region that contains the exact position, if any.

        The regions do not overlap, so at most one contains it.
        """
        position = self.position_at(moment)
        for region in self.regions:
            if region.contains(position.latitude, position.longitude):
                return region.name
        return None

    def wifi_at(self, moment: datetime) -> WifiNetwork | None:
        """Return the network the phone is joined to: one per Wi-Fi region."""
        region = self.region_at(moment)
        return None if region is None else self.wifi_networks.get(region)

    def bluetooth_at(self, moment: datetime) -> list[BluetoothDevice]:
        """Return the owner's own Bluetooth devices in range at ``moment``."""
        visible = [self.fixed_devices["watch"]]
        if self.activity_at(moment) == "driving":
            visible.append(self.fixed_devices["car-kit"])
        region = self.region_at(moment)
        if region == "home":
            visible += [self.fixed_devices["speaker"], self.fixed_devices["tv"]]
        elif region == "office":
            visible.append(self.fixed_devices["keyboard"])
        return visible

    def is_charging(self, moment: datetime) -> bool:
        return self.day_at(moment).is_charging(moment)

    def regions_config(self) -> list[dict[str, Any]]:
        """Return the geofences as a profile's list of region tables."""
        return [region.to_dict() for region in self.regions]

    # -- construction -------------------------------------------------------------

    def _build_networks(self) -> dict[str, WifiNetwork]:
        networks = {}
        for region, (ssid, address) in _WIFI_REGIONS.items():
            octets = derive_rng(self.seed, "bssid", region).bytes(6)
            bssid = ":".join(f"{octet:02x}" for octet in octets)
            networks[region] = WifiNetwork(ssid, bssid, address)
        return networks

    def _build_fixed_devices(self) -> dict[str, BluetoothDevice]:
        specs = {
            "watch": ("Watch", "watch", True),
            "car-kit": ("Car kit", "car_audio", True),
            "speaker": ("Living room speaker", "speaker", False),
            "tv": ("TV", "tv", False),
            "keyboard": ("Office keyboard", "keyboard", False),
        }
        devices = {}
        for key, (name, kind, connected) in specs.items():
            octets = derive_rng(self.seed, "bluetooth", key).bytes(6)
            address = ":".join(f"{octet:02X}" for octet in octets)
            devices[key] = BluetoothDevice(name, address, kind, True, connected)
        return devices


# -- planning one day -----------------------------------------------------------


def _minutes(value: float) -> timedelta:
    return timedelta(minutes=float(value))


def _plan_day(
    day_start: datetime,
    index: int,
    seed: int,
    regions: Sequence[Region],
    walk_track: _Walk,
) -> DayPlan:
    random = derive_rng(seed, "scenario", "day", index)
    wake = day_start + timedelta(hours=6, minutes=30) + _minutes(random.uniform(0, 45))
    walk = _walk_leg(random, wake + _minutes(random.uniform(30, 60)), walk_track)
    leave = walk.end + _minutes(random.uniform(40, 80))
    drive_out = _straight_leg(
        "drive out", walk_track.points[-1], _track_points(CAR_TRACK)[0], leave
    )
    office_until = day_start + timedelta(hours=16, minutes=30)
    office_until += _minutes(random.uniform(0, 60))
    car = _car_leg(drive_out.end, office_until)
    drive_home = _straight_leg(
        "drive home",
        _track_points(CAR_TRACK)[-1],
        walk_track.points[0],
        car.end,
    )
    bedtime = (
        day_start + timedelta(hours=22, minutes=30) + _minutes(random.uniform(0, 60))
    )
    bedtime = max(bedtime, drive_home.end + timedelta(hours=1))
    legs = (walk, drive_out, car, drive_home)

    crossings = _crossings(regions, legs, day_start, day_start + DAY)
    sessions = _screen_sessions(seed, index, wake, bedtime, day_start, legs)
    notifications = plan_notifications(
        derive_rng(seed, "notifications", index), wake, bedtime, index
    )
    conversations = _conversations(seed, index, wake, bedtime, legs)
    return DayPlan(
        index=index,
        start=day_start,
        end=day_start + DAY,
        wake=wake,
        bedtime=bedtime,
        legs=legs,
        crossings=tuple(crossings),
        screen_sessions=tuple(sessions),
        notifications=tuple(notifications),
        conversations=tuple(conversations),
    )


def _walk_leg(random: np.random.Generator, start: datetime, walk: _Walk) -> Leg:
    # Recorded times are never played back, so bogus or missing ones do not
    # matter. Every walk moves at walking pace from ``start``.
    points = retime(walk.points, start=start, speed_mps=WALKING_SPEED_MPS)
    visits = []
    for spec in walk.stays:
        assert spec.dwell_minutes is not None
        dwell = _minutes(random.uniform(*spec.dwell_minutes))
        visits.append(Visit(spec.name, spec.point_index, dwell))
    return Leg("morning walk", "walking", Track(points, visits), WALKING_SPEED_MPS)


def _car_leg(start: datetime, office_until: datetime) -> Leg:
    office = next(spec for spec in _REGIONS if spec.name == "office")
    points = retime(_track_points(CAR_TRACK), start=start, speed_mps=DRIVING_SPEED_MPS)
    arrival = points[office.point_index].time
    assert arrival is not None
    dwell = max(office_until - arrival, timedelta(hours=1))
    visits = [Visit(office.name, office.point_index, dwell)]
    return Leg("car trip", "driving", Track(points, visits), DRIVING_SPEED_MPS)


def _straight_leg(
    name: str, origin: GpxPoint, destination: GpxPoint, start: datetime
) -> Leg:
    points = retime([origin, destination], start=start, speed_mps=HIGHWAY_SPEED_MPS)
    return Leg(name, "driving", Track(points), HIGHWAY_SPEED_MPS)


def _crossings(
    regions: Sequence[Region],
    legs: Sequence[Leg],
    day_start: datetime,
    day_end: datetime,
) -> list[RegionCrossing]:
    """Return the day's region entries and exits, bracketed by the day's bounds.

    Regions that contain the position at the day's start get an entry then,
    and regions still holding it at the end get an exit then.
    """

    def coordinates(leg: Leg) -> Any:
        return lambda moment: _latitude_longitude(leg.track.position_at(moment))

    first = legs[0].track.position_at(day_start)
    inside = {r.name for r in regions if r.contains(first.latitude, first.longitude)}
    crossings = [RegionCrossing(day_start, name, "enter") for name in sorted(inside)]
    for leg in legs:
        # The position cannot change during a stay, so only moving intervals
        # are scanned. Interpolation is linear in degrees, so the true speed
        # can exceed the nominal one by a hair; the margin keeps steps safe.
        for start, end in leg.moving_intervals():
            crossings += region_crossings(
                regions, coordinates(leg), start, end, leg.speed_mps * 1.05
            )
    for crossing in crossings:
        if crossing.event == "enter":
            inside.add(crossing.region)
        else:
            inside.discard(crossing.region)
    crossings += [RegionCrossing(day_end, name, "exit") for name in sorted(inside)]
    return crossings


def _latitude_longitude(position: Position) -> tuple[float, float]:
    return position.latitude, position.longitude


def _screen_sessions(
    seed: int,
    index: int,
    wake: datetime,
    bedtime: datetime,
    day_start: datetime,
    legs: Sequence[Leg],
) -> list[ScreenSession]:
    walk, _, car, _ = legs
    office_stay = car.track.visits[0]
    driving = [
        interval
        for leg in legs
        if leg.kind == "driving"
        for interval in leg.moving_intervals()
    ]

    def context_at(moment: datetime) -> str:
        if walk.start <= moment < walk.end:
            return "outdoors"
        if office_stay.arrival <= moment < office_stay.departure:
            return "work"
        return "home"

    return plan_screen_sessions(
        derive_rng(seed, "screen", index),
        wake,
        day_start + timedelta(hours=19),
        bedtime,
        driving,
        context_at,
    )


def _conversations(
    seed: int, index: int, wake: datetime, bedtime: datetime, legs: Sequence[Leg]
) -> list[Conversation]:
    """Plan four conversations: breakfast, the hut, the office and the evening."""
    random = derive_rng(seed, "conversations", index)
    walk, _, car, drive_home = legs
    hut = next(
        (visit for visit in walk.track.visits if visit.name == "mountain-hut"), None
    )
    # A walk from a profile's GPX file may have no hut stay, and then the
    # owner talks as the walk ends.
    hut_place = "walk" if hut is None else hut.name
    hut_arrival = walk.end if hut is None else hut.arrival
    office = car.track.visits[0]
    evening = max(
        bedtime - _minutes(random.uniform(90, 150)),
        drive_home.end + _minutes(10),
    )
    starts = [
        ("home", wake + _minutes(random.uniform(10, 25))),
        (hut_place, hut_arrival + _minutes(random.uniform(1, 4))),
        ("office", office.arrival + _minutes(random.uniform(60, 180))),
        ("home", evening),
    ]
    return [plan_conversation(random, place, start) for place, start in starts]
