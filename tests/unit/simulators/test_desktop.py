"""The macOS desktop simulator: shapes, determinism, awake hours, audio, screens."""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from loomlite._fixtures import fixture_path
from loomlite.contract import CATALOG, normalise
from simulators import AudioConfig, DesktopConfig, DesktopSimulator
from simulators.desktop import DesktopDays
from simulators.media import load_speech
from tests.unit.simulators.driving import (
    Emitted,
    audio_field,
    collect,
    digests,
    of_topic,
    read_wav,
)

SEED = 5
DAY_START = datetime(2024, 6, 3, tzinfo=UTC)
RECEIVED = datetime(2024, 6, 4, tzinfo=UTC)


@dataclass
class HourRun:
    desktop: DesktopSimulator
    emitted: Emitted
    start: datetime
    until: datetime


def around_first_call(seed: int = SEED) -> tuple[datetime, datetime]:
    call = DesktopDays(DAY_START, seed).day(0).calls[0]
    start = call.start - timedelta(minutes=30)
    return start, start + timedelta(hours=1)


@pytest.fixture(scope="module")
def hour() -> HourRun:
    start, until = around_first_call()
    desktop = DesktopSimulator(seed=SEED, start=DAY_START)
    return HourRun(desktop, collect([desktop], start, until), start, until)


def event_time(topic: str, payload: dict[str, Any]) -> datetime:
    return normalise(topic, payload, received_at=RECEIVED).recorded_at


def test_hour_payloads_normalise_to_topic_models(hour: HourRun) -> None:
    for topic, payload in hour.emitted:
        model = normalise(topic, payload, received_at=RECEIVED)
        assert type(model) is CATALOG.get(topic).model, topic


def test_hour_covers_every_desktop_topic(hour: HourRun) -> None:
    assert {topic for topic, _ in hour.emitted} == {
        "os.events.app_lifecycle.raw",
        "digital.clipboard.raw",
        "device.image.screenshot.raw",
        "device.state.power.raw",
        "device.system.apps.macos.raw",
        "device.audio.raw",
    }


def test_rates_follow_macos_client(hour: HourRun) -> None:
    assert len(of_topic(hour.emitted, "device.image.screenshot.raw")) == 120
    assert len(of_topic(hour.emitted, "device.state.power.raw")) == 60
    assert len(of_topic(hour.emitted, "device.system.apps.macos.raw")) == 360


def test_payloads_have_macos_shape(hour: HourRun) -> None:
    for _, payload in hour.emitted:
        assert "services_encountered" not in payload
        assert payload["device_id"] == hour.desktop.device_id
    for payload in of_topic(hour.emitted, "device.audio.raw"):
        assert "chunk_data" in payload
        assert "data" not in payload


def test_same_seed_gives_identical_payloads() -> None:
    start, _ = around_first_call()
    until = start + timedelta(minutes=40)
    first = collect([DesktopSimulator(seed=SEED, start=DAY_START)], start, until)
    second = collect([DesktopSimulator(seed=SEED, start=DAY_START)], start, until)
    assert digests(first) == digests(second)


def test_other_seed_gives_other_payloads() -> None:
    start, _ = around_first_call()
    until = start + timedelta(minutes=40)
    first = collect([DesktopSimulator(seed=SEED, start=DAY_START)], start, until)
    other = collect([DesktopSimulator(seed=SEED + 1, start=DAY_START)], start, until)
    assert set(digests(first)).isdisjoint(digests(other))


def test_sleeping_desktop_sends_nothing() -> None:
    desktop = DesktopSimulator(seed=SEED, start=DAY_START)
    start = DAY_START + timedelta(hours=2)
    assert collect([desktop], start, start + timedelta(hours=1)) == []


def test_running_apps_mark_focused_app(hour: HourRun) -> None:
    days = hour.desktop.days
    assert days is not None
    for payload in of_topic(hour.emitted, "device.system.apps.macos.raw"):
        moment = event_time("device.system.apps.macos.raw", payload)
        focus = days.focus_at(moment)
        assert focus is not None
        active = [
            app["bundle_id"] for app in payload["running_applications"] if app["active"]
        ]
        assert active == [focus.bundle_id]


def test_focus_events_alternate(hour: HourRun) -> None:
    events = [
        (payload["event_type"], payload["app_identifier"])
        for payload in of_topic(hour.emitted, "os.events.app_lifecycle.raw")
    ]
    assert len(events) >= 4
    for (first_type, first_app), (second_type, second_app) in itertools.pairwise(
        events
    ):
        if first_type == "background":
            assert second_type == "foreground"
            assert second_app != first_app
        else:
            assert second_type == "background"
            assert second_app == first_app


def test_screenshots_show_focused_app(hour: HourRun) -> None:
    days = hour.desktop.days
    assert days is not None
    payloads = of_topic(hour.emitted, "device.image.screenshot.raw")
    shots = hour.desktop.truth.screenshots
    assert [p["message_id"] for p in payloads] == [s.message_id for s in shots]
    for payload, shot in zip(payloads, shots, strict=True):
        focus = days.focus_at(shot.recorded_at)
        assert focus is not None
        assert shot.image == focus.screen_image
        png = fixture_path("images", f"{shot.image}.png").read_bytes()
        truth = json.loads(fixture_path("images", f"{shot.image}.json").read_text())
        assert base64.b64decode(payload["image_data"]) == png
        assert shot.text == truth["text"]


def chunks(emitted: Emitted) -> list[tuple[str, datetime, np.ndarray, Any]]:
    result = []
    for payload in of_topic(emitted, "device.audio.raw"):
        model = normalise("device.audio.raw", payload, received_at=RECEIVED)
        params, samples = read_wav(audio_field(payload))
        result.append((model.message_id, model.recorded_at, samples, params))
    return result


def test_audio_chunks_are_ten_seconds_at_16_khz(hour: HourRun) -> None:
    recorded = chunks(hour.emitted)
    assert len(recorded) >= 5
    for _, _, samples, params in recorded:
        assert params.framerate == 16_000
        assert params.nchannels == 1
        assert samples.size == 160_000


def test_call_utterances_line_up_with_chunks(hour: HourRun) -> None:
    recorded = chunks(hour.emitted)
    audio = np.concatenate([samples for _, _, samples, _ in recorded])
    first_start = recorded[0][1]
    utterances = hour.desktop.truth.utterances
    assert len(utterances) >= 8
    for utterance in utterances:
        overlapping = [
            message_id
            for message_id, start, _, _ in recorded
            if start < utterance.end and start + timedelta(seconds=10) > utterance.start
        ]
        assert utterance.chunk_message_ids == overlapping
        recording = load_speech(utterance.recording)
        spoken = next(u for u in recording.utterances if u.text == utterance.text)
        offset = round((utterance.start - first_start).total_seconds() * 16_000)
        length = (spoken.end_ms - spoken.start_ms) * 16
        first = spoken.start_ms * 16
        assert np.array_equal(
            audio[offset : offset + length], recording.samples[first : first + length]
        )


def test_audio_sample_rate_is_configurable() -> None:
    config = DesktopConfig(
        audio=AudioConfig(
            enabled=True, chunk_duration=timedelta(seconds=10), sample_rate=44_100
        )
    )
    desktop = DesktopSimulator(seed=SEED, start=DAY_START, config=config)
    call = DesktopDays(DAY_START, SEED).day(0).calls[0]
    emitted = collect([desktop], call.start, call.end + timedelta(seconds=10))
    recorded = chunks(emitted)
    assert recorded
    for _, _, samples, params in recorded:
        assert params.framerate == 44_100
        assert samples.size == 441_000
    audio = np.concatenate([samples for _, _, samples, _ in recorded]).astype(float)
    first_start = recorded[0][1]

    def rms(start: datetime, end: datetime) -> float:
        low = round((start - first_start).total_seconds() * 44_100)
        high = round((end - first_start).total_seconds() * 44_100)
        return float(np.sqrt(np.mean(audio[low:high] ** 2)))

    quiet = rms(call.start, call.recordings[0].start)
    for utterance in desktop.truth.utterances:
        assert rms(utterance.start, utterance.end) > 10 * quiet


def test_continuous_audio_records_while_awake() -> None:
    config = DesktopConfig(
        audio=AudioConfig(
            enabled=True, chunk_duration=timedelta(seconds=10), continuous=True
        )
    )
    desktop = DesktopSimulator(seed=SEED, start=DAY_START, config=config)
    morning = DesktopDays(DAY_START, SEED).day(0).awake[0]
    start = morning[0] + timedelta(minutes=5, seconds=3)
    until = start + timedelta(minutes=5)
    emitted = collect([desktop], start, until)
    starts = [
        event_time("device.audio.raw", p) for p in of_topic(emitted, "device.audio.raw")
    ]
    # Chunks follow a 10 s grid from the start of the awake period, and a
    # chunk is sent once it ends, so only whole chunks inside the run count.
    assert starts[0] == morning[0] + timedelta(minutes=5, seconds=10)
    assert len(starts) == 29
    assert {b - a for a, b in itertools.pairwise(starts)} == {timedelta(seconds=10)}


def test_clipboard_copies_come_from_focused_app(hour: HourRun) -> None:
    days = hour.desktop.days
    assert days is not None
    copies = of_topic(hour.emitted, "digital.clipboard.raw")
    assert copies
    for payload in copies:
        focus = days.focus_at(event_time("digital.clipboard.raw", payload))
        assert focus is not None
        assert payload["source_app"] == focus.name
