"""GPX parsing and re-timing: the bundled real tracks and broken variants."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loomlite.components.enrich.geo import haversine_distance
from loomlite.errors import GpxError
from simulators.gpx import (
    BUNDLED_TRACKS,
    WALKING_SPEED_MPS,
    GpxPoint,
    bundled_track_path,
    parse_gpx,
    read_gpx,
    retime,
    timed_points,
    timing_problem,
)

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

GPX_1_1 = "http://www.topografix.com/GPX/1/1"


def gpx_text(body: str, namespace: str = GPX_1_1) -> str:
    """Wrap ``body`` in a GPX 1.1 root element."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gpx version="1.1" creator="test" xmlns="{namespace}">{body}</gpx>'
    )


def track_text(*points: tuple[float, float, str | None]) -> str:
    """Return one <trk> with one <trkseg> holding ``points`` (lat, lon, time)."""
    rows = []
    for latitude, longitude, time in points:
        time_element = f"<time>{time}</time>" if time is not None else ""
        rows.append(
            f'<trkpt lat="{latitude}" lon="{longitude}"><ele>100</ele>'
            f"{time_element}</trkpt>"
        )
    return f"<trk><name>test</name><trkseg>{''.join(rows)}</trkseg></trk>"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# Three points about 111 m apart along a meridian.
NORTHWARD = [(46.000, 14.0), (46.001, 14.0), (46.002, 14.0)]


# -- the bundled real tracks ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version", "point_count"),
    [
        ("around-visnjan-with-car.gpx", "1.1", 104),
        ("cerknicko-jezero.gpx", "1.0", 296),
        ("Mojstrovka.gpx", "1.0", 184),
    ],
)
def test_bundled_track_parses(name: str, version: str, point_count: int) -> None:
    gpx = read_gpx(bundled_track_path(name))

    assert gpx.version == version
    assert len(gpx.track_points()) == point_count
    assert gpx.skipped_points == 0
    assert gpx.invalid_times == 0
    assert str(bundled_track_path(name)) == gpx.source


def test_bundled_tracks_list_matches_fixtures() -> None:
    for name in BUNDLED_TRACKS:
        assert bundled_track_path(name).is_file()


def test_bundled_track_path_rejects_unknown_name() -> None:
    with pytest.raises(ValueError, match=r"unknown bundled track 'nowhere\.gpx'"):
        bundled_track_path("nowhere.gpx")


def test_cerknicko_keeps_empty_segment_and_waypoints() -> None:
    gpx = read_gpx(bundled_track_path("cerknicko-jezero.gpx"))

    assert len(gpx.tracks) == 8
    assert gpx.tracks[0].name == "ACTIVE LOG"
    assert gpx.tracks[0].points() == ()
    assert len(gpx.waypoints) == 7
    assert gpx.waypoints[1].name == "BACK T TH"
    assert gpx.waypoints[0].time == datetime(2010, 8, 5, 14, 23, 59, tzinfo=UTC)
    assert gpx.waypoints[1].time is None


def test_cerknicko_times_are_kept_and_shifted() -> None:
    gpx = read_gpx(bundled_track_path("cerknicko-jezero.gpx"))
    original = gpx.track_points()

    points = timed_points(gpx, start=START, speed_mps=WALKING_SPEED_MPS)

    assert timing_problem(original) is None
    assert points[0].time == START
    assert original[0].time is not None
    assert original[-1].time is not None
    assert points[-1].time == START + (original[-1].time - original[0].time)


def test_mojstrovka_bogus_times_are_retimed(caplog: pytest.LogCaptureFixture) -> None:
    path = bundled_track_path("Mojstrovka.gpx")
    gpx = read_gpx(path)
    first = gpx.track_points()[0]

    with caplog.at_level(logging.INFO, logger="simulators.gpx"):
        points = timed_points(gpx, start=START, speed_mps=WALKING_SPEED_MPS)

    assert first.time is not None
    assert first.time.year == 1901
    assert first.time.microsecond == 207343
    assert timing_problem(gpx.track_points()) == "non-increasing"
    assert timing_problem(points) is None
    assert points[0].time == START
    assert str(path) in caplog.text
    assert "non-increasing" in caplog.text


def test_visnjan_reads_garmin_file_on_one_line() -> None:
    gpx = read_gpx(bundled_track_path("around-visnjan-with-car.gpx"))
    first = gpx.track_points()[0]

    assert gpx.creator == "eTrex 20x"
    assert gpx.tracks[0].name == "2020-12-18 07:24:29"
    assert first.latitude == pytest.approx(45.2735188510)
    assert first.longitude == pytest.approx(13.7142099626)
    assert first.elevation == pytest.approx(211.15)
    assert first.time == datetime(2020, 12, 18, 6, 15, 50, tzinfo=UTC)


# -- broken variants -------------------------------------------------------------


def test_constant_bogus_time_is_retimed(tmp_path: Path) -> None:
    bogus = "1901-12-13T20:45:52Z"
    path = write(
        tmp_path,
        "constant.gpx",
        gpx_text(track_text(*[(*p, bogus) for p in NORTHWARD])),
    )
    gpx = read_gpx(path)

    points = timed_points(gpx, start=START, speed_mps=2.0)

    assert timing_problem(gpx.track_points()) == "constant"
    assert [p.time for p in points] == [
        START,
        START + timedelta(seconds=haversine_distance(46.0, 14.0, 46.001, 14.0) / 2.0),
        START + timedelta(seconds=haversine_distance(46.0, 14.0, 46.002, 14.0) / 2.0),
    ]


def test_missing_times_are_retimed(tmp_path: Path) -> None:
    path = write(
        tmp_path, "no-time.gpx", gpx_text(track_text(*[(*p, None) for p in NORTHWARD]))
    )
    gpx = read_gpx(path)

    points = timed_points(gpx, start=START, speed_mps=WALKING_SPEED_MPS)

    assert timing_problem(gpx.track_points()) == "missing"
    assert points[0].time == START
    assert points[2].time is not None
    elapsed = (points[2].time - START).total_seconds()
    assert elapsed == pytest.approx(222.4 / WALKING_SPEED_MPS, rel=1e-3)


def test_partly_missing_times_retime_whole_track(tmp_path: Path) -> None:
    times = ["2026-01-01T10:00:00Z", None, "2026-01-01T10:02:00Z"]
    points = [(*p, t) for p, t in zip(NORTHWARD, times, strict=True)]
    gpx = parse_gpx(gpx_text(track_text(*points)), source="partial.gpx")

    timed = timed_points(gpx, start=START, speed_mps=1.0)

    assert timing_problem(gpx.track_points()) == "missing"
    assert timed[1].time is not None
    assert (timed[1].time - START).total_seconds() == pytest.approx(111.2, rel=1e-3)


def test_backwards_times_are_detected() -> None:
    times = ["2026-01-01T10:00:00Z", "2026-01-01T10:01:00Z", "2026-01-01T10:00:30Z"]
    points = [(*p, t) for p, t in zip(NORTHWARD, times, strict=True)]
    gpx = parse_gpx(gpx_text(track_text(*points)))

    assert timing_problem(gpx.track_points()) == "non-increasing"


def test_empty_segment_is_skipped(tmp_path: Path) -> None:
    times = ["2026-01-01T10:00:00Z", "2026-01-01T10:01:00Z", "2026-01-01T10:02:00Z"]
    body = (
        "<trk><trkseg></trkseg></trk>"
        + track_text(*[(*p, t) for p, t in zip(NORTHWARD, times, strict=True)])
        + "<trk><name>empty</name><trkseg/></trk>"
    )
    gpx = read_gpx(write(tmp_path, "empty-segment.gpx", gpx_text(body)))

    points = timed_points(gpx, start=START, speed_mps=WALKING_SPEED_MPS)

    assert [len(track.points()) for track in gpx.tracks] == [0, 3, 0]
    assert [p.time for p in points] == [
        START,
        START + timedelta(minutes=1),
        START + timedelta(minutes=2),
    ]


def test_file_without_points_names_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nothing.gpx",
        gpx_text("<metadata><name>x</name></metadata><trk><trkseg/></trk>"),
    )

    with pytest.raises(GpxError) as caught:
        read_gpx(path)

    assert str(path) in str(caught.value)
    assert "no usable track point" in str(caught.value)
    assert caught.value.source == str(path)


def test_file_with_invalid_points_counts_them(tmp_path: Path) -> None:
    body = (
        '<trk><trkseg><trkpt lat="abc" lon="14"/><trkpt lon="14"/>'
        '<trkpt lat="95" lon="14"/><trkpt lat="46" lon="nan"/></trkseg></trk>'
    )
    path = write(tmp_path, "invalid.gpx", gpx_text(body))

    with pytest.raises(GpxError) as caught:
        read_gpx(path)

    assert str(path) in str(caught.value)
    assert "4 point(s) were skipped" in str(caught.value)


def test_invalid_points_are_skipped_from_track() -> None:
    body = (
        '<trk><trkseg><trkpt lat="46" lon="14"/><trkpt lat="x" lon="14"/>'
        '<trkpt lat="46.001" lon="14"><ele>high</ele><time>soon</time></trkpt>'
        "</trkseg></trk>"
    )
    gpx = parse_gpx(gpx_text(body))

    assert len(gpx.track_points()) == 2
    assert gpx.skipped_points == 1
    assert gpx.invalid_times == 1
    assert gpx.track_points()[1].elevation is None
    assert gpx.track_points()[1].time is None


def test_waypoints_only_file_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "waypoints.gpx", gpx_text('<wpt lat="46" lon="14"/>'))

    with pytest.raises(GpxError, match=r"waypoints\.gpx"):
        read_gpx(path)


def test_malformed_xml_names_file(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.gpx", "<gpx><trk><trkseg>")

    with pytest.raises(GpxError) as caught:
        read_gpx(path)

    assert str(path) in str(caught.value)
    assert "not well-formed XML" in str(caught.value)


def test_non_gpx_root_is_rejected() -> None:
    with pytest.raises(GpxError, match="the root element is <kml>, expected <gpx>"):
        parse_gpx("<kml><Document/></kml>", source="places.kml")


def test_missing_file_names_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.gpx"

    with pytest.raises(GpxError) as caught:
        read_gpx(path)

    assert str(path) in str(caught.value)
    assert "failed to read the file" in str(caught.value)


def test_gpx_without_namespace_parses() -> None:
    body = track_text((46.0, 14.0, "2026-01-01T10:00:00Z"))
    gpx = parse_gpx(f'<gpx version="1.1">{body}</gpx>')

    assert len(gpx.track_points()) == 1


def test_gpx_1_0_namespace_parses() -> None:
    body = track_text((46.0, 14.0, None))
    gpx = parse_gpx(gpx_text(body, namespace="http://www.topografix.com/GPX/1/0"))

    assert len(gpx.track_points()) == 1


def test_times_are_converted_to_utc() -> None:
    body = track_text(
        (46.0, 14.0, "2026-01-01T12:00:00+02:00"),
        (46.001, 14.0, "2026-01-01T10:01:00"),
    )
    gpx = parse_gpx(gpx_text(body))
    points = gpx.track_points()

    assert points[0].time == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert points[1].time == datetime(2026, 1, 1, 10, 1, tzinfo=UTC)


# -- re-timing rules ---------------------------------------------------------------


def test_retime_uses_distance_over_speed() -> None:
    points = [GpxPoint(lat, lon) for lat, lon in NORTHWARD]

    timed = retime(points, start=START, speed_mps=10.0)

    step = haversine_distance(46.0, 14.0, 46.001, 14.0) / 10.0
    assert timed[1].time == START + timedelta(seconds=step)
    assert timed[2].time is not None
    assert (timed[2].time - START).total_seconds() == pytest.approx(2 * step)


def test_retime_gives_repeated_point_same_time() -> None:
    points = [GpxPoint(46.0, 14.0), GpxPoint(46.0, 14.0), GpxPoint(46.001, 14.0)]

    timed = retime(points, start=START, speed_mps=1.0)

    assert timed[0].time == timed[1].time == START


@pytest.mark.parametrize("speed", [0.0, -1.0, float("nan"), float("inf")])
def test_retime_rejects_invalid_speed(speed: float) -> None:
    with pytest.raises(ValueError, match="speed_mps must be a positive number"):
        retime([GpxPoint(46.0, 14.0)], start=START, speed_mps=speed)


def test_retime_rejects_naive_start() -> None:
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        retime([GpxPoint(46.0, 14.0)], start=datetime(2026, 1, 1), speed_mps=1.0)


def test_timing_problem_accepts_single_point() -> None:
    assert timing_problem([GpxPoint(46.0, 14.0, time=START)]) is None
