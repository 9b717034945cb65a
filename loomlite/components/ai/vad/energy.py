"""A signal-processing VAD: frame energy over an adaptive noise floor, with a
spectral check that rejects loud broadband noise.

Each frame gets three cues, each a logistic function from 0 to 1:

- energy: the frame's log energy above the device's noise floor, in dB;
- level: the frame's absolute level in dBFS, so digital silence and very quiet
  input never count as speech;
- spectrum: the larger of two speech cues. One is the share of power in the
  speech band (300-3400 Hz by default). The other is low spectral flatness in
  that band, because voiced speech is harmonic while noise is flat.

The frame score is the product of the three. The noise floor follows the
energy of frames scored as non-speech, falls quickly to quieter frames and
creeps up slowly during long speech, so it recovers from a level change.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from loomlite.components.ai.vad.backend import FrameClassifier, VadBackend
from loomlite.components.ai.vad.parameters import VadParameters

__all__ = ["EnergyParameters", "EnergyVad"]

_EPSILON = 1e-12


class EnergyParameters(BaseModel):
    """Settings of the energy classifier. Levels are in dB, times in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    margin_db: float = Field(6.0, gt=0.0)
    """Energy above the noise floor at which the energy cue is 0.5."""

    margin_slope_db: float = Field(1.5, gt=0.0)
    """Width of the energy cue's transition."""

    min_level_dbfs: float = Field(-55.0, le=0.0)
    """Absolute frame level at which the level cue is 0.5."""

    band_low_hz: float = Field(300.0, ge=0.0)
    band_high_hz: float = Field(3400.0, gt=0.0)
    """Speech band for the band-power share and the flatness."""

    band_share: float = Field(0.55, gt=0.0, lt=1.0)
    """Share of power in the speech band at which the band cue is 0.5."""

    max_flatness: float = Field(0.3, gt=0.0, lt=1.0)
    """Spectral flatness in the speech band at which the flatness cue is 0.5."""

    floor_fall_s: float = Field(0.1, gt=0.0)
    """Time constant of the noise floor when frames are quieter than it."""

    floor_rise_s: float = Field(0.5, gt=0.0)
    """Time constant of the noise floor during non-speech frames above it."""

    floor_speech_rise_s: float = Field(20.0, gt=0.0)
    """Time constant of the noise floor during speech frames."""

    @model_validator(mode="after")
    def _check_band(self) -> EnergyParameters:
        if self.band_low_hz >= self.band_high_hz:
            raise ValueError(
                f"band_low_hz ({self.band_low_hz}) must be below band_high_hz "
                f"({self.band_high_hz})"
            )
        return self


class EnergyVad(VadBackend):
    """Energy and spectral-shape VAD in numpy, with no model weights."""

    name = "energy"
    simulated = False

    def __init__(
        self,
        parameters: VadParameters | None = None,
        *,
        energy: EnergyParameters | None = None,
        record_decisions: bool = False,
    ) -> None:
        super().__init__(parameters, record_decisions=record_decisions)
        self.energy = energy or EnergyParameters()

    def create_classifier(self) -> FrameClassifier:
        return _EnergyClassifier(self.energy, self.parameters.frame_ms / 1000.0)


def _logistic(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * values))
    return result


class _EnergyClassifier:
    def __init__(self, settings: EnergyParameters, frame_s: float) -> None:
        self._settings = settings
        self._fall = 1.0 - math.exp(-frame_s / settings.floor_fall_s)
        self._rise = 1.0 - math.exp(-frame_s / settings.floor_rise_s)
        self._speech_rise = 1.0 - math.exp(-frame_s / settings.floor_speech_rise_s)
        self._noise_floor_db: float | None = None
        self._window_cache: dict[tuple[int, int], _Spectrum] = {}

    def score(
        self, frames: npt.NDArray[np.float32], sample_rate: int
    ) -> npt.NDArray[np.float64]:
        settings = self._settings
        power = np.mean(np.square(frames, dtype=np.float64), axis=1)
        energy_db = 10.0 * np.log10(power + _EPSILON)
        spectral = self._spectrum(frames.shape[1], sample_rate).cue(frames, settings)
        level = _logistic(
            (energy_db - settings.min_level_dbfs) / settings.margin_slope_db
        )
        gate = spectral * level

        scores = np.empty(len(frames))
        for index, frame_db in enumerate(energy_db.tolist()):
            floor = frame_db if self._noise_floor_db is None else self._noise_floor_db
            margin = (frame_db - floor - settings.margin_db) / settings.margin_slope_db
            score = float(gate[index]) * 0.5 * (1.0 + math.tanh(0.5 * margin))
            scores[index] = score
            self._noise_floor_db = floor + self._floor_step(frame_db, floor, score)
        return scores

    def _floor_step(self, frame_db: float, floor: float, score: float) -> float:
        if frame_db < floor:
            rate = self._fall
        elif score < 0.5:
            rate = self._rise
        else:
            rate = self._speech_rise
        return rate * (frame_db - floor)

    def _spectrum(self, frame_length: int, sample_rate: int) -> _Spectrum:
        key = (frame_length, sample_rate)
        spectrum = self._window_cache.get(key)
        if spectrum is None:
            spectrum = _Spectrum(frame_length, sample_rate, self._settings)
            self._window_cache[key] = spectrum
        return spectrum


class _Spectrum:
    """The window and the speech-band bins for one frame length and sample rate."""

    def __init__(
        self, frame_length: int, sample_rate: int, settings: EnergyParameters
    ) -> None:
        self.window = np.hanning(frame_length).astype(np.float32)
        frequencies = np.fft.rfftfreq(frame_length, d=1.0 / sample_rate)
        self.band = (frequencies >= settings.band_low_hz) & (
            frequencies <= settings.band_high_hz
        )
        # Bin 0 is the DC offset, which carries no information about speech.
        self.non_dc = frequencies > 0.0

    def cue(
        self, frames: npt.NDArray[np.float32], settings: EnergyParameters
    ) -> npt.NDArray[np.float64]:
        """Return the spectral speech cue of each frame, from 0 to 1."""
        power = np.abs(np.fft.rfft(frames * self.window, axis=1)) ** 2
        power = power.astype(np.float64) + _EPSILON
        if not self.band.any():
            return np.ones(len(frames))

        band_power = power[:, self.band]
        share = band_power.sum(axis=1) / power[:, self.non_dc].sum(axis=1)
        flatness = np.exp(np.log(band_power).mean(axis=1)) / band_power.mean(axis=1)

        share_cue = _logistic((share - settings.band_share) / 0.05)
        tonal_cue = _logistic((settings.max_flatness - flatness) / 0.05)
        return np.maximum(share_cue, tonal_cue)
