"""The step counter against the gait generator's ground truth, on event time."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import random
import statistics
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from loomlite.components.enrich.steps import (
    StepCounter,
    StepCounterConfig,
    StepWindow,
)
from simulators.gait import (
    AccelerometerSample,
    GaitConfig,
    GaitGenerator,
    GaitRecording,
    still,
    walk,
)

# Off the minute grid, so windows and bouts do not share boundaries.
START = datetime(2026, 3, 1, 9, 0, 17, 300000, tzinfo=UTC)
# Eight minutes: two walks of four and two minutes between still periods.
PLAN = (still(30), walk(240), still(30), walk(120), still(60))


@functools.cache
def recording(rate: float, seed: int = 0, start: datetime = START) -> GaitRecording:
    """Return a cached gait recording at ``rate`` Hz nominal with 20 % jitter."""
    config = GaitConfig(nominal_rate_hz=rate, jitter=0.2)
    return GaitGenerator(seed=seed, config=config).generate(start, PLAN)


def count(
    samples: Sequence[AccelerometerSample], config: StepCounterConfig | None = None
) -> list[StepWindow]:
    counter = StepCounter("phone-1", config)
    return counter.extend(samples) + counter.flush()


def bounded_shuffle(
    samples: Sequence[AccelerometerSample], delay: timedelta, seed: int
) -> list[AccelerometerSample]:
    """Return ``samples`` in an arrival order where each is up to ``delay`` late."""
    generator = random.Random(seed)
    limit = delay.total_seconds()
    return sorted(
        samples,
        key=lambda s: s.recorded_at + timedelta(seconds=generator.uniform(0, limit)),
    )


# -- accuracy ------------------------------------------------------------------


@pytest.mark.parametrize("rate", [10.0, 25.0, 50.0])
def test_total_within_five_percent(rate: float) -> None:
    for seed in (0, 1):
        data = recording(rate, seed)

        windows = count(data.samples)

        total = sum(window.step_count for window in windows)
        truth = data.truth.total_steps
        assert abs(total - truth) <= 0.05 * truth, (rate, seed, total, truth)


@pytest.mark.parametrize("rate", [10.0, 25.0, 50.0])
def test_each_window_close_to_truth(rate: float) -> None:
    data = recording(rate)

    windows = count(data.samples)

    for window in windows:
        truth = data.truth.steps_between(window.start, window.end)
        # A step near a boundary may land in the neighbouring window.
        assert abs(window.step_count - truth) <= 3, (window, truth)


@pytest.mark.parametrize("rate", [10.0, 25.0, 50.0])
def test_sample_rate_is_measured(rate: float) -> None:
    data = recording(rate)

    windows = count(data.samples)

    full = [w for w in windows if w.end - w.start == timedelta(seconds=60)]
    for window in full[1:-1]:
        assert window.sample_rate_hz == pytest.approx(rate, rel=0.05)
        assert window.sample_count == pytest.approx(60 * rate, rel=0.05)


def test_cadence_matches_truth() -> None:
    data = recording(25.0)
    walking = data.truth.walking_intervals[0]

    windows = count(data.samples)

    inside = [w for w in windows if walking.start <= w.start and w.end <= walking.end]
    assert len(inside) == 3
    for window in inside:
        times = [t for t in data.truth.step_times if window.start <= t < window.end]
        intervals = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        expected = 60 / statistics.median(intervals)
        assert window.cadence == pytest.approx(expected, rel=0.05)


def test_still_windows_count_nothing() -> None:
    data = recording(25.0, seed=3)

    windows = count(data.samples)

    still_windows = [
        w for w in windows if data.truth.steps_between(w.start, w.end) == 0
    ]
    assert len(still_windows) >= 1
    assert [w.step_count for w in still_windows] == [0] * len(still_windows)


def test_jolts_while_still_are_not_steps() -> None:
    config = GaitConfig(nominal_rate_hz=25.0, jolts_per_minute=6.0, noise_sd=0.4)
    data = GaitGenerator(seed=5, config=config).generate(START, [still(600)])

    windows = count(data.samples)

    assert len(data.truth.jolt_times) > 30
    assert sum(w.step_count for w in windows) == 0


# -- windows on event time ------------------------------------------------------


def test_windows_align_on_minutes() -> None:
    windows = count(recording(10.0).samples)

    for window in windows:
        assert window.start.second == 0
        assert window.start.microsecond == 0
        assert window.end - window.start == timedelta(minutes=1)
        assert window.device_id == "phone-1"
    for earlier, later in itertools.pairwise(windows):
        assert later.start == earlier.end


def test_windows_wait_until_settled() -> None:
    data = recording(10.0)
    counter = StepCounter("phone-1")

    emitted = counter.extend(data.samples)
    remaining = counter.flush()

    newest = data.samples[-1].recorded_at
    assert all(w.end <= newest - timedelta(seconds=10) for w in emitted)
    assert len(remaining) == 1
    assert remaining[0].end > newest


def test_daily_total_accumulates() -> None:
    windows = count(recording(10.0).samples)

    running = 0
    for window in windows:
        running += window.step_count
        assert window.daily_total == running


# -- arrival order and replay speed -----------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_arrival_gives_same_windows(seed: int) -> None:
    data = recording(25.0)
    config = StepCounterConfig(lateness=timedelta(seconds=10))
    in_order = count(data.samples, config)

    shuffled = bounded_shuffle(data.samples, timedelta(seconds=9.9), seed)

    assert shuffled != list(data.samples)
    assert count(shuffled, config) == in_order


def test_replay_speed_does_not_matter() -> None:
    data = recording(25.0)
    at_once = count(data.samples)

    # One sample per call is a real-time feed, 100 per call a fast replay.
    for chunk in (1, 100, 5000):
        counter = StepCounter("phone-1")
        windows: list[StepWindow] = []
        for begin in range(0, len(data.samples), chunk):
            windows += counter.extend(data.samples[begin : begin + chunk])
        windows += counter.flush()

        assert windows == at_once


def test_late_sample_is_dropped() -> None:
    data = recording(10.0)
    counter = StepCounter("phone-1")
    windows = counter.extend(data.samples)
    stale = dataclasses.replace(
        data.samples[-1],
        recorded_at=data.samples[-1].recorded_at - timedelta(minutes=1),
    )

    windows += counter.add(stale)
    windows += counter.flush()

    assert counter.statistics().samples.late == 1
    assert windows == count(data.samples)


def test_redelivered_samples_count_once() -> None:
    data = recording(10.0)
    doubled = [sample for sample in data.samples for _ in range(2)]
    counter = StepCounter("phone-1")

    windows = counter.extend(doubled) + counter.flush()

    assert windows == count(data.samples)
    assert counter.statistics().samples.duplicates == len(data.samples)


# -- daily reset ------------------------------------------------------------------


def test_daily_total_resets_at_utc_midnight() -> None:
    start = datetime(2026, 3, 1, 23, 56, 0, 500000, tzinfo=UTC)
    data = GaitGenerator(seed=2, config=GaitConfig(nominal_rate_hz=25.0)).generate(
        start, [still(10), walk(460), still(10)]
    )
    midnight = datetime(2026, 3, 2, tzinfo=UTC)

    windows = count(data.samples)

    before = [w for w in windows if w.end <= midnight]
    after = [w for w in windows if w.start >= midnight]
    assert len(before) + len(after) == len(windows)
    assert {w.day for w in before} == {date(2026, 3, 1)}
    assert {w.day for w in after} == {date(2026, 3, 2)}
    assert before[-1].daily_total == sum(w.step_count for w in before)
    assert after[0].daily_total == after[0].step_count
    assert after[-1].daily_total == sum(w.step_count for w in after)
    assert after[0].step_count > 0


def test_daily_total_resets_at_local_midnight() -> None:
    # Ljubljana is UTC+1 in early March, so its midnight is 23:00 UTC.
    start = datetime(2026, 3, 1, 22, 57, 0, 500000, tzinfo=UTC)
    data = GaitGenerator(seed=4, config=GaitConfig(nominal_rate_hz=25.0)).generate(
        start, [walk(300)]
    )
    local_midnight = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    config = StepCounterConfig(timezone="Europe/Ljubljana")

    windows = count(data.samples, config)

    first_after = next(w for w in windows if w.start >= local_midnight)
    last_before = windows[windows.index(first_after) - 1]
    assert first_after.start == local_midnight
    assert first_after.day == date(2026, 3, 2)
    assert last_before.day == date(2026, 3, 1)
    assert first_after.daily_total == first_after.step_count


def test_window_is_cut_at_midnight() -> None:
    # 86,400 s is not a multiple of 7 s, so the day's last window is 6 s long.
    start = datetime(2026, 3, 1, 23, 59, 0, 100000, tzinfo=UTC)
    data = GaitGenerator(seed=1, config=GaitConfig(nominal_rate_hz=10.0)).generate(
        start, [walk(120)]
    )
    config = StepCounterConfig(window=timedelta(seconds=7))
    midnight = datetime(2026, 3, 2, tzinfo=UTC)

    windows = count(data.samples, config)

    last_of_day = next(w for w in windows if w.end == midnight)
    first_of_day = windows[windows.index(last_of_day) + 1]
    assert last_of_day.end - last_of_day.start == timedelta(seconds=6)
    assert first_of_day.start == midnight
    assert first_of_day.end - first_of_day.start == timedelta(seconds=7)


# -- configuration ------------------------------------------------------------------


def test_config_rejects_unknown_timezone() -> None:
    with pytest.raises(ValidationError, match="unknown timezone 'Mars/Olympus'"):
        StepCounterConfig(timezone="Mars/Olympus")


def test_config_reads_seconds() -> None:
    config = StepCounterConfig.model_validate({"window": 30, "lateness": 2.5})

    assert config.window == timedelta(seconds=30)
    assert config.lateness == timedelta(seconds=2.5)


def test_config_rejects_unknown_key() -> None:
    with pytest.raises(ValidationError, match="window_size"):
        StepCounterConfig.model_validate({"window_size": 30})


def test_non_finite_sample_is_skipped() -> None:
    data = recording(10.0)
    broken = dataclasses.replace(data.samples[100], x=float("nan"))
    samples = [*data.samples[:100], broken, *data.samples[101:]]
    counter = StepCounter("phone-1")

    windows = counter.extend(samples) + counter.flush()

    assert counter.statistics().invalid_samples == 1
    assert sum(w.step_count for w in windows) == pytest.approx(
        data.truth.total_steps, rel=0.05
    )
