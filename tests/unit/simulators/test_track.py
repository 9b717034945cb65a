"""Track playback: interpolation, speed, heading, visits and noisy GPS fixes."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from loomlite.components.enrich.geo import haversine_distance, initial_bearing
from simulators.gpx import (
    DRIVING_SPEED_MPS,
    WALKING_SPEED_MPS,
    GpxPoint,
    bundled_track_path,
    read_gpx,
)
from simulators.track import Track, Visit, sample_fixes

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


# An L-shaped track: 100 s north, then 100 s east; about 111 m and 77 m.
L_SHAPE = [
    GpxPoint(46.000, 14.000, 100.0, at(0)),
    GpxPoint(46.001, 14.000, 110.0, at(100)),
    GpxPoint(46.001, 14.001, 120.0, at(200)),
]


def test_position_interpolates_midpoint() -> None:
    track = Track(L_SHAPE)

    position = track.position_at(at(50))

    assert position.latitude == pytest.approx(46.0005)
    assert position.longitude == pytest.approx(14.0)
    assert position.altitude == pytest.approx(105.0)
    assert position.recorded_at == at(50)


def test_speed_is_segment_distance_over_time() -> None:
    track = Track(L_SHAPE)

    north = track.position_at(at(30))
    east = track.position_at(at(130))

    assert north.speed == pytest.approx(haversine_distance(46, 14, 46.001, 14) / 100)
    assert east.speed == pytest.approx(
        haversine_distance(46.001, 14, 46.001, 14.001) / 100
    )


def test_heading_follows_segment_bearing() -> None:
    track = Track(L_SHAPE)

    north = track.position_at(at(30))
    east = track.position_at(at(130))

    assert north.heading == pytest.approx(0.0)
    assert east.heading == pytest.approx(initial_bearing(46.001, 14, 46.001, 14.001))
    assert east.heading == pytest.approx(90.0, abs=0.01)


def test_position_clamps_outside_track() -> None:
    track = Track(L_SHAPE)

    before = track.position_at(at(-60))
    after = track.position_at(at(500))

    assert (before.latitude, before.longitude) == (46.0, 14.0)
    assert before.speed == 0.0
    assert before.heading is None
    assert (after.latitude, after.longitude) == (46.001, 14.001)
    assert after.speed == 0.0


def test_track_length_and_bounds() -> None:
    track = Track(L_SHAPE)

    assert track.start == at(0)
    assert track.end == at(200)
    assert track.length_m == pytest.approx(111.2 + 77.2, abs=0.5)


def test_visit_inserts_dwell_and_shifts_rest() -> None:
    track = Track(L_SHAPE, visits=[Visit("corner", 1, timedelta(minutes=10))])

    during = track.position_at(at(100 + 300))
    after = track.position_at(at(100 + 600 + 50))

    assert track.end == at(200 + 600)
    assert (during.latitude, during.longitude) == (46.001, 14.0)
    assert during.speed == 0.0
    assert during.heading is None
    assert after.longitude == pytest.approx(14.0005)
    assert after.heading == pytest.approx(90.0, abs=0.01)


def test_visit_records_ground_truth() -> None:
    track = Track(
        L_SHAPE,
        visits=[
            Visit("start", 0, timedelta(minutes=1)),
            Visit("corner", 1, timedelta(minutes=10)),
        ],
    )

    first, corner = track.visits

    assert first.name == "start"
    assert first.arrival == at(0)
    assert first.departure == at(60)
    assert corner.name == "corner"
    assert corner.arrival == at(160)
    assert corner.departure == at(760)
    assert (corner.latitude, corner.longitude) == (46.001, 14.0)


def test_nearest_index_ignores_visit_duplicates() -> None:
    track = Track(L_SHAPE, visits=[Visit("corner", 1, timedelta(minutes=10))])

    assert track.nearest_index(46.00101, 14.00099) == 2
    assert track.nearest_index(46.0011, 14.0) == 1


@pytest.mark.parametrize(
    ("visits", "message"),
    [
        ([Visit("far", 3, timedelta(0))], "expected 0 to 2"),
        ([Visit("back", 1, timedelta(seconds=-1))], "negative dwell"),
        (
            [Visit("a", 1, timedelta(0)), Visit("b", 1, timedelta(0))],
            "share a point index",
        ),
        (
            [Visit("a", 0, timedelta(0)), Visit("a", 1, timedelta(0))],
            "share a name",
        ),
    ],
)
def test_track_rejects_invalid_visits(visits: list[Visit], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Track(L_SHAPE, visits=visits)


def test_track_rejects_decreasing_times() -> None:
    points = [L_SHAPE[1], L_SHAPE[0]]

    with pytest.raises(ValueError, match="is earlier than point 0"):
        Track(points)


def test_track_rejects_point_without_time() -> None:
    with pytest.raises(ValueError, match="track point 0 has no time"):
        Track([GpxPoint(46.0, 14.0)])


def test_track_rejects_empty_points() -> None:
    with pytest.raises(ValueError, match="at least one point"):
        Track([])


def test_repeated_points_do_not_divide_by_zero() -> None:
    points = [L_SHAPE[0], GpxPoint(46.0, 14.0, 100.0, at(0)), L_SHAPE[1]]
    track = Track(points)

    position = track.position_at(at(0))
    later = track.position_at(at(10))

    assert position.speed == 0.0
    assert later.speed > 0.0


def test_retimed_hike_moves_at_walking_speed() -> None:
    gpx = read_gpx(bundled_track_path("Mojstrovka.gpx"))

    track = Track.from_gpx(gpx, start=START, speed_mps=WALKING_SPEED_MPS)

    duration = (track.end - track.start).total_seconds()
    assert track.start == START
    assert track.length_m / duration == pytest.approx(WALKING_SPEED_MPS)
    assert track.position_at(at(600)).speed == pytest.approx(WALKING_SPEED_MPS)


def test_car_track_keeps_recorded_pace() -> None:
    gpx = read_gpx(bundled_track_path("around-visnjan-with-car.gpx"))

    track = Track.from_gpx(gpx, start=START, speed_mps=DRIVING_SPEED_MPS)

    assert track.end - track.start == timedelta(minutes=8, seconds=34)


# -- GPS fixes -------------------------------------------------------------------


def test_fixes_are_deterministic_per_seed() -> None:
    track = Track(L_SHAPE)

    first = sample_fixes(track, interval=timedelta(seconds=5), noise_m=4.0, seed=7)
    second = sample_fixes(track, interval=timedelta(seconds=5), noise_m=4.0, seed=7)
    other = sample_fixes(track, interval=timedelta(seconds=5), noise_m=4.0, seed=8)

    assert first == second
    assert first != other


def test_fixes_cover_track_at_interval() -> None:
    track = Track(L_SHAPE)

    fixes = sample_fixes(track, interval=timedelta(seconds=5))

    assert len(fixes) == 41
    assert fixes[0].recorded_at == at(0)
    assert fixes[-1].recorded_at == at(200)
    assert fixes[0].accuracy is None


def test_fix_noise_has_requested_spread() -> None:
    track = Track(
        [GpxPoint(46.0, 14.0, None, at(0)), GpxPoint(46.0, 14.0, None, at(2000))]
    )

    fixes = sample_fixes(track, interval=timedelta(seconds=1), noise_m=5.0, seed=1)

    errors = [haversine_distance(46.0, 14.0, f.latitude, f.longitude) for f in fixes]
    # The distance of a circular Gaussian error follows a Rayleigh law with
    # mean sigma * sqrt(pi / 2).
    assert statistics.mean(errors) == pytest.approx(
        5.0 * math.sqrt(math.pi / 2), rel=0.05
    )
    assert fixes[0].accuracy == pytest.approx(5.0 * 1.5096, rel=1e-3)


def test_fixes_reject_invalid_arguments() -> None:
    track = Track(L_SHAPE)

    with pytest.raises(ValueError, match="interval must be positive"):
        sample_fixes(track, interval=timedelta(0))
    with pytest.raises(ValueError, match="noise_m must be a non-negative number"):
        sample_fixes(track, interval=timedelta(seconds=1), noise_m=-1.0)
