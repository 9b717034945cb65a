"""Geofence regions and the radio surroundings (Wi-Fi, Bluetooth) of each place.

A Region is a circle around a point. ``region_crossings`` finds, for a moving
position, the exact instants it enters or leaves each region; the phone
scenario uses it to write the places ground truth.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from loomlite.components.enrich.geo import haversine_distance

__all__ = [
    "BluetoothDevice",
    "Region",
    "RegionCrossing",
    "WifiNetwork",
    "region_crossings",
]


@dataclass(frozen=True, slots=True)
class Region:
    """A named circular geofence: centre in degrees, radius in metres."""

    name: str
    latitude: float
    longitude: float
    radius_m: float

    def __post_init__(self) -> None:
        if not self.radius_m > 0:
            raise ValueError(
                f"region {self.name!r} needs a positive radius, got {self.radius_m!r}"
            )

    def distance_m(self, latitude: float, longitude: float) -> float:
        """Return the distance from the centre to a point, in metres."""
        return haversine_distance(self.latitude, self.longitude, latitude, longitude)

    def contains(self, latitude: float, longitude: float) -> bool:
        """Return whether the point lies inside the circle (boundary included)."""
        return self.distance_m(latitude, longitude) <= self.radius_m

    def to_dict(self) -> dict[str, Any]:
        """Return the region as a profile's geofence table entry."""
        return {
            "name": self.name,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "radius_m": self.radius_m,
        }


@dataclass(frozen=True, slots=True)
class WifiNetwork:
    """A Wi-Fi network the phone joins inside one region."""

    ssid: str
    bssid: str
    ip_address: str


@dataclass(frozen=True, slots=True)
class BluetoothDevice:
    """A Bluetooth device in range of the phone."""

    name: str
    address: str
    device_type: str
    paired: bool
    connected: bool


@dataclass(frozen=True, slots=True)
class RegionCrossing:
    """The position entered or left ``region`` at ``at``."""

    at: datetime
    region: str
    event: Literal["enter", "exit"]


PositionAt = Callable[[datetime], tuple[float, float]]

# Crossing times are refined by bisection to this precision.
_PRECISION = timedelta(milliseconds=1)
_MIN_STEP = timedelta(seconds=1)


def region_crossings(
    regions: Sequence[Region],
    position_at: PositionAt,
    start: datetime,
    end: datetime,
    max_speed_mps: float,
) -> list[RegionCrossing]:
    """Return every region entry and exit of a moving position in (start, end].

    ``position_at`` returns (latitude, longitude) at an instant, and the
    position must never move faster than ``max_speed_mps``. The scan steps by
    the time the position needs to reach the nearest region boundary, at
    least one second, so it may miss an entry and exit that both fall inside
    one such second near a boundary.
    """
    if not max_speed_mps > 0:
        raise ValueError(f"max_speed_mps must be positive, got {max_speed_mps!r}")
    crossings: list[RegionCrossing] = []
    moment = start
    inside = _inside(regions, position_at(moment))
    while moment < end:
        step = _safe_step(regions, position_at(moment), max_speed_mps)
        following = min(moment + step, end)
        now_inside = _inside(regions, position_at(following))
        for region in regions:
            if (region.name in inside) != (region.name in now_inside):
                at = _refine(region, position_at, moment, following)
                event: Literal["enter", "exit"] = (
                    "enter" if region.name in now_inside else "exit"
                )
                crossings.append(RegionCrossing(at, region.name, event))
        inside = now_inside
        moment = following
    crossings.sort(key=lambda crossing: crossing.at)
    return crossings


def _inside(regions: Sequence[Region], point: tuple[float, float]) -> set[str]:
    return {region.name for region in regions if region.contains(*point)}


def _safe_step(
    regions: Sequence[Region], point: tuple[float, float], max_speed_mps: float
) -> timedelta:
    """Return how long the position surely stays on its side of every boundary."""
    nearest = min(
        (abs(region.distance_m(*point) - region.radius_m) for region in regions),
        default=math.inf,
    )
    if math.isinf(nearest):
        return timedelta(days=1)
    return max(_MIN_STEP, timedelta(seconds=nearest / max_speed_mps))


def _refine(
    region: Region, position_at: PositionAt, before: datetime, after: datetime
) -> datetime:
    """Bisect (before, after] for the first instant on the ``after`` side."""
    target = region.contains(*position_at(after))
    while after - before > _PRECISION:
        middle = before + (after - before) / 2
        if region.contains(*position_at(middle)) == target:
            after = middle
        else:
            before = middle
    return after
