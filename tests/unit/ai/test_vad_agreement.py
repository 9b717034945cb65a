"""Tests of frame_agreement and truth_frames."""

from __future__ import annotations

import numpy as np
import pytest

from loomlite.components.ai.vad import frame_agreement, truth_frames


def test_truth_frames_use_midpoints() -> None:
    # 30 ms frames have midpoints at 15, 45, 75, 105 ms.
    labels = truth_frames([(40.0, 80.0)], 4, 30)

    assert labels.tolist() == [False, True, True, False]


def test_truth_frames_end_excluded() -> None:
    labels = truth_frames([(0.0, 45.0)], 3, 30)

    assert labels.tolist() == [True, False, False]


def test_agreement_perfect() -> None:
    decisions = [False, True, True, False]

    assert frame_agreement(decisions, [(40.0, 80.0)], 30) == 1.0


def test_agreement_counts_each_frame() -> None:
    decisions = np.zeros(10, dtype=bool)

    assert frame_agreement(decisions, [(0.0, 90.0)], 30) == pytest.approx(0.7)


def test_agreement_without_truth() -> None:
    assert frame_agreement([True, False, False, False], [], 20) == 0.75


def test_agreement_needs_decisions() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        frame_agreement([], [(0.0, 10.0)], 30)


def test_agreement_rejects_reversed_interval() -> None:
    with pytest.raises(ValueError, match=r"\(50.0, 10.0\)"):
        frame_agreement([True], [(50.0, 10.0)], 30)


def test_agreement_rejects_zero_frame_length() -> None:
    with pytest.raises(ValueError, match="frame_ms"):
        frame_agreement([True], [], 0)
