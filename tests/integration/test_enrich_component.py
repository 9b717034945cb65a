"""The enrich component in a test pipeline: steps, motion, geofences,
geocoding and activity, checked against simulator ground truth.

The module runs on the memory broker unless ``--loomlite-broker`` selects
another, because its tests publish thousands of accelerometer readings. On
the durable broker each publish waits for a SQLite commit (about 70 s in all).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loomlite.components.enrich.component import INPUT_TOPICS, EnrichComponent
from loomlite.components.enrich.geo import haversine_distance
from loomlite.components.ids import derived_id, window_id
from loomlite.contract.models import (
    AccelerometerReading,
    ActivityClassification,
    DerivedSteps,
    GeocodedPlace,
    GeoregionEvent,
    GPSReading,
    SignificantMotion,
)
from loomlite.errors import ComponentError
from loomlite.runtime import LoomliteSettings
from loomlite.testing import Pipeline
from simulators.gait import GaitConfig, GaitGenerator, GaitRecording, still, walk
from simulators.gpx import DRIVING_SPEED_MPS, bundled_track_path, read_gpx
from simulators.track import Position, Track, Visit, sample_fixes
from tests.integration.support import PipelineFactory, fast_settings

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEVICE = "phone-1"

GPS = "device.sensor.gps.raw"
ACCELEROMETER = "device.sensor.accelerometer.raw"
PLACES = "location.address.geocoded"
REGION_EVENTS = "location.georegion.detected"
DERIVED_STEPS = "device.health.steps.derived"
MOTION_EVENTS = "motion.events.significant"
ACTIVITIES = "motion.classification.activity"

# Four minutes of walking between still periods, starting off the minute grid.
GAIT_START = START + timedelta(seconds=17.3)
GAIT_PLAN = (still(40), walk(240), still(160))
# The step counter's and motion detector's default lateness is 10 s, the
# geofence tracker's 30 s.
ACCELEROMETER_DELAY = timedelta(seconds=9.9)
GPS_DELAY = timedelta(seconds=29)


# Nominal accelerometer rate of the tests that do not measure step accuracy,
# the rate of loomlite's simulated phone.
RATE = 10.0


@functools.cache
def gait(rate: float = RATE, seed: int = 3) -> GaitRecording:
    config = GaitConfig(nominal_rate_hz=rate, jitter=0.2)
    return GaitGenerator(seed=seed, config=config).generate(GAIT_START, GAIT_PLAN)


def readings(recording: GaitRecording) -> list[AccelerometerReading]:
    return [
        AccelerometerReading(
            device_id=DEVICE,
            recorded_at=sample.recorded_at,
            received_at=sample.recorded_at,
            x=sample.x,
            y=sample.y,
            z=sample.z,
        )
        for sample in recording.samples
    ]


@functools.cache
def car_trip() -> Track:
    """Return the car trip around Višnjan with two 5-minute stops."""
    gpx = read_gpx(bundled_track_path("around-visnjan-with-car.gpx"))
    count = len(gpx.track_points())
    visits = [
        Visit("first", count // 4, timedelta(minutes=5)),
        Visit("second", 3 * count // 4, timedelta(minutes=5)),
    ]
    return Track.from_gpx(gpx, start=START, speed_mps=DRIVING_SPEED_MPS, visits=visits)


def fixes(positions: Sequence[Position]) -> list[GPSReading]:
    return [
        GPSReading(
            device_id=DEVICE,
            recorded_at=position.recorded_at,
            received_at=position.recorded_at,
            latitude=position.latitude,
            longitude=position.longitude,
            accuracy=position.accuracy,
            speed=position.speed,
            heading=position.heading,
        )
        for position in positions
    ]


def trip_fixes() -> list[GPSReading]:
    track = car_trip()
    return fixes(
        sample_fixes(track, interval=timedelta(seconds=5), noise_m=4.0, seed=1)
    )


def regions(radius_m: float = 40.0) -> list[dict[str, Any]]:
    return [
        {
            "name": visit.name,
            "latitude": visit.latitude,
            "longitude": visit.longitude,
            "radius_m": radius_m,
        }
        for visit in car_trip().visits
    ]


def bounded_shuffle(messages: Sequence[Any], delay: timedelta, seed: int) -> list[Any]:
    """Return ``messages`` in an arrival order where each arrives up to ``delay`` late.

    A message can then arrive after another only if it is at most ``delay``
    older, which keeps every message within a lateness bound of ``delay``.
    """
    generator = random.Random(seed)
    seconds = delay.total_seconds()
    delays = [generator.uniform(0.0, seconds) for _ in messages]
    order = sorted(
        range(len(messages)),
        key=lambda index: (
            messages[index].recorded_at + timedelta(seconds=delays[index])
        ),
    )
    return [messages[index] for index in order]


def settings(**enrich: Any) -> LoomliteSettings:
    return fast_settings({"enrich": {"regions": regions(), **enrich}})


def make_runtime(
    make_pipeline: PipelineFactory, configuration: LoomliteSettings | None = None
) -> Pipeline:
    return make_pipeline(
        settings=configuration or settings(),
        components=[EnrichComponent()],
        inputs=INPUT_TOPICS,
        db=None,
        start=START,
    )


async def run(
    make_pipeline: PipelineFactory,
    gps: Sequence[GPSReading] = (),
    accelerometer: Sequence[AccelerometerReading] = (),
    configuration: LoomliteSettings | None = None,
) -> Pipeline:
    """Publish the readings, run until idle, then stop (which drains).

    Returns the stopped pipeline, whose ``messages`` lists what was published.
    """
    async with make_runtime(make_pipeline, configuration) as runtime:
        for fix in gps:
            await runtime.publish(GPS, fix)
        for reading in accelerometer:
            await runtime.publish(ACCELEROMETER, reading)
        await runtime.run_until_idle(timeout=60)
    return runtime


def comparable(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """Return the messages as dicts without ``received_at``, in event-time order."""
    dumped = [message.model_dump(exclude={"received_at"}) for message in messages]
    return sorted(dumped, key=lambda item: (item["recorded_at"], item["message_id"]))


# -- steps and motion ----------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("rate", [10.0, 25.0])
async def test_steps_match_gait_truth(
    loomlite_pipeline: PipelineFactory, rate: float, record_property: Any
) -> None:
    recording = gait(rate)

    runtime = await run(loomlite_pipeline, accelerometer=readings(recording))

    windows: list[DerivedSteps] = runtime.messages(DERIVED_STEPS)
    counted = sum(window.step_count for window in windows)
    truth = recording.truth.total_steps
    error = abs(counted - truth) / truth
    record_property("step_count_error", round(error, 4))
    assert error <= 0.05, f"{counted} steps counted, {truth} taken ({error:.1%})"
    for window in windows:
        assert window.message_id == window_id(DEVICE, "steps", window.window_start)
        assert window.recorded_at == window.window_start
        assert window.sample_rate_hz == pytest.approx(rate, rel=0.25)


@pytest.mark.anyio
async def test_drain_publishes_last_windows(loomlite_pipeline: PipelineFactory) -> None:
    async with make_runtime(loomlite_pipeline) as runtime:
        for reading in readings(gait()):
            await runtime.publish(ACCELEROMETER, reading)
        await runtime.run_until_idle(timeout=60)
        before_stop = len(runtime.messages(DERIVED_STEPS))

    windows: list[DerivedSteps] = runtime.messages(DERIVED_STEPS)
    assert len(windows) > before_stop
    last_sample = gait().samples[-1].recorded_at
    assert windows[-1].window_start <= last_sample < windows[-1].window_end


@pytest.mark.anyio
async def test_motion_event_matches_walk(loomlite_pipeline: PipelineFactory) -> None:
    recording = gait()

    runtime = await run(loomlite_pipeline, accelerometer=readings(recording))

    events: list[SignificantMotion] = runtime.messages(MOTION_EVENTS)
    walking = recording.truth.walking_intervals
    assert len(events) == len(walking) == 1
    event, interval = events[0], walking[0]
    assert abs(event.window_start - interval.start) <= timedelta(seconds=4)
    assert abs(event.window_end - interval.end) <= timedelta(seconds=6)
    assert event.motion_type == "walking"
    # The simulated phone lies flat, so the step pulses are vertical (z).
    assert event.dominant_axis == "z"
    assert event.sample_rate_hz == pytest.approx(RATE, rel=0.2)
    assert 0.5 <= event.confidence <= 1.0
    assert event.max_acceleration >= event.avg_acceleration > 0
    assert event.message_id == window_id(DEVICE, "motion", event.window_start)


@pytest.mark.anyio
@pytest.mark.parametrize("seed", [1, 2])
async def test_shuffled_arrival_same_outputs(
    loomlite_pipeline: PipelineFactory, seed: int
) -> None:
    accelerometer = readings(gait())
    gps = trip_fixes()
    shuffled_accelerometer = bounded_shuffle(accelerometer, ACCELEROMETER_DELAY, seed)
    shuffled_gps = bounded_shuffle(gps, GPS_DELAY, seed)
    assert shuffled_accelerometer != accelerometer
    assert shuffled_gps != gps

    in_order = await run(loomlite_pipeline, gps, accelerometer)
    shuffled = await run(loomlite_pipeline, shuffled_gps, shuffled_accelerometer)

    for topic in (DERIVED_STEPS, MOTION_EVENTS, REGION_EVENTS):
        expected = comparable(in_order.messages(topic))
        assert expected, f"no messages on {topic}"
        assert comparable(shuffled.messages(topic)) == expected, topic


# -- location ------------------------------------------------------------------


def first_inside(
    track: Track, region: dict[str, Any], after: datetime
) -> datetime | None:
    """Return the first second after ``after`` when the noiseless track is inside."""
    moment = after
    while moment <= track.end:
        if distance_to(track, region, moment) <= region["radius_m"]:
            return moment
        moment += timedelta(seconds=1)
    return None


def distance_to(track: Track, region: dict[str, Any], moment: datetime) -> float:
    position = track.position_at(moment)
    return haversine_distance(
        region["latitude"], region["longitude"], position.latitude, position.longitude
    )


@pytest.mark.anyio
async def test_geofence_events_match_visits(loomlite_pipeline: PipelineFactory) -> None:
    track = car_trip()
    gps = trip_fixes()
    by_id = {fix.message_id: fix for fix in gps}

    runtime = await run(loomlite_pipeline, gps)

    events: list[GeoregionEvent] = runtime.messages(REGION_EVENTS)
    assert [(event.region_name, event.event) for event in events] == [
        ("first", "enter"),
        ("first", "exit"),
        ("second", "enter"),
        ("second", "exit"),
    ]
    previous_exit = track.start
    for visit, region in zip(track.visits, regions(), strict=True):
        enter, exit_ = [event for event in events if event.region_name == visit.name]
        # The real car of this track parked near the second visit point a
        # while before the visit, so the entry is checked against the moment
        # the noiseless track first comes within the radius.
        arrived = first_inside(track, region, previous_exit)
        assert arrived is not None
        assert abs(enter.recorded_at - arrived) <= timedelta(seconds=15)
        assert enter.recorded_at <= visit.arrival
        assert visit.departure <= exit_.recorded_at
        assert exit_.recorded_at <= visit.departure + timedelta(seconds=30)
        moment = enter.recorded_at + timedelta(seconds=15)
        while moment < visit.departure:
            margin = region["radius_m"] + 25.0  # the default exit margin
            assert distance_to(track, region, moment) <= margin, moment
            moment += timedelta(seconds=5)
        previous_exit = exit_.recorded_at
    for event in events:
        source = by_id[event.source_message_id]
        assert event.recorded_at == source.recorded_at
        assert event.trace_id == source.trace_id
        assert (event.latitude, event.longitude) == (source.latitude, source.longitude)
        assert event.message_id == derived_id(source.message_id, "georegion", 0)


@pytest.mark.anyio
async def test_geocoding_names_known_places(loomlite_pipeline: PipelineFactory) -> None:
    gps = trip_fixes()
    at_sea = GPSReading(
        device_id=DEVICE,
        recorded_at=START,
        received_at=START,
        latitude=0.0,
        longitude=-30.0,
    )

    runtime = await run(loomlite_pipeline, [*gps, at_sea])

    places: list[GeocodedPlace] = runtime.messages(PLACES)
    assert len(places) == len(gps)
    assert "Višnjan" in {place.place_name for place in places}
    by_id = {fix.message_id: fix for fix in gps}
    for place in places:
        fix = by_id[place.source_message_id]
        assert place.trace_id == fix.trace_id
        assert place.recorded_at == fix.recorded_at
        assert place.message_id == derived_id(fix.message_id, "geocoding")
        assert place.backend == "simulated-places"
        assert place.country_code == "HR"


# -- activity ------------------------------------------------------------------


def within(
    activity: ActivityClassification, start: datetime, end: datetime, margin: float
) -> bool:
    pad = timedelta(seconds=margin)
    return start + pad <= activity.window_start and activity.window_end <= end - pad


@pytest.mark.anyio
async def test_activity_walking_and_stationary(
    loomlite_pipeline: PipelineFactory,
) -> None:
    recording = gait()

    runtime = await run(loomlite_pipeline, accelerometer=readings(recording))

    activities: list[ActivityClassification] = runtime.messages(ACTIVITIES)
    assert activities
    starts = [activity.window_start for activity in activities]
    assert starts == sorted(set(starts))
    walking = recording.truth.walking_intervals[0]
    inside_walk = [a for a in activities if within(a, walking.start, walking.end, 0)]
    assert len(inside_walk) >= 3
    assert {activity.activity_type for activity in inside_walk} == {"walking"}
    for activity in inside_walk:
        assert activity.step_count is not None and activity.step_count > 60

    end = recording.samples[-1].recorded_at
    resting = [a for a in activities if within(a, walking.end, end, 15)]
    assert resting
    assert {activity.activity_type for activity in resting} == {"stationary"}
    for activity in activities:
        assert activity.message_id == window_id(
            DEVICE, "activity_classification", activity.window_start
        )


def mean_track_speed(track: Track, start: datetime, end: datetime) -> float:
    """Return the noiseless track's mean speed in m/s over [start, end).

    The speed is read every 5 s from the window start, at the same instants
    as the fixes of ``trip_fixes``, whose noise moves positions but not speeds.
    """
    moments = [start + timedelta(seconds=second) for second in range(0, 60, 5)]
    speeds = [track.position_at(moment).speed for moment in moments if moment < end]
    return sum(speeds) / len(speeds)


@pytest.mark.anyio
async def test_activity_vehicle_from_gps_only(
    loomlite_pipeline: PipelineFactory,
) -> None:
    # Without an accelerometer no derived steps pace the windows, so they
    # are all classified when the runtime stops.
    track = car_trip()

    runtime = await run(loomlite_pipeline, trip_fixes())

    activities: list[ActivityClassification] = runtime.messages(ACTIVITIES)
    inside = [a for a in activities if within(a, track.start, track.end, 0)]
    speeds = {
        a.window_start: mean_track_speed(track, a.window_start, a.window_end)
        for a in inside
    }
    driving = [a for a in inside if speeds[a.window_start] > 5.5]
    parked = [a for a in inside if speeds[a.window_start] < 0.4]
    assert len(driving) >= 3
    assert len(parked) >= 6
    assert {activity.activity_type for activity in driving} == {"vehicle"}
    assert {activity.activity_type for activity in parked} == {"stationary"}
    for activity in driving:
        assert activity.avg_speed_ms is not None and activity.avg_speed_ms > 5.0
        assert activity.distance_meters is not None and activity.distance_meters > 300
        assert activity.start_location is not None
        assert activity.end_location is not None
        assert activity.step_count is None
        assert activity.motion_events_count == 0


# -- configuration -------------------------------------------------------------


@pytest.mark.anyio
async def test_invalid_detector_setting_fails(
    loomlite_pipeline: PipelineFactory,
) -> None:
    configuration = fast_settings(
        {"enrich": {"steps": {"window": 0}}}, restart_max_attempts=1
    )

    async with make_runtime(loomlite_pipeline, configuration) as runtime:
        with pytest.raises(ComponentError, match=r"components\.enrich\.steps\.window"):
            await runtime.run_until_idle(timeout=10)


@pytest.mark.anyio
async def test_flush_publishes_while_running(
    loomlite_pipeline: PipelineFactory,
) -> None:
    recording = gait()

    async with make_runtime(loomlite_pipeline) as runtime:
        for reading in readings(recording):
            await runtime.publish(ACCELEROMETER, reading)
        await runtime.run_until_idle(timeout=60)
        await runtime.flush(timeout=60)
        flushed_steps = runtime.messages(DERIVED_STEPS)
        flushed_activities = runtime.messages(ACTIVITIES)

    assert sum(window.step_count for window in flushed_steps) == pytest.approx(
        recording.truth.total_steps, rel=0.05
    )
    # The drain at stop finds nothing left to publish.
    assert len(runtime.messages(DERIVED_STEPS)) == len(flushed_steps)
    assert len(runtime.messages(ACTIVITIES)) == len(flushed_activities)
    starts = [activity.window_start for activity in flushed_activities]
    assert starts == sorted(set(starts))
    last_sample = recording.samples[-1].recorded_at
    assert flushed_activities[-1].window_start <= last_sample
    assert last_sample < flushed_activities[-1].window_end
