"""The phone owner's day: movement, regions, Wi-Fi, charging and routine."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from loomlite.components.enrich.geo import destination_point, haversine_distance
from loomlite.runtime.settings import GeofenceRegionSettings
from simulators import PhoneConfig, PhoneScenario, PhoneSimulator
from simulators.config import GpsConfig
from simulators.gpx import DRIVING_SPEED_MPS, WALKING_SPEED_MPS
from simulators.places import Region, region_crossings
from simulators.scenario import HIGHWAY_SPEED_MPS, DayPlan
from tests.unit.simulators.driving import collect

SEED = 11
START = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def scenario() -> PhoneScenario:
    return PhoneScenario(START, seed=SEED)


@pytest.fixture(scope="module")
def day(scenario: PhoneScenario) -> DayPlan:
    return scenario.day(0)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


# -- the plan -------------------------------------------------------------------


def test_day_runs_in_order(day: DayPlan) -> None:
    walk, drive_out, car, drive_home = day.legs
    assert [leg.name for leg in day.legs] == [
        "morning walk",
        "drive out",
        "car trip",
        "drive home",
    ]
    assert day.start < day.wake < walk.start
    assert walk.end < drive_out.start
    assert drive_out.end == car.start
    assert car.end == drive_home.start
    assert drive_home.end < day.bedtime < day.end


def test_wake_and_bedtime_are_in_their_windows(scenario: PhoneScenario) -> None:
    for index in range(3):
        plan = scenario.day(index)
        assert plan.start + hours(6.5) <= plan.wake <= plan.start + hours(7.25)
        assert plan.start + hours(22.5) <= plan.bedtime <= plan.start + hours(23.5)


def test_walk_is_retimed_at_walking_speed(day: DayPlan) -> None:
    walk = day.leg("morning walk")
    moving = sum((end - start for start, end in walk.moving_intervals()), timedelta())
    speed = walk.track.length_m / moving.total_seconds()
    assert speed == pytest.approx(WALKING_SPEED_MPS, rel=0.01)


def test_drives_use_their_speeds(day: DayPlan) -> None:
    car = day.leg("car trip")
    moving = sum((end - start for start, end in car.moving_intervals()), timedelta())
    assert car.track.length_m / moving.total_seconds() == pytest.approx(
        DRIVING_SPEED_MPS, rel=0.01
    )
    for name in ("drive out", "drive home"):
        leg = day.leg(name)
        duration = (leg.end - leg.start).total_seconds()
        assert leg.track.length_m / duration == pytest.approx(HIGHWAY_SPEED_MPS)


def test_walk_stays_at_three_places(day: DayPlan) -> None:
    walk = day.leg("morning walk")
    assert [visit.name for visit in walk.track.visits] == [
        "viewpoint",
        "summit",
        "mountain-hut",
    ]
    for visit in walk.track.visits:
        assert visit.departure - visit.arrival >= timedelta(minutes=4)


def test_positions_never_jump(day: DayPlan) -> None:
    step = timedelta(seconds=10)
    limit = HIGHWAY_SPEED_MPS * step.total_seconds() * 1.05
    moment = day.start
    previous = day.position_at(moment)
    while moment < day.end:
        moment += step
        position = day.position_at(moment)
        moved = haversine_distance(
            previous.latitude, previous.longitude, position.latitude, position.longitude
        )
        assert moved <= limit, moment
        previous = position


def test_days_start_and_end_at_home(scenario: PhoneScenario) -> None:
    for index in range(2):
        plan = scenario.day(index)
        assert scenario.region_at(plan.start) == "home"
        assert scenario.region_at(plan.end - timedelta(seconds=1)) == "home"


def test_activity_follows_plan(day: DayPlan) -> None:
    walk = day.leg("morning walk")
    summit = walk.track.visits[1]
    assert day.activity_at(day.start + hours(3)) == "sleeping"
    assert day.activity_at(walk.start + timedelta(seconds=30)) == "walking"
    assert day.activity_at(summit.arrival + timedelta(minutes=1)) == "still"
    drive = day.leg("drive out")
    assert day.activity_at(drive.start + timedelta(minutes=10)) == "driving"
    assert day.activity_at(day.bedtime + timedelta(minutes=1)) == "sleeping"


def test_same_seed_gives_same_plan() -> None:
    first = PhoneScenario(START, seed=SEED).day(0)
    second = PhoneScenario(START, seed=SEED).day(0)
    assert first.wake == second.wake
    assert first.crossings == second.crossings
    assert first.screen_sessions == second.screen_sessions
    assert first.conversations == second.conversations


def test_other_seed_gives_other_plan(day: DayPlan) -> None:
    other = PhoneScenario(START, seed=SEED + 1).day(0)
    assert other.wake != day.wake
    assert other.conversations != day.conversations


def test_days_differ_from_each_other(scenario: PhoneScenario) -> None:
    assert scenario.day(0).wake - scenario.day(0).start != (
        scenario.day(1).wake - scenario.day(1).start
    )
    assert scenario.day_at(START + hours(30)).index == 1
    assert scenario.day_at(START - hours(1)).index == 0


# -- regions --------------------------------------------------------------------


def test_regions_do_not_overlap(scenario: PhoneScenario) -> None:
    for first, second in itertools.combinations(scenario.regions, 2):
        gap = first.distance_m(second.latitude, second.longitude)
        assert gap > first.radius_m + second.radius_m


def test_regions_config_fits_geofence_settings(scenario: PhoneScenario) -> None:
    entries = scenario.regions_config()
    assert [entry["name"] for entry in entries] == [
        "home",
        "viewpoint",
        "summit",
        "mountain-hut",
        "office",
    ]
    for entry in entries:
        GeofenceRegionSettings(**entry)


def test_crossings_alternate_per_region(day: DayPlan) -> None:
    for region in {crossing.region for crossing in day.crossings}:
        events = [c.event for c in day.crossings if c.region == region]
        assert events == ["enter", "exit"] * (len(events) // 2)


def test_crossings_are_on_region_boundaries(
    scenario: PhoneScenario, day: DayPlan
) -> None:
    regions = {region.name: region for region in scenario.regions}
    for crossing in day.crossings:
        if crossing.at in (day.start, day.end):
            continue
        position = day.position_at(crossing.at)
        region = regions[crossing.region]
        distance = region.distance_m(position.latitude, position.longitude)
        assert distance == pytest.approx(region.radius_m, abs=0.1)


def test_every_stay_lies_inside_a_visit(day: DayPlan) -> None:
    for stay in day.stays:
        visits = zip(
            [c for c in day.crossings if c.region == stay.name and c.event == "enter"],
            [c for c in day.crossings if c.region == stay.name and c.event == "exit"],
            strict=True,
        )
        assert any(
            enter.at <= stay.arrival and stay.departure <= leave.at
            for enter, leave in visits
        ), stay.name


def test_region_crossings_on_straight_line() -> None:
    origin = (46.0, 14.0)
    centre = destination_point(*origin, 90.0, 100.0)
    region = Region("target", centre[0], centre[1], 50.0)
    start = datetime(2024, 1, 1, tzinfo=UTC)

    def position_at(moment: datetime) -> tuple[float, float]:
        seconds = (moment - start).total_seconds()
        return destination_point(*origin, 90.0, seconds)

    crossings = region_crossings([region], position_at, start, start + hours(0.1), 1.0)
    assert [c.event for c in crossings] == ["enter", "exit"]
    assert (crossings[0].at - start).total_seconds() == pytest.approx(50.0, abs=0.01)
    assert (crossings[1].at - start).total_seconds() == pytest.approx(150.0, abs=0.01)


# -- networks, charging and routine ---------------------------------------------


def test_wifi_changes_with_place(scenario: PhoneScenario, day: DayPlan) -> None:
    home = scenario.wifi_at(day.start + hours(2))
    assert home is not None
    assert home.ssid == "Home-2G"
    hut = next(v for v in day.stays if v.name == "mountain-hut")
    at_hut = scenario.wifi_at(hut.arrival + timedelta(minutes=5))
    assert at_hut is not None
    assert at_hut.ssid == "Koca-Guest"
    office = next(v for v in day.stays if v.name == "office")
    at_office = scenario.wifi_at(office.arrival + hours(1))
    assert at_office is not None
    assert at_office.ssid == "Office-5G"
    for start, end in day.intervals_of("driving"):
        middle = start + (end - start) / 2
        assert scenario.wifi_at(middle) is None


def test_bluetooth_changes_with_place(scenario: PhoneScenario, day: DayPlan) -> None:
    def names(moment: datetime) -> set[str]:
        return {device.name for device in scenario.bluetooth_at(moment)}

    drive = day.leg("drive out")
    assert names(day.start + hours(2)) == {"Watch", "Living room speaker", "TV"}
    assert names(drive.start + hours(0.5)) == {"Watch", "Car kit"}


def test_phone_charges_at_night(scenario: PhoneScenario, day: DayPlan) -> None:
    assert scenario.is_charging(day.start + hours(3))
    assert not scenario.is_charging(day.start + hours(12))
    assert scenario.is_charging(day.bedtime + timedelta(minutes=1))


def test_conversations_happen_at_their_places(
    scenario: PhoneScenario, day: DayPlan
) -> None:
    assert [c.place for c in day.conversations] == [
        "home",
        "mountain-hut",
        "office",
        "home",
    ]
    for conversation in day.conversations:
        assert scenario.region_at(conversation.start) == conversation.place
        assert scenario.region_at(conversation.end) == conversation.place
        assert 2 <= len(conversation.recordings) <= 3
        for earlier, later in itertools.pairwise(conversation.recordings):
            assert later.start - earlier.end >= timedelta(seconds=6)


def test_screen_sessions_avoid_driving(day: DayPlan) -> None:
    driving = day.intervals_of("driving")
    for session in day.screen_sessions:
        assert all(session.end <= s or session.start >= e for s, e in driving)


def test_app_uses_fill_each_session(day: DayPlan) -> None:
    for earlier, later in itertools.pairwise(day.screen_sessions):
        assert earlier.end < later.start
    for session in day.screen_sessions:
        assert session.apps[0].start == session.start
        assert session.apps[-1].end == session.end
        for first, second in itertools.pairwise(session.apps):
            assert first.end == second.start
            assert first.package != second.package


def test_battery_charges_overnight(scenario: PhoneScenario) -> None:
    phone = PhoneSimulator(
        seed=SEED,
        scenario=scenario,
        config=PhoneConfig(gps=GpsConfig(enabled=False)),
    )
    emitted = collect([phone], START, scenario.day(0).wake)
    levels = [
        payload.get("battery_level", payload.get("data", {}).get("battery_level"))
        for topic, payload in emitted
        if topic == "device.state.power.raw"
    ]
    assert levels[-1] == 100.0
    assert levels == sorted(levels)


def test_home_visit_continues_across_midnight(scenario: PhoneScenario) -> None:
    phone = PhoneSimulator(
        seed=SEED,
        scenario=scenario,
        config=PhoneConfig(gps=GpsConfig(enabled=False)),
    )
    midnight = START + timedelta(days=1)
    collect([phone], midnight - timedelta(minutes=10), midnight + timedelta(minutes=10))
    assert len(phone.truth.places) == 1
    visit = phone.truth.places[0]
    assert visit.region == "home"
    assert visit.enter == midnight - timedelta(minutes=10)
    assert visit.exit is None
