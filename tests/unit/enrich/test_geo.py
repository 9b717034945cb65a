"""Spherical geometry: haversine distance, bearing, destination, interpolation."""

from __future__ import annotations

import math

import pytest

from loomlite.components.enrich.geo import (
    EARTH_RADIUS_M,
    destination_point,
    haversine_distance,
    initial_bearing,
    interpolate,
)


def test_distance_of_one_degree_latitude() -> None:
    expected = 2 * math.pi * EARTH_RADIUS_M / 360

    assert haversine_distance(0.0, 0.0, 1.0, 0.0) == pytest.approx(expected)
    assert haversine_distance(46.0, 14.0, 47.0, 14.0) == pytest.approx(expected)


def test_distance_between_known_cities() -> None:
    # Ljubljana to Zagreb is about 117 km on a map.
    distance = haversine_distance(46.0569, 14.5058, 45.8150, 15.9819)

    assert distance == pytest.approx(117_000, rel=0.01)


def test_distance_is_symmetric_and_zero_at_point() -> None:
    forward = haversine_distance(46.0, 14.0, 45.5, 13.2)
    backward = haversine_distance(45.5, 13.2, 46.0, 14.0)

    assert forward == pytest.approx(backward)
    assert haversine_distance(46.0, 14.0, 46.0, 14.0) == 0.0


def test_distance_of_antipodes_is_half_circumference() -> None:
    distance = haversine_distance(10.0, 20.0, -10.0, -160.0)

    assert distance == pytest.approx(math.pi * EARTH_RADIUS_M)


def test_distance_across_antimeridian_is_short() -> None:
    distance = haversine_distance(0.0, 179.9, 0.0, -179.9)

    assert distance == pytest.approx(0.2 * 2 * math.pi * EARTH_RADIUS_M / 360)


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [(1.0, 0.0, 0.0), (0.0, 1.0, 90.0), (-1.0, 0.0, 180.0), (0.0, -1.0, 270.0)],
)
def test_bearing_of_cardinal_directions(
    latitude: float, longitude: float, expected: float
) -> None:
    assert initial_bearing(0.0, 0.0, latitude, longitude) == pytest.approx(expected)


def test_bearing_of_same_point_is_zero() -> None:
    assert initial_bearing(46.0, 14.0, 46.0, 14.0) == 0.0


@pytest.mark.parametrize("bearing", [0.0, 45.0, 135.0, 200.0, 315.0])
def test_destination_round_trips_distance_and_bearing(bearing: float) -> None:
    latitude, longitude = destination_point(46.0, 14.0, bearing, 1500.0)

    assert haversine_distance(46.0, 14.0, latitude, longitude) == pytest.approx(1500.0)
    assert initial_bearing(46.0, 14.0, latitude, longitude) == pytest.approx(bearing)


def test_destination_wraps_longitude() -> None:
    latitude, longitude = destination_point(0.0, 179.99, 90.0, 5000.0)

    assert latitude == pytest.approx(0.0, abs=1e-9)
    assert -180.0 <= longitude < -179.9


def test_interpolate_endpoints_and_middle() -> None:
    assert interpolate(46.0, 14.0, 47.0, 15.0, 0.0) == pytest.approx((46.0, 14.0))
    assert interpolate(46.0, 14.0, 47.0, 15.0, 1.0) == pytest.approx((47.0, 15.0))
    assert interpolate(46.0, 14.0, 47.0, 15.0, 0.5) == pytest.approx((46.5, 14.5))


def test_interpolate_crosses_antimeridian_short_way() -> None:
    latitude, longitude = interpolate(0.0, 179.0, 0.0, -179.0, 0.5)

    assert latitude == pytest.approx(0.0)
    assert abs(longitude) == pytest.approx(180.0)
