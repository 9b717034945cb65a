"""The phone simulator on a GPX walk chosen with ``simulators.phone.track``:
files with bogus, missing or no times, empty segments, and no points."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loomlite.components.enrich.geo import haversine_distance
from loomlite.contract import normalise
from loomlite.errors import ConfigurationError, GpxError
from loomlite.runtime.profiles import load_settings
from loomlite.session import build_devices
from simulators import GpsConfig, PhoneConfig, PhoneScenario, PhoneSimulator
from tests.unit.simulators.driving import collect, of_topic

SEED = 5
DAY_START = datetime(2024, 6, 1, tzinfo=UTC)
GPS = "device.sensor.gps.raw"
BOGUS_TIME = "1901-12-13T20:45:52Z"

# A 2 km walk north from Ljubljana's centre, one point every 50 m.
WALK = [(46.0500 + index * 0.00045, 14.5060) for index in range(41)]


def gpx_text(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="loomlite tests" '
        'xmlns="http://www.topografix.com/GPX/1/1">'
        f"{body}</gpx>"
    )


def segment(points: list[tuple[float, float]], time: str | None) -> str:
    stamp = "" if time is None else f"<time>{time}</time>"
    rows = "".join(
        f'<trkpt lat="{latitude}" lon="{longitude}">{stamp}</trkpt>'
        for latitude, longitude in points
    )
    return f"<trkseg>{rows}</trkseg>"


def bogus_times() -> str:
    return gpx_text(f"<trk>{segment(WALK, BOGUS_TIME)}</trk>")


def no_times() -> str:
    return gpx_text(f"<trk>{segment(WALK, None)}</trk>")


def empty_segment() -> str:
    first, second = WALK[:20], WALK[20:]
    return gpx_text(
        f"<trk><trkseg></trkseg>{segment(first, None)}<trkseg/></trk>"
        f"<trk><name>empty</name><trkseg/></trk>"
        f"<trk>{segment(second, BOGUS_TIME)}</trk>"
    )


BAD_FILES: dict[str, Callable[[], str]] = {
    "bogus-1901-times": bogus_times,
    "no-times": no_times,
    "empty-segment": empty_segment,
}


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def nearest_walk_point_m(latitude: float, longitude: float) -> float:
    return min(
        haversine_distance(latitude, longitude, point_latitude, point_longitude)
        for point_latitude, point_longitude in WALK
    )


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_phone_walks_bad_track(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, f"{name}.gpx", BAD_FILES[name]())
    config = PhoneConfig(gps=GpsConfig(noise_m=0.0), legacy_share=0.0, track=path)
    walk = PhoneScenario(DAY_START, seed=SEED, walk_track=path).day(0)
    leg = walk.leg("morning walk")
    phone = PhoneSimulator(seed=SEED, config=config)

    emitted = collect([phone], DAY_START, leg.end + timedelta(minutes=10))

    assert phone.scenario is not None
    assert phone.scenario.day(0).leg("morning walk").end == leg.end
    fixes = [
        normalise(GPS, payload, received_at=leg.end)
        for payload in of_topic(emitted, GPS)
    ]
    during_walk = [fix for fix in fixes if leg.start <= fix.recorded_at <= leg.end]
    assert len(during_walk) >= 20
    for fix in during_walk:
        assert nearest_walk_point_m(fix.latitude, fix.longitude) < 30.0
    assert all(fix.recorded_at >= DAY_START for fix in fixes)
    home = next(region for region in phone.scenario.regions if region.name == "home")
    assert (home.latitude, home.longitude) == WALK[0]
    stays = [visit.name for visit in walk.stays]
    assert stays[:3] == ["viewpoint", "summit", "mountain-hut"]


def test_walk_keeps_its_duration(tmp_path: Path) -> None:
    # 2 km at 1.4 m/s is about 24 minutes of walking, plus the three stays.
    path = write(tmp_path, "walk.gpx", no_times())
    leg = (
        PhoneScenario(DAY_START, seed=SEED, walk_track=path).day(0).leg("morning walk")
    )

    moving = sum(((end - start) for start, end in leg.moving_intervals()), timedelta())

    assert moving.total_seconds() == pytest.approx(2_001 / 1.4, rel=0.01)


@pytest.mark.parametrize("points", [1, 3])
def test_short_track_drops_overlapping_stays(tmp_path: Path, points: int) -> None:
    text = gpx_text(f"<trk>{segment(WALK[:points], BOGUS_TIME)}</trk>")
    path = write(tmp_path, "short.gpx", text)
    phone = PhoneSimulator(
        seed=SEED, config=PhoneConfig(track=path, gps=GpsConfig(noise_m=0.0))
    )

    emitted = collect([phone], DAY_START, DAY_START + timedelta(hours=12))

    assert phone.scenario is not None
    day = phone.scenario.day(0)
    names = [region.name for region in phone.scenario.regions]
    assert names == ["home", "office"]
    assert day.leg("morning walk").track.visits == ()
    assert [conversation.place for conversation in day.conversations][1] == "walk"
    assert of_topic(emitted, GPS)


def test_track_without_points_names_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "nothing.gpx", gpx_text("<trk><trkseg></trkseg></trk><trk/>")
    )
    with pytest.raises(GpxError) as caught:
        PhoneSimulator(seed=SEED, config=PhoneConfig(track=path))

    assert str(path) in str(caught.value)
    assert "no usable track point" in str(caught.value)


def test_missing_track_names_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.gpx"

    with pytest.raises(GpxError) as caught:
        PhoneScenario(DAY_START, seed=SEED, walk_track=path)

    assert str(path) in str(caught.value)
    assert "failed to read the file" in str(caught.value)


# -- profile setting ---------------------------------------------------------------


def write_profile(directory: Path, track: str) -> Path:
    return write(
        directory,
        "walker.toml",
        "[simulators]\nenabled = true\ndesktop = false\n\n"
        f'[simulators.phone]\ntrack = "{track}"\n',
    )


def test_profile_track_is_relative_to_profile(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    (profiles / "tracks").mkdir(parents=True)
    track = write(profiles / "tracks", "walk.gpx", bogus_times())
    profile = write_profile(profiles, "tracks/walk.gpx")

    settings = load_settings(profile)
    scenario, devices = build_devices(settings, DAY_START)

    assert settings.simulators.phone["track"] == str(track)
    home = next(region for region in scenario.regions if region.name == "home")
    assert (home.latitude, home.longitude) == WALK[0]
    assert len(devices) == 1


def test_profile_without_track_walks_bundled() -> None:
    settings = load_settings(None, simulators={"enabled": True, "desktop": False})
    scenario, _ = build_devices(settings, DAY_START)
    bundled = PhoneScenario(DAY_START, seed=settings.seed)

    assert scenario.regions == bundled.regions


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("nothing.gpx", gpx_text("<trk><trkseg/></trk>"), "no usable track point"),
        ("broken.gpx", "<gpx><trk>", "not well-formed XML"),
    ],
    ids=["no-points", "not-xml"],
)
def test_profile_bad_track_is_rejected(
    tmp_path: Path, name: str, text: str, reason: str
) -> None:
    track = write(tmp_path, name, text)
    settings = load_settings(write_profile(tmp_path, name))

    with pytest.raises(ConfigurationError) as caught:
        build_devices(settings, DAY_START)

    message = str(caught.value)
    assert caught.value.key == "simulators.phone.track"
    assert str(track) in message
    assert reason in message


def test_profile_missing_track_is_rejected(tmp_path: Path) -> None:
    settings = load_settings(write_profile(tmp_path, "absent.gpx"))

    with pytest.raises(ConfigurationError) as caught:
        build_devices(settings, DAY_START)

    assert str(tmp_path / "absent.gpx") in str(caught.value)
    assert "failed to read the file" in str(caught.value)
