"""Sample conversion, framing and frame energy for the simulated audio backends.

The speech-to-text and emotion backends take ``(samples, sample_rate)`` with
the samples as a 1-D numpy array: int16 or int32 PCM, unsigned 8-bit PCM, or
float32/float64 in [-1, 1]. Everything here converts to float32 first.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "FloatArray",
    "frame_rms",
    "split_frames",
    "to_float_mono",
    "voiced_runs",
    "voicing_threshold",
]

FloatArray = npt.NDArray[np.float32]

# Rows that frame_rms squares at a time.
_ROWS_PER_STEP: Final = 256

MIN_SAMPLE_RATE: Final = 1_000
MAX_SAMPLE_RATE: Final = 384_000

# Integer dtypes by (kind, item size): offset subtracted and full scale.
_INTEGER_SCALES: Final[dict[tuple[str, int], tuple[float, float]]] = {
    ("i", 2): (0.0, 32768.0),
    ("i", 4): (0.0, 2.0**31),
    ("u", 1): (128.0, 128.0),
}


def to_float_mono(samples: npt.ArrayLike, sample_rate: int) -> FloatArray:
    """Validate mono samples and their rate, and return them as float32 in [-1, 1].

    Raises ValueError naming the bad value: a rate outside 1 kHz to 384 kHz, an
    array that is not 1-D, an unsupported dtype, or a NaN or infinite sample.
    """
    _check_sample_rate(sample_rate)
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(
            f"expected mono samples as a 1-D array, got shape {array.shape!r}; "
            "mix the channels down first"
        )

    if array.dtype.kind == "f":
        converted = array.astype(np.float32, copy=False)
        if not np.all(np.isfinite(converted)):
            raise ValueError("samples contain NaN or infinite values")
        return converted

    scale = _INTEGER_SCALES.get((array.dtype.kind, array.dtype.itemsize))
    if scale is None:
        raise ValueError(
            f"unsupported sample dtype {array.dtype.str!r}; expected int16, "
            "int32, uint8, float32 or float64"
        )
    offset, full_scale = scale
    return ((array.astype(np.float32) - offset) / full_scale).astype(np.float32)


def _check_sample_rate(sample_rate: int) -> None:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
        raise ValueError(f"sample_rate must be an int, got {sample_rate!r}")
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"sample_rate {sample_rate!r} Hz is out of range; expected "
            f"{MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz"
        )


def split_frames(signal: FloatArray, frame_length: int) -> FloatArray:
    """Split ``signal`` into consecutive frames of ``frame_length`` samples.

    The last frame is padded with zeros. The result has shape
    ``(frame_count, frame_length)`` and is empty for an empty signal.
    """
    frame_count = math.ceil(signal.size / frame_length)
    padded = np.zeros(frame_count * frame_length, dtype=np.float32)
    padded[: signal.size] = signal
    return padded.reshape(frame_count, frame_length)


def frame_rms(frames: FloatArray) -> FloatArray:
    """Return the root-mean-square level of each frame (rows of ``frames``)."""
    if frames.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    # The rows are often overlapping windows of one signal, so squaring all of
    # them at once took several times the signal's size.
    levels: FloatArray = np.empty(frames.shape[0], dtype=np.float32)
    for start in range(0, frames.shape[0], _ROWS_PER_STEP):
        block = frames[start : start + _ROWS_PER_STEP]
        squares = np.mean(np.square(block, dtype=np.float64), axis=1)
        levels[start : start + _ROWS_PER_STEP] = np.sqrt(squares)
    return levels


def voiced_runs(
    voiced: npt.NDArray[np.bool_], *, max_gap: int, min_length: int
) -> list[tuple[int, int]]:
    """Return ``(start, end)`` frame indices (end exclusive) of the voiced runs.

    Runs separated by at most ``max_gap`` unvoiced frames are merged, and runs
    shorter than ``min_length`` frames are then dropped.
    """
    if voiced.size == 0:
        return []
    edges = np.diff(np.concatenate(([0], voiced.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)

    merged: list[tuple[int, int]] = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if merged and start - merged[-1][1] <= max_gap:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return [(start, end) for start, end in merged if end - start >= min_length]


def voicing_threshold(levels: FloatArray, minimum: float) -> float:
    """Return the RMS level at or above which a frame counts as voiced.

    The level adapts to steady background noise: it is 10 dB above the 10th
    percentile of the frame levels, capped at 10 dB below their 95th
    percentile so that audio at a constant level still counts as voiced. It is
    never below ``minimum``.
    """
    if levels.size == 0:
        return minimum
    floor, loud = np.percentile(levels, [10.0, 95.0])
    ten_decibels: float = 10.0 ** (10.0 / 20.0)
    adaptive = min(float(floor) * ten_decibels, float(loud) / ten_decibels)
    return max(float(minimum), adaptive)
