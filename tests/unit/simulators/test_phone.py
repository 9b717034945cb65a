"""The phone simulator: payload shapes, determinism, GPS, steps, audio, screens."""

from __future__ import annotations

import base64
import functools
import itertools
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import numpy as np
import pytest

from loomlite._fixtures import fixture_path
from loomlite.clock import ManualClock
from loomlite.contract import CATALOG, normalise
from loomlite.errors import LifecycleError
from simulators import (
    GpsConfig,
    PeriodicConfig,
    PhoneConfig,
    PhoneScenario,
    PhoneSimulator,
    SimulatorState,
    run_simulators,
)
from simulators.gait import GaitConfig, GaitGenerator
from simulators.gpx import bundled_track_path, read_gpx
from simulators.media import load_speech
from simulators.scenario import CAR_TRACK, WALK_TRACK
from tests.unit.simulators.driving import (
    Emitted,
    audio_field,
    collect,
    digests,
    of_topic,
    read_wav,
)

SEED = 3
DAY_START = datetime(2024, 6, 1, tzinfo=UTC)
RECEIVED = datetime(2024, 6, 2, tzinfo=UTC)
EVERY_SOURCE = PhoneConfig.every_source(gps=GpsConfig(noise_m=0.0), legacy_share=0.25)


@dataclass
class HourRun:
    phone: PhoneSimulator
    emitted: Emitted
    start: datetime
    until: datetime


@pytest.fixture(scope="module")
def scenario() -> PhoneScenario:
    return PhoneScenario(DAY_START, seed=SEED)


@pytest.fixture(scope="module")
def hour(scenario: PhoneScenario) -> HourRun:
    """An hour around the talk at the mountain hut, with every source on."""
    hut_talk = scenario.day(0).conversations[1]
    start = hut_talk.start - timedelta(minutes=30)
    until = start + timedelta(hours=1)
    phone = PhoneSimulator(seed=SEED, config=EVERY_SOURCE, scenario=scenario)
    return HourRun(phone, collect([phone], start, until), start, until)


def event_time(topic: str, payload: dict[str, Any]) -> datetime:
    return normalise(topic, payload, received_at=RECEIVED).recorded_at


# -- shapes ---------------------------------------------------------------------


def test_hour_payloads_normalise_to_topic_models(hour: HourRun) -> None:
    for topic, payload in hour.emitted:
        model = normalise(topic, payload, received_at=RECEIVED)
        assert type(model) is CATALOG.get(topic).model, topic


def test_hour_covers_every_phone_topic(hour: HourRun) -> None:
    topics = {topic for topic, _ in hour.emitted}
    assert topics == {
        "device.sensor.gps.raw",
        "device.sensor.accelerometer.raw",
        "device.state.power.raw",
        "device.network.wifi.raw",
        "device.network.bluetooth.raw",
        "device.health.heartrate.raw",
        "device.audio.raw",
        "device.image.screenshot.raw",
        "device.system.apps.android.raw",
        "device.app_usage.android.aggregated",
        "device.metadata.raw",
        "os.events.system.raw",
        "os.events.app_lifecycle.raw",
        "os.events.notifications.raw",
    }


def test_hour_includes_legacy_shapes(hour: HourRun) -> None:
    def nested(topic: str) -> list[dict[str, Any]]:
        return [p for p in of_topic(hour.emitted, topic) if "data" in p]

    assert nested("device.sensor.accelerometer.raw")
    assert nested("device.health.heartrate.raw")
    assert nested("device.state.power.raw")
    assert any("bearing" in p for p in of_topic(hour.emitted, "device.sensor.gps.raw"))
    unified = [
        p
        for p in of_topic(hour.emitted, "device.audio.raw")
        if p.get("message_type") == "audio_chunk"
    ]
    assert unified
    assert all("chunk_data" in p["data"] for p in unified)


def test_message_ids_are_unique(hour: HourRun) -> None:
    ids = [
        payload.get("message_id") or payload["data"]["message_id"]
        for _, payload in hour.emitted
    ]
    assert len(set(ids)) == len(ids)


def test_device_id_is_uuid_format(hour: HourRun) -> None:
    assert len(hour.phone.device_id) == 36
    assert hour.phone.device_id.count("-") == 4


# -- determinism ----------------------------------------------------------------


def short_run(seed: int, config: PhoneConfig = EVERY_SOURCE) -> Emitted:
    scenario = PhoneScenario(DAY_START, seed=SEED)
    talk = scenario.day(0).conversations[1]
    phone = PhoneSimulator(seed=seed, config=config, scenario=scenario)
    return collect(
        [phone], talk.start - timedelta(minutes=5), talk.end + timedelta(minutes=5)
    )


def test_same_seed_gives_identical_payloads() -> None:
    first = short_run(SEED)
    second = short_run(SEED)
    assert digests(first) == digests(second)


def test_other_seed_gives_other_payloads() -> None:
    first = short_run(SEED)
    other = short_run(SEED + 1)
    assert set(digests(first)).isdisjoint(digests(other))


def test_switching_a_source_off_leaves_others_alone() -> None:
    with_accelerometer = short_run(SEED)
    without = short_run(
        SEED,
        EVERY_SOURCE.model_copy(
            update={"accelerometer": EVERY_SOURCE.accelerometer.with_enabled(False)}
        ),
    )
    for topic in (
        "device.sensor.gps.raw",
        "device.audio.raw",
        "device.state.power.raw",
    ):
        kept = [(t, p) for t, p in with_accelerometer if t == topic]
        assert digests(kept) == digests([(t, p) for t, p in without if t == topic])
    assert not of_topic(without, "device.sensor.accelerometer.raw")


# -- sources and intervals ------------------------------------------------------


def test_disabled_sources_send_nothing() -> None:
    only_battery = PhoneConfig(
        gps=GpsConfig(enabled=False),
        wifi=PeriodicConfig(enabled=False),
        bluetooth=PeriodicConfig(enabled=False),
        heart_rate=PeriodicConfig(enabled=False),
        app_monitoring=PeriodicConfig(enabled=False),
        screen_events=PhoneConfig().screen_events.with_enabled(False),
        app_events=PhoneConfig().app_events.with_enabled(False),
    )
    phone = PhoneSimulator(seed=SEED, config=only_battery)
    start = DAY_START + timedelta(hours=12)
    emitted = collect([phone], start, start + timedelta(minutes=10))
    assert {topic for topic, _ in emitted} == {"device.state.power.raw"}
    assert len(emitted) == 10


def test_battery_interval_is_configurable() -> None:
    config = PhoneConfig(
        gps=GpsConfig(enabled=False),
        battery=PeriodicConfig(interval=timedelta(seconds=15)),
    )
    phone = PhoneSimulator(seed=SEED, config=config)
    start = DAY_START + timedelta(hours=12)
    emitted = collect([phone], start, start + timedelta(minutes=10))
    assert len(of_topic(emitted, "device.state.power.raw")) == 40


def test_battery_reports_charge_change_at_wake(scenario: PhoneScenario) -> None:
    wake = scenario.day(0).wake
    config = PhoneConfig(gps=GpsConfig(enabled=False))
    phone = PhoneSimulator(seed=SEED, config=config, scenario=scenario)
    emitted = collect([phone], wake - timedelta(minutes=3), wake + timedelta(minutes=3))
    readings = [
        (event_time("device.state.power.raw", p), p)
        for p in of_topic(emitted, "device.state.power.raw")
    ]
    at_wake = [p for moment, p in readings if moment == wake]
    assert len(at_wake) == 1
    charging = [
        p.get("is_charging", p.get("data", {}).get("is_charging")) for _, p in readings
    ]
    assert charging[0] is True
    assert charging[-1] is False


def test_wifi_sent_only_on_a_network(hour: HourRun) -> None:
    scenario = hour.phone.scenario
    assert scenario is not None
    for payload in of_topic(hour.emitted, "device.network.wifi.raw"):
        moment = event_time("device.network.wifi.raw", payload)
        network = scenario.wifi_at(moment)
        assert network is not None
        assert payload["ssid"] == network.ssid


def test_phone_without_scenario_plans_from_clock() -> None:
    phone = PhoneSimulator(seed=SEED, config=PhoneConfig(gps=GpsConfig(enabled=False)))
    start = datetime(2024, 7, 1, 5, 30, tzinfo=UTC)
    collect([phone], start, start + timedelta(minutes=2))
    assert phone.scenario is not None
    assert phone.scenario.start == start


def test_run_twice_raises_lifecycle_error() -> None:
    phone = PhoneSimulator(seed=SEED, config=PhoneConfig(gps=GpsConfig(enabled=False)))
    start = DAY_START + timedelta(hours=12)
    collect([phone], start, start + timedelta(minutes=1))
    assert phone.state is SimulatorState.FINISHED

    async def emit(topic: str, payload: dict[str, Any]) -> None:
        raise AssertionError("a finished simulator must not emit")

    clock = ManualClock(start + timedelta(minutes=1))
    again = functools.partial(
        phone.run, clock, emit, until=start + timedelta(minutes=2)
    )
    with pytest.raises(LifecycleError, match="simulator 'phone' is finished"):
        anyio.run(again)


def test_run_simulators_reports_blocked_emit() -> None:
    phone = PhoneSimulator(seed=SEED, config=PhoneConfig(gps=GpsConfig(enabled=False)))
    start = DAY_START + timedelta(hours=12)
    clock = ManualClock(start)
    never = anyio.Event()

    async def emit(topic: str, payload: dict[str, Any]) -> None:
        await never.wait()

    run = functools.partial(
        run_simulators, [phone], clock, emit, until=start + timedelta(minutes=5)
    )
    with pytest.raises(RuntimeError, match=r"1 simulator\(s\) are blocked"):
        anyio.run(run)


# -- GPS ------------------------------------------------------------------------


def track_points(name: str) -> list[tuple[float, float]]:
    gpx = read_gpx(bundled_track_path(name))
    return [(point.latitude, point.longitude) for point in gpx.track_points()]


def distance_to_polyline(
    latitude: float, longitude: float, points: list[tuple[float, float]]
) -> float:
    """Return metres from a point to a polyline, on a local flat projection."""
    scale_x = 111_320.0 * math.cos(math.radians(latitude))
    scale_y = 110_540.0

    def project(point: tuple[float, float]) -> np.ndarray:
        return np.array([point[1] * scale_x, point[0] * scale_y])

    target = project((latitude, longitude))
    best = math.inf
    for first, second in itertools.pairwise(points):
        a, b = project(first), project(second)
        segment = b - a
        length = float(segment @ segment)
        t = (
            0.0
            if length == 0
            else min(1.0, max(0.0, float((target - a) @ segment) / length))
        )
        best = min(best, float(np.linalg.norm(a + t * segment - target)))
    return best


def test_gps_fixes_lie_on_walk_track(hour: HourRun) -> None:
    walk = track_points(WALK_TRACK)
    fixes = of_topic(hour.emitted, "device.sensor.gps.raw")
    assert len(fixes) >= 20
    for fix in fixes:
        assert distance_to_polyline(fix["latitude"], fix["longitude"], walk) < 0.5


def test_gps_fixes_respect_distance_filter(hour: HourRun) -> None:
    fixes = of_topic(hour.emitted, "device.sensor.gps.raw")
    for earlier, later in itertools.pairwise(fixes):
        dy = (later["latitude"] - earlier["latitude"]) * 110_540.0
        dx = (later["longitude"] - earlier["longitude"]) * 76_800.0
        assert math.hypot(dx, dy) >= 9.9


def test_gps_fixes_follow_car_track(scenario: PhoneScenario) -> None:
    car = scenario.day(0).leg("car trip")
    office = car.track.visits[0]
    config = PhoneConfig(gps=GpsConfig(noise_m=0.0))
    phone = PhoneSimulator(seed=SEED, config=config, scenario=scenario)
    emitted = collect([phone], car.start, office.arrival + timedelta(minutes=1))
    fixes = of_topic(emitted, "device.sensor.gps.raw")
    assert len(fixes) >= 4
    points = track_points(CAR_TRACK)
    for fix in fixes:
        assert distance_to_polyline(fix["latitude"], fix["longitude"], points) < 0.5
    moving = [fix for fix in fixes if fix["speed"] > 0]
    assert moving
    assert all(fix["speed"] == pytest.approx(13.9, rel=0.01) for fix in moving)


def test_gps_noise_stays_near_track(scenario: PhoneScenario) -> None:
    walk = scenario.day(0).leg("morning walk")
    phone = PhoneSimulator(seed=SEED, config=PhoneConfig(), scenario=scenario)
    emitted = collect([phone], walk.start, walk.start + timedelta(minutes=20))
    fixes = of_topic(emitted, "device.sensor.gps.raw")
    points = track_points(WALK_TRACK)
    offsets = [
        distance_to_polyline(f["latitude"], f["longitude"], points) for f in fixes
    ]
    assert max(offsets) < 20.0
    assert max(offsets) > 0.5
    assert {fix["accuracy"] for fix in fixes} == {4.53}


# -- accelerometer and steps ----------------------------------------------------


def accelerometer_values(payload: dict[str, Any]) -> tuple[float, float, float]:
    body = payload.get("data", payload)
    return body["x"], body["y"], body["z"]


def test_step_truth_equals_gait_generator_count(hour: HourRun) -> None:
    gait = hour.phone.gait
    assert gait is not None
    first = (hour.start - DAY_START) // timedelta(minutes=10)
    last = (hour.until - DAY_START) // timedelta(minutes=10)
    # Samples go out every 5 s; those after the last upload before the end
    # of the run are never sent.
    last_upload = hour.until - timedelta(seconds=5)
    expected_steps = 0
    expected_samples = []
    for index in range(first, last + 1):
        start, bouts = gait.piece_plan(index)
        config = GaitConfig(nominal_rate_hz=10.0)
        recording = GaitGenerator(seed=gait.seed_of(index), config=config).generate(
            start, bouts
        )
        expected_steps += recording.truth.steps_between(hour.start, hour.until)
        expected_samples += [
            (s.x, s.y, s.z)
            for s in recording.samples
            if hour.start <= s.recorded_at < last_upload
        ]
    assert expected_steps > 500
    assert hour.phone.truth.total_steps == expected_steps
    sent = [
        accelerometer_values(p)
        for p in of_topic(hour.emitted, "device.sensor.accelerometer.raw")
    ]
    assert sent == expected_samples


def test_steps_only_in_walking_minutes(hour: HourRun) -> None:
    day = hour.phone.scenario.day(0) if hour.phone.scenario else None
    assert day is not None
    walking = day.intervals_of("walking")
    for minute, count in hour.phone.truth.steps_per_minute.items():
        assert count > 0
        end = minute + timedelta(minutes=1)
        assert any(start < end and stop > minute for start, stop in walking)


def test_accelerometer_rate_is_about_ten_hertz(hour: HourRun) -> None:
    count = len(of_topic(hour.emitted, "device.sensor.accelerometer.raw"))
    assert 0.95 * 36_000 <= count <= 1.0 * 36_000


# -- audio ----------------------------------------------------------------------


def audio_chunks(emitted: Emitted) -> list[tuple[str, datetime, np.ndarray, Any]]:
    chunks = []
    for payload in of_topic(emitted, "device.audio.raw"):
        model = normalise("device.audio.raw", payload, received_at=RECEIVED)
        params, samples = read_wav(audio_field(payload))
        chunks.append((model.message_id, model.recorded_at, samples, params))
    return chunks


def test_audio_chunks_are_five_second_wav(hour: HourRun) -> None:
    chunks = audio_chunks(hour.emitted)
    assert len(chunks) >= 8
    for _, _, samples, params in chunks:
        assert params.nchannels == 1
        assert params.sampwidth == 2
        assert params.framerate == 16_000
        assert samples.size == 80_000
    starts = [start for _, start, _, _ in chunks]
    gaps = {later - earlier for earlier, later in itertools.pairwise(starts)}
    assert gaps == {timedelta(seconds=5)}


def test_audio_chunk_is_about_160_kilobytes(hour: HourRun) -> None:
    payload = of_topic(hour.emitted, "device.audio.raw")[0]
    assert len(base64.b64decode(audio_field(payload))) == 160_044


def test_utterances_line_up_with_chunks(hour: HourRun) -> None:
    chunks = audio_chunks(hour.emitted)
    first_start = chunks[0][1]
    audio = np.concatenate([samples for _, _, samples, _ in chunks])
    utterances = hour.phone.truth.utterances
    assert len(utterances) >= 8
    for utterance in utterances:
        overlapping = [
            message_id
            for message_id, start, _, _ in chunks
            if start < utterance.end and start + timedelta(seconds=5) > utterance.start
        ]
        assert utterance.chunk_message_ids == overlapping

        recording = load_speech(utterance.recording)
        spoken = next(u for u in recording.utterances if u.text == utterance.text)
        offset = round((utterance.start - first_start).total_seconds() * 16_000)
        length = (spoken.end_ms - spoken.start_ms) * 16
        expected = recording.samples[
            spoken.start_ms * 16 : spoken.start_ms * 16 + length
        ]
        assert np.array_equal(audio[offset : offset + length], expected)


def test_utterance_texts_come_from_fixtures(hour: HourRun) -> None:
    for utterance in hour.phone.truth.utterances:
        truth = json.loads(
            fixture_path("audio", f"{utterance.recording}.json").read_text("utf-8")
        )
        assert utterance.text in [item["text"] for item in truth["utterances"]]


# -- screenshots ----------------------------------------------------------------


def test_screenshots_carry_fixture_text(hour: HourRun) -> None:
    payloads = of_topic(hour.emitted, "device.image.screenshot.raw")
    shots = hour.phone.truth.screenshots
    assert payloads
    assert [p["message_id"] for p in payloads] == [s.message_id for s in shots]
    for payload, shot in zip(payloads, shots, strict=True):
        png = fixture_path("images", f"{shot.image}.png").read_bytes()
        truth = json.loads(
            fixture_path("images", f"{shot.image}.json").read_text("utf-8")
        )
        assert base64.b64decode(payload["image_data"]) == png
        assert shot.text == truth["text"]
        assert (payload["width"], payload["height"]) == (
            truth["width"],
            truth["height"],
        )


# -- places ---------------------------------------------------------------------


def test_places_truth_contains_hut_stay(hour: HourRun) -> None:
    scenario = hour.phone.scenario
    assert scenario is not None
    stay = next(v for v in scenario.day(0).stays if v.name == "mountain-hut")
    visits = [v for v in hour.phone.truth.places if v.region == "mountain-hut"]
    assert len(visits) == 1
    assert visits[0].enter <= stay.arrival
    assert visits[0].exit is not None
    assert visits[0].exit >= stay.departure


def test_places_truth_is_clipped_to_run(hour: HourRun) -> None:
    for visit in hour.phone.truth.places:
        assert visit.enter >= hour.start
        assert visit.exit is None or visit.exit < hour.until


def test_truth_to_dict_is_json(hour: HourRun) -> None:
    summary = hour.phone.truth.to_dict()
    text = json.dumps(summary)
    assert json.loads(text)["steps"]["total"] == hour.phone.truth.total_steps
    assert len(summary["utterances"]) == len(hour.phone.truth.utterances)
