"""Audio emotion: the stage interface, its result type and a prosody heuristic.

No pip package ships speech-emotion model weights that run without a
download, so the only backend is a heuristic on loudness, loudness variation,
zero-crossing rate and pitch.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.backends import Backend
from loomlite.components.ai.frames import (
    FloatArray,
    frame_rms,
    to_float_mono,
    voicing_threshold,
)

__all__ = [
    "EMOTION_LABELS",
    "EmotionScorer",
    "EmotionScores",
    "ProsodyEmotionScorer",
    "ProsodyHeuristicScorer",
]

logger = logging.getLogger(__name__)

# (arousal, valence) of each label, both in [-1, 1], placed by hand after
# Russell's circumplex model of affect (J. A. Russell, 1980). The labels are
# the seven classes of the production audio-emotion service.
_LABEL_POSITIONS: Final[dict[str, tuple[float, float]]] = {
    "anger": (0.75, -0.65),
    "disgust": (0.3, -0.75),
    "fear": (0.65, -0.4),
    "happiness": (0.5, 0.75),
    "neutral": (0.0, 0.0),
    "sadness": (-0.6, -0.55),
    "surprise": (0.85, 0.3),
}
EMOTION_LABELS: Final = tuple(_LABEL_POSITIONS)
# Width of the softmax over squared distances to the label positions.
_TEMPERATURE: Final = 0.15

_FRAME_MS: Final = 40
_HOP_MS: Final = 20
_MIN_PITCH_HZ: Final = 60.0
_MAX_PITCH_HZ: Final = 400.0
# Normalised autocorrelation peak above which a frame counts as pitched.
_MIN_PERIODICITY: Final = 0.3
# Frames per step of the prosody measures, which bounds their arrays to about 1 MB.
_FRAMES_PER_STEP: Final = 128


@dataclass(frozen=True, slots=True)
class EmotionScores:
    """Emotion probabilities of one audio clip, with arousal and valence."""

    scores: dict[str, float]
    """Probability per label, rounded to 4 decimals. The values add up to 1."""
    arousal: float
    """From -1 (calm) to 1 (excited)."""
    valence: float
    """From -1 (negative) to 1 (positive)."""
    method: str
    """The backend name, such as ``simulated-prosody``."""
    features: dict[str, float] = field(default_factory=dict)
    """The measured values the scores were derived from, by name."""


@runtime_checkable
class EmotionScorer(Backend, Protocol):
    """An audio-emotion backend. Components call ``score`` in a worker thread."""

    def score(self, samples: npt.ArrayLike, sample_rate: int) -> EmotionScores:
        """Score mono samples (int16, int32, uint8 or float in [-1, 1]).

        Raises ValueError for an invalid sample rate, shape or dtype.
        """
        ...


class ProsodyEmotionScorer:
    """A deterministic prosody heuristic, not a trained model.

    Frames of 40 ms (20 ms hop) count as voiced when their RMS level reaches
    ``threshold_dbfs`` and the adaptive level of ``frames.voicing_threshold``
    (10 dB above the background). Over the voiced frames it measures the mean
    level and its standard deviation in dB, the zero-crossing rate, and the
    pitch by autocorrelation (60-400 Hz), as a median and a spread in
    semitones.
    Arousal rises with level, level variation, pitch and zero-crossing rate.
    Valence rises with pitch spread and pitch level. The label probabilities
    are a softmax over the distances from (arousal, valence) to hand-placed
    label positions. The weights are guesses and its accuracy is unmeasured.
    Audio without voiced frames, including empty audio, scores ``neutral``
    with probability 1 and arousal and valence 0.
    """

    name = "simulated-prosody"
    simulated = True

    def __init__(self, *, threshold_dbfs: float = -40.0) -> None:
        if not -120.0 < threshold_dbfs < 0.0:
            raise ValueError(
                f"threshold_dbfs {threshold_dbfs!r} is out of range; "
                "expected a level between -120 and 0 dBFS"
            )
        self.threshold: float = 10.0 ** (threshold_dbfs / 20.0)

    def score(self, samples: npt.ArrayLike, sample_rate: int) -> EmotionScores:
        """Return the heuristic scores, as the class docstring describes."""
        signal = to_float_mono(samples, sample_rate)
        frame_length = sample_rate * _FRAME_MS // 1000
        hop = sample_rate * _HOP_MS // 1000
        if signal.size < frame_length:
            return self._silent()

        frames = np.lib.stride_tricks.sliding_window_view(signal, frame_length)[::hop]
        levels = frame_rms(frames)
        is_voiced = levels >= voicing_threshold(levels, self.threshold)
        if not np.any(is_voiced):
            return self._silent()

        features = _measure(frames, is_voiced, levels[is_voiced], sample_rate)
        arousal, valence = _affect(features)
        return EmotionScores(
            scores=_label_probabilities(arousal, valence),
            arousal=round(arousal, 4),
            valence=round(valence, 4),
            method=self.name,
            features=features,
        )

    def _silent(self) -> EmotionScores:
        scores = {label: 0.0 for label in EMOTION_LABELS}
        scores["neutral"] = 1.0
        return EmotionScores(scores, arousal=0.0, valence=0.0, method=self.name)


class ProsodyHeuristicScorer(ProsodyEmotionScorer):
    """The prosody heuristic under the name that real-model profiles choose.

    No pip package ships speech-emotion weights that run offline, so this is
    the emotion backend beside real VAD and STT models. It measures the
    real audio but maps it to labels with hand-set weights, and its accuracy
    is unmeasured.
    """

    name = "prosody-heuristic"
    simulated = False


def _measure(
    frames: FloatArray,
    is_voiced: npt.NDArray[np.bool_],
    levels: FloatArray,
    sample_rate: int,
) -> dict[str, float]:
    """Return the prosody features of the voiced rows of ``frames``, whose
    levels are ``levels``."""
    decibels = 20.0 * np.log10(levels)
    crossing_rates = []
    lags = []
    shortest_lag, longest_lag = _lag_range(frames.shape[1], sample_rate)
    window = np.hanning(frames.shape[1])
    # A block of frames at a time: copying and transforming all the voiced
    # frames of a segment at once took about 1.3 MB per second of audio.
    for start in range(0, len(frames), _FRAMES_PER_STEP):
        stop = start + _FRAMES_PER_STEP
        voiced = frames[start:stop][is_voiced[start:stop]]
        signs = np.signbit(voiced)
        crossing_rates.append(np.mean(signs[:, 1:] != signs[:, :-1], axis=1))
        if longest_lag > shortest_lag:
            lags.append(_periodic_lags(voiced, window, shortest_lag, longest_lag))
    features = {
        "voiced_ms": float(levels.shape[0] * _HOP_MS),
        "level_dbfs": float(np.mean(decibels)),
        "level_spread_db": float(np.std(decibels)),
        "zero_crossing_rate": float(np.mean(np.concatenate(crossing_rates))),
    }
    pitches = sample_rate / np.concatenate(lags or [np.zeros(0, np.intp)]).astype(
        np.float64
    )
    if pitches.size:
        semitones = 12.0 * np.log2(pitches / np.median(pitches))
        features["pitch_hz"] = float(np.median(pitches))
        features["pitch_spread_semitones"] = float(np.std(semitones))
    return {name: round(value, 4) for name, value in features.items()}


def _lag_range(frame_length: int, sample_rate: int) -> tuple[int, int]:
    """Return the shortest and longest autocorrelation lag, in samples, of a
    pitch between 60 and 400 Hz. A short frame can give no valid range."""
    shortest_lag = max(1, math.floor(sample_rate / _MAX_PITCH_HZ))
    longest_lag = min(frame_length - 1, math.ceil(sample_rate / _MIN_PITCH_HZ))
    return shortest_lag, longest_lag


def _periodic_lags(
    frames: FloatArray,
    window: npt.NDArray[np.float64],
    shortest_lag: int,
    longest_lag: int,
) -> npt.NDArray[np.intp]:
    """Return the pitch period, in samples, of each clearly periodic frame.

    The period is the lag of the highest normalised autocorrelation peak
    between ``shortest_lag`` and ``longest_lag``. Frames whose peak stays
    below 0.3 are skipped.
    """
    frame_length = frames.shape[1]
    centred = frames - frames.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred * window, n=2 * frame_length)
    autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2)[:, :frame_length]
    energy = autocorrelation[:, :1]
    normalised = np.divide(
        autocorrelation,
        energy,
        out=np.zeros_like(autocorrelation),
        where=energy > 0,
    )

    candidates = normalised[:, shortest_lag : longest_lag + 1]
    best = np.argmax(candidates, axis=1)
    peaks = candidates[np.arange(candidates.shape[0]), best]
    periodic = peaks >= _MIN_PERIODICITY
    lags: npt.NDArray[np.intp] = best[periodic] + shortest_lag
    return lags


def _affect(features: dict[str, float]) -> tuple[float, float]:
    """Map the measured features to (arousal, valence), each in [-1, 1]."""
    loudness = _scale(features["level_dbfs"], -40.0, -10.0)
    dynamics = _scale(features["level_spread_db"], 0.0, 10.0)
    brightness = _scale(features["zero_crossing_rate"], 0.02, 0.2)
    # Unpitched audio (noise, whispers) sits in the middle of the pitch range
    # and has no pitch movement.
    pitch_level = _scale(features.get("pitch_hz", 170.0), 80.0, 300.0)
    pitch_movement = _scale(features.get("pitch_spread_semitones", 0.0), 0.0, 6.0)

    arousal = 2.0 * (
        0.4 * loudness + 0.2 * dynamics + 0.25 * pitch_level + 0.15 * brightness
    )
    valence = 2.0 * (0.6 * pitch_movement + 0.4 * pitch_level)
    return arousal - 1.0, valence - 1.0


def _scale(value: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (value - low) / (high - low)))


def _label_probabilities(arousal: float, valence: float) -> dict[str, float]:
    positions = np.array(list(_LABEL_POSITIONS.values()))
    distances = np.sum((positions - (arousal, valence)) ** 2, axis=1)
    weights = np.exp(-(distances - distances.min()) / _TEMPERATURE)
    probabilities = weights / weights.sum()
    return {
        label: round(float(probability), 4)
        for label, probability in zip(EMOTION_LABELS, probabilities, strict=True)
    }
