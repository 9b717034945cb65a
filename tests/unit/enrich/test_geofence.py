"""Geofence enter and exit events against simulated tracks with known visits."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from loomlite.components.enrich.geo import destination_point, haversine_distance
from loomlite.components.enrich.geofence import (
    GeofenceConfig,
    GeofenceEvent,
    GeofenceRegion,
    GeofenceTracker,
    Transition,
    load_regions,
)
from loomlite.errors import ConfigurationError
from simulators.gpx import (
    DRIVING_SPEED_MPS,
    WALKING_SPEED_MPS,
    GpxPoint,
    bundled_track_path,
    read_gpx,
)
from simulators.track import Position, Track, Visit, sample_fixes

START = datetime(2026, 3, 1, 9, 0, 0, 300000, tzinfo=UTC)
FIX_INTERVAL = timedelta(seconds=5)
CONFIG = GeofenceConfig(exit_margin_m=25.0, min_dwell=timedelta(seconds=30))


def track_with_visits(name: str, speed_mps: float) -> Track:
    """Return a bundled track with 5-minute visits at a quarter and three quarters."""
    gpx = read_gpx(bundled_track_path(name))
    count = len(gpx.track_points())
    visits = [
        Visit("first", count // 4, timedelta(minutes=5)),
        Visit("second", 3 * count // 4, timedelta(minutes=5)),
    ]
    return Track.from_gpx(gpx, start=START, speed_mps=speed_mps, visits=visits)


def regions_at_visits(track: Track, radius_m: float) -> list[GeofenceRegion]:
    return [
        GeofenceRegion(
            name=visit.name,
            latitude=visit.latitude,
            longitude=visit.longitude,
            radius_m=radius_m,
        )
        for visit in track.visits
    ]


def reference_transitions(
    track: Track, region: GeofenceRegion, config: GeofenceConfig
) -> list[tuple[Transition, datetime]]:
    """Return the transitions of the noiseless track, checked every second.

    A transition starts when the track crosses the radius inwards (or radius
    plus margin outwards) and counts if the track stays there for the dwell.
    """
    result: list[tuple[Transition, datetime]] = []
    inside = False
    since: datetime | None = None
    moment = track.start
    while moment <= track.end:
        position = track.position_at(moment)
        distance = haversine_distance(
            region.latitude, region.longitude, position.latitude, position.longitude
        )
        if inside:
            qualifies = distance > region.radius_m + config.exit_margin_m
        else:
            qualifies = distance <= region.radius_m

        if not qualifies:
            since = None
        elif since is None:
            since = moment
        if since is not None and moment - since >= config.min_dwell:
            result.append((Transition.EXIT if inside else Transition.ENTER, since))
            inside = not inside
            since = None
        moment += timedelta(seconds=1)
    return result


def track_events(
    fixes: Sequence[Position],
    regions: Sequence[GeofenceRegion],
    config: GeofenceConfig = CONFIG,
) -> list[GeofenceEvent]:
    tracker = GeofenceTracker("phone-1", regions, config)
    return tracker.extend(fixes) + tracker.flush()


# -- visits on real tracks ---------------------------------------------------------


def test_car_trip_visits_enter_and_exit() -> None:
    track = track_with_visits("around-visnjan-with-car.gpx", DRIVING_SPEED_MPS)
    regions = regions_at_visits(track, radius_m=40.0)
    fixes = sample_fixes(track, interval=FIX_INTERVAL, noise_m=4.0, seed=1)

    events = track_events(fixes, regions)

    assert [(e.region, e.transition) for e in events] == [
        ("first", Transition.ENTER),
        ("first", Transition.EXIT),
        ("second", Transition.ENTER),
        ("second", Transition.EXIT),
    ]
    for visit in track.visits:
        enter, exit_ = [e for e in events if e.region == visit.name]
        assert enter.recorded_at <= visit.arrival
        assert exit_.recorded_at >= visit.departure
        assert enter.confirmed_at - enter.recorded_at >= CONFIG.min_dwell
        assert enter.distance_m <= 40.0
        assert exit_.distance_m > 40.0 + CONFIG.exit_margin_m


@pytest.mark.parametrize(
    ("name", "speed_mps"),
    [
        ("around-visnjan-with-car.gpx", DRIVING_SPEED_MPS),
        ("Mojstrovka.gpx", WALKING_SPEED_MPS),
        ("cerknicko-jezero.gpx", WALKING_SPEED_MPS),
    ],
)
def test_events_match_noiseless_track(name: str, speed_mps: float) -> None:
    # The hike and the lake walk pass the visit points again at other times,
    # and those passes must show up too.
    track = track_with_visits(name, speed_mps)
    regions = regions_at_visits(track, radius_m=40.0)
    fixes = sample_fixes(track, interval=FIX_INTERVAL, noise_m=4.0, seed=2)

    events = track_events(fixes, regions)

    for region in regions:
        expected = reference_transitions(track, region, CONFIG)
        found = [e for e in events if e.region == region.name]
        assert [e.transition for e in found] == [t for t, _ in expected], region.name
        for event, (_, moment) in zip(found, expected, strict=True):
            # The fix interval plus noise near the boundary sets the error.
            assert abs(event.recorded_at - moment) <= timedelta(seconds=20)


# -- GPS noise near the boundary ---------------------------------------------------


REGION = GeofenceRegion(name="home", latitude=46.05, longitude=14.5, radius_m=50.0)


def stationary_fixes(
    distance_m: float, minutes: float, noise_m: float, seed: int, start: datetime
) -> list[Position]:
    """Return fixes every 5 s of a device standing ``distance_m`` east of REGION."""
    latitude, longitude = destination_point(
        REGION.latitude, REGION.longitude, 90.0, distance_m
    )
    points = [
        GpxPoint(latitude, longitude, None, start),
        GpxPoint(latitude, longitude, None, start + timedelta(minutes=minutes)),
    ]
    return sample_fixes(
        Track(points), interval=FIX_INTERVAL, noise_m=noise_m, seed=seed
    )


def test_jitter_inside_boundary_does_not_flap() -> None:
    # Settle at the centre, then stand 5 m inside the radius for half an hour.
    centre = stationary_fixes(0.0, 2, 5.0, seed=1, start=START)
    edge = stationary_fixes(
        45.0, 30, 5.0, seed=2, start=START + timedelta(minutes=2, seconds=5)
    )

    events = track_events(centre + edge, [REGION])

    assert [e.transition for e in events] == [Transition.ENTER]


def test_jitter_in_margin_does_not_exit() -> None:
    # Inside first, then 12 m beyond the radius: within the 25 m margin.
    centre = stationary_fixes(0.0, 2, 5.0, seed=3, start=START)
    margin = stationary_fixes(
        62.0, 30, 5.0, seed=4, start=START + timedelta(minutes=2, seconds=5)
    )

    events = track_events(centre + margin, [REGION])

    assert [e.transition for e in events] == [Transition.ENTER]


def test_jitter_outside_boundary_does_not_enter() -> None:
    fixes = stationary_fixes(56.0, 30, 5.0, seed=5, start=START)

    events = track_events(fixes, [REGION])

    assert events == []


def test_without_hysteresis_jitter_flaps() -> None:
    # The same standing device makes many events once margin and dwell are off,
    # which shows what the two settings suppress.
    fixes = stationary_fixes(50.0, 30, 5.0, seed=6, start=START)
    bare = GeofenceConfig(exit_margin_m=0.0, min_dwell=timedelta(0))

    flapping = track_events(fixes, [REGION], bare)
    steady = track_events(fixes, [REGION])

    assert len(flapping) > 20
    assert len(steady) <= 1


def test_inaccurate_fixes_are_ignored() -> None:
    fixes = stationary_fixes(0.0, 5, 80.0, seed=7, start=START)
    tracker = GeofenceTracker("phone-1", [REGION], GeofenceConfig(max_accuracy_m=100))

    events = tracker.extend(fixes) + tracker.flush()

    assert events == []
    assert tracker.statistics().inaccurate_fixes == len(fixes)


def test_short_visit_is_not_an_entry() -> None:
    outside = stationary_fixes(200.0, 2, 0.0, seed=0, start=START)
    brief = stationary_fixes(
        0.0, 0.25, 0.0, seed=0, start=START + timedelta(minutes=2, seconds=5)
    )
    away = stationary_fixes(
        200.0, 2, 0.0, seed=0, start=START + timedelta(minutes=2, seconds=25)
    )
    tracker = GeofenceTracker("phone-1", [REGION], CONFIG)

    events = tracker.extend(outside + brief + away) + tracker.flush()

    assert events == []
    assert tracker.statistics().cancelled_transitions == 1
    assert tracker.inside() == ()


def test_silent_stay_confirms_entry() -> None:
    # A distance-filtered phone sends one fix on arrival, then nothing until it
    # leaves ten minutes later: the silence is the stay.
    outside = stationary_fixes(200.0, 2, 0.0, seed=0, start=START)
    arrival = START + timedelta(minutes=2, seconds=5)
    inside = stationary_fixes(0.0, 0.0, 0.0, seed=0, start=arrival)[:1]
    away = stationary_fixes(
        200.0, 2, 0.0, seed=0, start=arrival + timedelta(minutes=10)
    )
    tracker = GeofenceTracker("phone-1", [REGION], CONFIG)

    events = tracker.extend(outside + inside + away) + tracker.flush()

    assert [e.transition for e in events] == [Transition.ENTER, Transition.EXIT]
    assert events[0].recorded_at == inside[0].recorded_at


def test_silence_rule_can_be_disabled() -> None:
    arrival = START + timedelta(minutes=2, seconds=5)
    inside = stationary_fixes(0.0, 0.0, 0.0, seed=0, start=arrival)[:1]
    away = stationary_fixes(
        200.0, 2, 0.0, seed=0, start=arrival + timedelta(minutes=10)
    )
    strict = GeofenceConfig(min_dwell=timedelta(seconds=30), silence_confirms=False)
    tracker = GeofenceTracker("phone-1", [REGION], strict)

    events = tracker.extend(inside + away) + tracker.flush()

    assert events == []


def test_inside_lists_confirmed_regions() -> None:
    tracker = GeofenceTracker("phone-1", [REGION], CONFIG)

    tracker.extend(stationary_fixes(0.0, 2, 0.0, seed=0, start=START))

    assert tracker.inside() == ("home",)


# -- arrival order -----------------------------------------------------------------


def test_shuffled_fixes_give_same_events() -> None:
    track = track_with_visits("Mojstrovka.gpx", WALKING_SPEED_MPS)
    regions = regions_at_visits(track, radius_m=40.0)
    fixes = sample_fixes(track, interval=FIX_INTERVAL, noise_m=4.0, seed=3)
    generator = random.Random(1)
    shuffled = sorted(
        fixes,
        key=lambda f: f.recorded_at + timedelta(seconds=generator.uniform(0, 29)),
    )

    assert shuffled != fixes
    assert track_events(shuffled, regions) == track_events(fixes, regions)


# -- configuration -------------------------------------------------------------------


def test_load_regions_reads_tables() -> None:
    regions = load_regions(
        [
            {"name": "home", "latitude": 46.05, "longitude": 14.5, "radius_m": 50},
            {"name": "work", "latitude": 46.06, "longitude": 14.51, "radius_m": 120},
        ],
        source="profiles/demo.toml",
    )

    assert [region.name for region in regions] == ["home", "work"]
    assert regions[1].radius_m == 120.0


def test_load_regions_names_invalid_key() -> None:
    items = [
        {"name": "home", "latitude": 46.05, "longitude": 14.5, "radius_m": 50},
        {"name": "work", "latitude": 46.06, "longitude": 14.51, "radius_m": -5},
    ]

    with pytest.raises(ConfigurationError) as caught:
        load_regions(items, source="profiles/demo.toml")

    assert caught.value.key == "regions[1].radius_m"
    assert "profiles/demo.toml" in str(caught.value)
    assert "-5" in str(caught.value)


def test_load_regions_rejects_out_of_range_latitude() -> None:
    items = [{"name": "pole", "latitude": 91, "longitude": 0, "radius_m": 5}]

    with pytest.raises(ConfigurationError) as caught:
        load_regions(items)

    assert caught.value.key == "regions[0].latitude"


def test_load_regions_rejects_duplicate_name() -> None:
    items = [
        {"name": "home", "latitude": 46.05, "longitude": 14.5, "radius_m": 50},
        {"name": "home", "latitude": 46.06, "longitude": 14.51, "radius_m": 50},
    ]

    with pytest.raises(ConfigurationError, match=r"'home' at regions\[1\]\.name"):
        load_regions(items)


def test_load_regions_rejects_unknown_field() -> None:
    items = [
        {"name": "home", "latitude": 46.05, "longitude": 14.5, "radius": 50},
    ]

    with pytest.raises(ConfigurationError) as caught:
        load_regions(items)

    assert caught.value.key in ("regions[0].radius", "regions[0].radius_m")


def test_invalid_positions_are_skipped() -> None:
    fixes = stationary_fixes(0.0, 2, 0.0, seed=0, start=START)
    broken = [
        Position(START, float("nan"), 14.5, None, 0.0, None),
        Position(START, 46.05, 181.0, None, 0.0, None),
    ]
    tracker = GeofenceTracker("phone-1", [REGION], CONFIG)

    events = tracker.extend(broken + fixes) + tracker.flush()

    assert tracker.statistics().invalid_fixes == 2
    assert [e.transition for e in events] == [Transition.ENTER]
