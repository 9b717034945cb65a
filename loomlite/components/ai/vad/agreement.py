"""Scoring of frame decisions against ground-truth speech intervals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["frame_agreement", "truth_frames"]


def truth_frames(
    truth_intervals: Sequence[tuple[float, float]], frame_count: int, frame_ms: float
) -> npt.NDArray[np.bool_]:
    """Label each frame True when its midpoint lies inside a truth interval.

    Frame ``i`` covers ``i * frame_ms`` to ``(i + 1) * frame_ms``. Intervals are
    ``(start_ms, end_ms)`` pairs with the end excluded.
    """
    if frame_ms <= 0:
        raise ValueError(f"frame_ms must be positive, got {frame_ms!r}")
    midpoints = (np.arange(frame_count) + 0.5) * frame_ms
    labels = np.zeros(frame_count, dtype=bool)
    for start_ms, end_ms in truth_intervals:
        if not 0 <= start_ms <= end_ms:
            raise ValueError(
                f"truth interval ({start_ms!r}, {end_ms!r}) is invalid; expected "
                "0 <= start_ms <= end_ms"
            )
        labels |= (midpoints >= start_ms) & (midpoints < end_ms)
    return labels


def frame_agreement(
    decisions: npt.ArrayLike,
    truth_intervals: Sequence[tuple[float, float]],
    frame_ms: float,
) -> float:
    """Return the fraction of frames whose decision matches the ground truth.

    ``decisions`` contains one boolean per frame from the start of the audio, and
    the truth labels come from ``truth_frames``. Raises ValueError when there
    are no decisions to score.
    """
    voiced = np.asarray(decisions, dtype=bool)
    if voiced.ndim != 1 or len(voiced) == 0:
        raise ValueError(
            f"decisions must be a non-empty 1-D sequence, got shape {voiced.shape}"
        )
    labels = truth_frames(truth_intervals, len(voiced), frame_ms)
    return float(np.mean(voiced == labels))
