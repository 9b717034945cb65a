"""The gait accelerometer generator: determinism, signal shape and ground truth."""

from __future__ import annotations

import itertools
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simulators.gait import (
    STANDARD_GRAVITY,
    GaitConfig,
    GaitGenerator,
    GaitRecording,
    still,
    walk,
)

START = datetime(2026, 3, 1, 9, 0, 0, 250000, tzinfo=UTC)
PLAN = [still(20), walk(90), still(20), walk(60)]


def generate(seed: int = 3, **config: Any) -> GaitRecording:
    generator = GaitGenerator(seed=seed, config=GaitConfig(**config))
    return generator.generate(START, PLAN)


def seconds_between(first: datetime, second: datetime) -> float:
    return (second - first).total_seconds()


def test_same_seed_same_recording() -> None:
    first = generate(seed=11)
    second = generate(seed=11)

    assert first.samples == second.samples
    assert first.truth == second.truth


def test_different_seed_different_recording() -> None:
    assert generate(seed=1).samples != generate(seed=2).samples


def test_intervals_follow_plan() -> None:
    truth = generate().truth

    kinds = [interval.kind for interval in truth.intervals]
    starts = [seconds_between(START, interval.start) for interval in truth.intervals]
    ends = [seconds_between(START, interval.end) for interval in truth.intervals]

    assert kinds == ["still", "walking", "still", "walking"]
    assert starts == [0, 20, 110, 130]
    assert ends == [20, 110, 130, 190]


def test_steps_only_while_walking() -> None:
    truth = generate().truth

    still_steps = [i.steps for i in truth.intervals if i.kind == "still"]
    walking_steps = [i.steps for i in truth.walking_intervals]

    assert still_steps == [0, 0]
    assert all(steps > 0 for steps in walking_steps)
    assert sum(walking_steps) == truth.total_steps


def test_step_frequency_stays_in_range() -> None:
    for seed in range(5):
        truth = generate(seed=seed).truth
        for interval in truth.walking_intervals:
            times = [t for t in truth.step_times if interval.start <= t < interval.end]
            gaps = [seconds_between(a, b) for a, b in itertools.pairwise(times)]

            assert min(gaps) >= 1 / 2.0 - 1e-3
            assert max(gaps) <= 1 / 1.6 + 1e-3


def test_steps_between_counts_half_open() -> None:
    truth = generate().truth
    first = truth.step_times[0]
    second = truth.step_times[1]

    assert truth.steps_between(first, second) == 1
    assert truth.steps_between(first, second + timedelta(microseconds=1)) == 2
    assert (
        truth.steps_between(START, START + timedelta(seconds=190)) == truth.total_steps
    )


@pytest.mark.parametrize("rate", [10.0, 25.0, 50.0])
def test_sample_times_jitter_around_rate(rate: float) -> None:
    recording = generate(nominal_rate_hz=rate, jitter=0.2)
    times = [sample.recorded_at for sample in recording.samples]
    intervals = [seconds_between(a, b) for a, b in itertools.pairwise(times)]
    regular = [i for i in intervals if i <= 1.2 / rate + 1e-6]

    assert statistics.median(intervals) == pytest.approx(1 / rate, rel=0.05)
    assert min(intervals) >= 0.8 / rate - 1e-6
    assert len(set(regular)) > len(regular) // 2
    assert all(a < b for a, b in itertools.pairwise(times))


def test_gaps_are_recorded_in_truth() -> None:
    recording = generate(gaps_per_minute=6.0, gap_seconds=(0.3, 0.4))
    times = [sample.recorded_at for sample in recording.samples]
    long_intervals = [
        (a, b) for a, b in itertools.pairwise(times) if seconds_between(a, b) > 0.25
    ]

    assert len(recording.truth.gaps) >= 5
    assert long_intervals == list(recording.truth.gaps)


def test_still_sample_is_gravity_plus_noise() -> None:
    recording = generate(jolts_per_minute=0.0, noise_sd=0.25)
    still_end = START + timedelta(seconds=20)
    samples = [s for s in recording.samples if s.recorded_at < still_end]

    assert statistics.mean(s.z for s in samples) == pytest.approx(
        STANDARD_GRAVITY, abs=0.05
    )
    assert statistics.mean(s.x for s in samples) == pytest.approx(0.0, abs=0.05)
    assert statistics.stdev(s.x for s in samples) == pytest.approx(0.25, rel=0.15)


def test_walking_moves_vertical_axis() -> None:
    recording = generate(jolts_per_minute=0.0)
    walking = recording.truth.walking_intervals[0]
    samples = [
        s for s in recording.samples if walking.start <= s.recorded_at < walking.end
    ]

    assert statistics.stdev(s.z for s in samples) > 1.0
    assert statistics.mean(s.z for s in samples) == pytest.approx(
        STANDARD_GRAVITY, abs=0.2
    )


def test_jolts_are_recorded_in_truth() -> None:
    recording = generate(jolts_per_minute=10.0)

    assert len(recording.truth.jolt_times) > 10
    assert all(
        START <= t < START + timedelta(seconds=190) for t in recording.truth.jolt_times
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"nominal_rate_hz": 0.0}, "nominal_rate_hz must be positive"),
        ({"jitter": 1.0}, "jitter must be in"),
        ({"noise_sd": -0.1}, "noise_sd must not be negative"),
    ],
)
def test_config_rejects_invalid_values(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GaitConfig(**config)


def test_generate_rejects_naive_start_and_empty_plan() -> None:
    generator = GaitGenerator(seed=0)

    with pytest.raises(ValueError, match="timezone-aware"):
        generator.generate(datetime(2026, 1, 1), PLAN)
    with pytest.raises(ValueError, match="plan is empty"):
        generator.generate(START, [])
