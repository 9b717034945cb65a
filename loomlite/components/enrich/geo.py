"""Geometry on a spherical Earth: distance, bearing, destination and interpolation.

Every function takes and returns degrees for coordinates and metres for
distances. The sphere has the mean Earth radius, so distances differ from the
WGS 84 ellipsoid by up to about 0.5 %, which is far below GPS noise for the
geofence radii and track segments this project handles.

This module imports only the standard library, so the simulators use it too.
"""

from __future__ import annotations

import math

__all__ = [
    "EARTH_RADIUS_M",
    "destination_point",
    "haversine_distance",
    "initial_bearing",
    "interpolate",
]

# Mean Earth radius (IUGG), in metres.
EARTH_RADIUS_M = 6_371_008.8


def haversine_distance(
    latitude1: float, longitude1: float, latitude2: float, longitude2: float
) -> float:
    """Return the great-circle distance in metres between two points."""
    phi1 = math.radians(latitude1)
    phi2 = math.radians(latitude2)
    delta_phi = phi2 - phi1
    delta_lambda = math.radians(longitude2 - longitude1)

    half_chord = (
        math.sin(delta_phi / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(delta_lambda / 2) ** 2
    )
    # Rounding can push the value a hair above 1 for antipodal points.
    half_chord = min(1.0, half_chord)
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(half_chord))


def initial_bearing(
    latitude1: float, longitude1: float, latitude2: float, longitude2: float
) -> float:
    """Return the initial bearing from point 1 to point 2.

    The bearing is in degrees clockwise from true north, in [0, 360). It is 0.0
    for two identical points.
    """
    phi1 = math.radians(latitude1)
    phi2 = math.radians(latitude2)
    delta_lambda = math.radians(longitude2 - longitude1)

    east = math.sin(delta_lambda) * math.cos(phi2)
    north = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(
        phi2
    ) * math.cos(delta_lambda)
    return math.degrees(math.atan2(east, north)) % 360.0


def destination_point(
    latitude: float, longitude: float, bearing: float, distance: float
) -> tuple[float, float]:
    """Return the point reached by travelling ``distance`` metres on ``bearing``.

    ``bearing`` is in degrees clockwise from true north. The returned longitude
    is normalised to [-180, 180).
    """
    phi1 = math.radians(latitude)
    lambda1 = math.radians(longitude)
    theta = math.radians(bearing)
    angle = distance / EARTH_RADIUS_M

    sin_phi2 = math.sin(phi1) * math.cos(angle) + math.cos(phi1) * math.sin(
        angle
    ) * math.cos(theta)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lambda2 = lambda1 + math.atan2(
        math.sin(theta) * math.sin(angle) * math.cos(phi1),
        math.cos(angle) - math.sin(phi1) * sin_phi2,
    )
    longitude2 = (math.degrees(lambda2) + 180.0) % 360.0 - 180.0
    return math.degrees(phi2), longitude2


def interpolate(
    latitude1: float,
    longitude1: float,
    latitude2: float,
    longitude2: float,
    fraction: float,
) -> tuple[float, float]:
    """Return the point at ``fraction`` (0 to 1) of the way from point 1 to point 2.

    The interpolation is linear in latitude and longitude. For a 2 km segment
    at 46° to 60° latitude its midpoint lies 0.1 to 0.15 m off the great
    circle, which is far below GPS noise. The longitude difference is taken the
    short way round, so a segment that crosses the antimeridian does not circle
    the globe.
    """
    delta_longitude = (longitude2 - longitude1 + 540.0) % 360.0 - 180.0
    latitude = latitude1 + (latitude2 - latitude1) * fraction
    longitude = longitude1 + delta_longitude * fraction
    longitude = (longitude + 180.0) % 360.0 - 180.0
    return latitude, longitude
