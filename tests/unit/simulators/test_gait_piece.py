"""The compact store of a generated gait piece returns the generated samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simulators.gait import GaitConfig, GaitGenerator, still, walk
from simulators.phone_sensors import _GaitPiece

START = datetime(2025, 6, 1, 8, 0, 3, 250_001, tzinfo=UTC)


PLAN = [still(30), walk(90), still(20)]


def generator() -> GaitGenerator:
    return GaitGenerator(seed=5, config=GaitConfig(nominal_rate_hz=10.0))


def recording():
    return generator().generate(START, PLAN)


def piece() -> _GaitPiece:
    return _GaitPiece(generator().generate_columns(START, PLAN))


def test_piece_returns_every_sample_unchanged() -> None:
    generated = recording()

    samples = piece().samples_between(START, START + timedelta(hours=1))

    assert samples == list(generated.samples)


def test_piece_slices_half_open_interval() -> None:
    generated = recording()
    stored = piece()
    start = generated.samples[100].recorded_at
    end = generated.samples[250].recorded_at

    samples = stored.samples_between(start, end)

    assert samples == list(generated.samples[100:250])
    assert stored.samples_between(end, end) == []


def test_piece_keeps_step_times() -> None:
    generated = recording()

    assert piece().step_times == generated.truth.step_times
