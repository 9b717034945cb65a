"""RateMeter: events per second over a sliding window of samples."""

from __future__ import annotations

import pytest

from loomlite.broker._rate import RateMeter


def test_rate_over_window() -> None:
    meter = RateMeter(10.0, now=0.0)
    for second in range(1, 21):
        meter.sample(float(second), second * 100)  # 100 events per second
    assert meter.rate(20.0, 2000) == pytest.approx(100.0)


def test_rate_drops_after_burst() -> None:
    meter = RateMeter(10.0, now=0.0)
    meter.sample(1.0, 500)
    for second in range(2, 30):
        meter.sample(float(second), 500)
    assert meter.rate(30.0, 500) == 0.0


def test_young_meter_uses_sample_spacing() -> None:
    meter = RateMeter(10.0, now=0.0)
    # 0.001 s after creation, the elapsed time counts as one spacing (1 s).
    assert meter.rate(0.001, 50) == pytest.approx(50.0)


def test_samples_stay_bounded() -> None:
    meter = RateMeter(10.0, now=0.0)
    for step in range(100_000):
        meter.sample(step * 0.001, step)
    assert len(meter._samples) <= 12


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateMeter(0.0, now=0.0)
