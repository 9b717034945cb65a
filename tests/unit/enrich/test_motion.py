"""Significant-motion detection against the gait generator's walking intervals."""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from loomlite.components.enrich.motion import (
    MotionDetector,
    MotionDetectorConfig,
    MotionEvent,
    MotionKind,
)
from simulators.gait import (
    AccelerometerSample,
    Bout,
    GaitConfig,
    GaitGenerator,
    GaitRecording,
    still,
    walk,
)

# Off the 2 s window grid, so bout edges fall inside windows.
START = datetime(2026, 3, 1, 9, 0, 0, 700000, tzinfo=UTC)
PLAN = (still(30), walk(240), still(30), walk(120), still(60))
WINDOW = timedelta(seconds=2)
MAX_PAUSE = timedelta(seconds=4)


@functools.cache
def recording(
    rate: float, seed: int = 0, plan: tuple[Bout, ...] = PLAN
) -> GaitRecording:
    config = GaitConfig(nominal_rate_hz=rate)
    return GaitGenerator(seed=seed, config=config).generate(START, plan)


def detect(
    samples: Sequence[AccelerometerSample], config: MotionDetectorConfig | None = None
) -> list[MotionEvent]:
    detector = MotionDetector("phone-1", config)
    return detector.extend(samples) + detector.flush()


@pytest.mark.parametrize("rate", [10.0, 25.0, 50.0])
def test_events_match_walking_intervals(rate: float) -> None:
    for seed in (0, 1, 2):
        data = recording(rate, seed)
        walks = data.truth.walking_intervals

        events = detect(data.samples)

        assert len(events) == len(walks), (rate, seed, events)
        for event, walking in zip(events, walks, strict=True):
            assert abs(event.start - walking.start) <= WINDOW
            # A jolt in a window that starts within the pause tolerance after
            # the walk's last window extends the event by up to that much.
            assert abs(event.end - walking.end) <= 2 * WINDOW + MAX_PAUSE
            assert event.kind is MotionKind.WALKING
            assert event.device_id == "phone-1"


def test_event_statistics_are_plausible() -> None:
    data = recording(25.0)

    event = detect(data.samples)[0]

    assert 0.6 <= event.magnitude < 4.0
    assert event.peak >= event.magnitude
    duration = (event.end - event.start).total_seconds()
    assert event.sample_count == pytest.approx(25.0 * duration, rel=0.1)


def test_jolts_alone_make_no_event() -> None:
    plan = (still(600),)
    for seed in range(4):
        config = GaitConfig(nominal_rate_hz=25.0, jolts_per_minute=3.0)
        data = GaitGenerator(seed=seed, config=config).generate(START, plan)
        detector = MotionDetector("phone-1")

        events = detector.extend(data.samples) + detector.flush()

        assert len(data.truth.jolt_times) > 10
        assert events == []
        assert detector.statistics().discarded_runs > 0


def test_running_is_classified() -> None:
    config = GaitConfig(nominal_rate_hz=25.0, step_amplitude=(8.0, 9.0))
    data = GaitGenerator(seed=1, config=config).generate(START, PLAN)

    events = detect(data.samples)

    assert [event.kind for event in events] == [MotionKind.RUNNING] * 2


# -- cooldown on event time ------------------------------------------------------

# Two walks ten seconds apart: longer than the pause tolerance plus the two
# partly active windows at the edges, so the first event ends, and shorter
# than a 20 s cooldown.
CLOSE_WALKS = (still(20), walk(60), still(10), walk(60), still(20))


def test_cooldown_delays_next_event() -> None:
    data = recording(25.0, 0, CLOSE_WALKS)
    config = MotionDetectorConfig(cooldown=timedelta(seconds=20))
    second_walk = data.truth.walking_intervals[1]

    first, second = detect(data.samples, config)

    assert second.start >= first.end + timedelta(seconds=20)
    assert second.start - (first.end + timedelta(seconds=20)) < WINDOW
    assert abs(second.end - second_walk.end) <= 2 * WINDOW + MAX_PAUSE


def test_no_cooldown_keeps_walk_start() -> None:
    data = recording(25.0, 0, CLOSE_WALKS)
    config = MotionDetectorConfig(cooldown=timedelta(0))
    second_walk = data.truth.walking_intervals[1]

    _, second = detect(data.samples, config)

    assert abs(second.start - second_walk.start) <= WINDOW


def test_cooldown_counts_event_time_not_arrival() -> None:
    # The whole recording arrives in one burst, far faster than real time, so
    # a wall-clock cooldown would suppress the second event entirely.
    data = recording(25.0, 0, CLOSE_WALKS)
    config = MotionDetectorConfig(cooldown=timedelta(seconds=20))

    events = detect(data.samples, config)

    assert len(events) == 2
    assert (
        detect(
            data.samples[::-1],
            config.model_copy(update={"lateness": timedelta(hours=1)}),
        )
        == events
    )


def test_pause_within_tolerance_keeps_one_event() -> None:
    plan = (still(20), walk(60), still(3), walk(60), still(20))
    data = GaitGenerator(seed=0, config=GaitConfig(nominal_rate_hz=25.0)).generate(
        START, plan
    )

    events = detect(data.samples)

    assert len(events) == 1


# -- arrival order -----------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffled_arrival_gives_same_events(seed: int) -> None:
    data = recording(25.0)
    generator = random.Random(seed)
    shuffled = sorted(
        data.samples,
        key=lambda s: s.recorded_at + timedelta(seconds=generator.uniform(0, 9.9)),
    )

    assert shuffled != list(data.samples)
    assert detect(shuffled) == detect(data.samples)


def test_chunked_replay_gives_same_events() -> None:
    data = recording(10.0)
    expected = detect(data.samples)
    detector = MotionDetector("phone-1")

    events: list[MotionEvent] = []
    for sample in data.samples:
        events += detector.add(sample)
    events += detector.flush()

    assert events == expected


def test_event_is_emitted_after_pause_not_at_flush() -> None:
    data = recording(10.0)
    detector = MotionDetector("phone-1")

    before_flush = detector.extend(data.samples)

    assert len(before_flush) == 2
    assert detector.flush() == []


def test_non_finite_sample_is_skipped() -> None:
    data = recording(10.0)
    broken = AccelerometerSample(data.samples[50].recorded_at, 0.0, float("inf"), 9.8)
    detector = MotionDetector("phone-1")

    events = detector.extend([broken, *data.samples]) + detector.flush()

    assert detector.statistics().invalid_samples == 1
    assert events == detect(data.samples)
