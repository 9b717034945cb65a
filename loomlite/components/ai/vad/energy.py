"""A signal-processing VAD: frame energy over an adaptive noise floor, with a
spectral check that rejects loud broadband noise.

Each frame gets three cues, each a logistic function from 0 to 1:

- energy: the frame's log energy above the device's noise floor, in dB;
- level: the frame's absolute level in dBFS, so digital silence and input
  far below ``min_level_dbfs`` do not count as speech;
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
# Width of the transitions of the band-share and flatness cues, both fractions.
_CUE_WIDTH = 0.05


class EnergyParameters(BaseModel):
    """Settings of the energy classifier. Levels are in dB, times in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    margin_db: float = Field(6.0, gt=0.0)
    """Energy above the noise floor at which the energy cue is 0.5."""

    margin_slope_db: float = Field(1.5, gt=0.0)
    """Width of the transitions of the energy and level cues."""

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


def _logistic(value: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * value))


def _logistic_array(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * values))
    return result


def _row_sums(matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Sum each row from left to right.

    ``matrix.sum(axis=1)`` may add in another order when the row count
    changes, which would make scores depend on how the audio was cut into
    chunks. A cumulative sum adds every row in the same order.
    """
    if matrix.shape[1] == 0:
        return np.zeros(len(matrix))
    sums: npt.NDArray[np.float64] = np.cumsum(matrix, axis=1)[:, -1]
    return sums


class _EnergyClassifier:
    def __init__(self, settings: EnergyParameters, frame_s: float) -> None:
        self._settings = settings
        self._fall = 1.0 - math.exp(-frame_s / settings.floor_fall_s)
        self._rise = 1.0 - math.exp(-frame_s / settings.floor_rise_s)
        self._speech_rise = 1.0 - math.exp(-frame_s / settings.floor_speech_rise_s)
        self._noise_floor_db: float | None = None
        self._spectra: dict[tuple[int, int], _Spectrum] = {}

    def score(
        self, frames: npt.NDArray[np.float32], sample_rate: int
    ) -> npt.NDArray[np.float64]:
        settings = self._settings
        squares = np.square(frames, dtype=np.float64)
        energy_db = 10.0 * np.log10(_row_sums(squares) / frames.shape[1] + _EPSILON)
        spectral = self._spectrum(frames.shape[1], sample_rate).cues(frames)

        scores = np.empty(len(frames))
        for index, frame_db in enumerate(energy_db.tolist()):
            floor = frame_db if self._noise_floor_db is None else self._noise_floor_db
            margin = frame_db - floor - settings.margin_db
            energy_cue = _logistic(margin / settings.margin_slope_db)
            level_cue = _logistic(
                (frame_db - settings.min_level_dbfs) / settings.margin_slope_db
            )
            score = energy_cue * level_cue * float(spectral[index])
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
        spectrum = self._spectra.get(key)
        if spectrum is None:
            spectrum = _Spectrum(frame_length, sample_rate, self._settings)
            self._spectra[key] = spectrum
        return spectrum


class _Spectrum:
    """The window and the speech-band bins for one frame length and sample rate."""

    def __init__(
        self, frame_length: int, sample_rate: int, settings: EnergyParameters
    ) -> None:
        self._settings = settings
        self._window = np.hanning(frame_length).astype(np.float32)
        frequencies = np.fft.rfftfreq(frame_length, d=1.0 / sample_rate)
        self._band = (frequencies >= settings.band_low_hz) & (
            frequencies <= settings.band_high_hz
        )
        # Bin 0 is the DC offset, which carries no information about speech.
        self._non_dc = frequencies > 0.0

    def cues(self, frames: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Return the spectral speech cue of each frame, from 0 to 1."""
        band_bins = int(self._band.sum())
        if band_bins == 0:
            return np.ones(len(frames))
        spectra = np.fft.rfft(frames * self._window, axis=1)
        power = np.square(np.abs(spectra), dtype=np.float64) + _EPSILON

        band_power = power[:, self._band]
        band_total = _row_sums(band_power)
        share = band_total / _row_sums(power[:, self._non_dc])
        log_mean = _row_sums(np.log(band_power)) / band_bins
        flatness = np.exp(log_mean) / (band_total / band_bins)

        settings = self._settings
        share_cue = _logistic_array((share - settings.band_share) / _CUE_WIDTH)
        tonal_cue = _logistic_array((settings.max_flatness - flatness) / _CUE_WIDTH)
        cues: npt.NDArray[np.float64] = np.maximum(share_cue, tonal_cue)
        return cues
