"""A fast, deterministic VAD backend for simulators and tests."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.vad.backend import FrameClassifier, VadBackend
from loomlite.components.ai.vad.parameters import VadParameters

__all__ = ["SimulatedVad"]


class SimulatedVad(VadBackend):
    """Stand-in for a model VAD: loud frames are speech, with hashed scores.

    A frame counts as voiced when its RMS level is at or above ``level_dbfs``
    (dB relative to full scale). It does not model speech at all, so any loud
    sound counts. The score of each frame comes from a keyed hash of its
    samples and ``seed``, so runs are reproducible and the confidence varies
    like a model's would. Voiced frames always score at or above the threshold
    and unvoiced frames below it, so the seed changes confidences only.
    """

    name = "simulated"
    simulated = True

    def __init__(
        self,
        parameters: VadParameters | None = None,
        *,
        level_dbfs: float = -30.0,
        seed: int = 0,
        record_decisions: bool = False,
    ) -> None:
        super().__init__(parameters, record_decisions=record_decisions)
        self.level_dbfs = level_dbfs
        self.seed = seed

    def create_classifier(self) -> FrameClassifier:
        return _LevelClassifier(self.level_dbfs, self.seed, self.parameters.threshold)


class _LevelClassifier:
    def __init__(self, level_dbfs: float, seed: int, threshold: float) -> None:
        self._level_dbfs = level_dbfs
        self._key = seed.to_bytes(16, "little", signed=True)
        self._threshold = threshold

    def score(
        self, frames: npt.NDArray[np.float32], sample_rate: int
    ) -> npt.NDArray[np.float64]:
        scores = np.empty(len(frames))
        for index, frame in enumerate(frames):
            mean_square = float(np.mean(np.square(frame, dtype=np.float64)))
            level_db = 10.0 * math.log10(mean_square + 1e-12)
            digest = hashlib.blake2b(frame.tobytes(), digest_size=8, key=self._key)
            fraction = int.from_bytes(digest.digest(), "little") / 2.0**64
            if level_db >= self._level_dbfs:
                scores[index] = self._threshold + (1.0 - self._threshold) * fraction
            else:
                scores[index] = self._threshold * fraction
        return scores
