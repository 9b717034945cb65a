"""Synthetic test signals and the speech fixtures, shared by the ai tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.audio import PcmAudio, decode_audio

RATE = 16_000
FRAME = 480  # samples in one 30 ms frame at 16 kHz
START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
FIXTURE_DIR = Path(__file__).resolve().parents[3] / "fixtures" / "audio"


def level(dbfs: float) -> float:
    """Return the RMS amplitude, in int16 units, of a level in dBFS."""
    return 32768.0 * 10 ** (dbfs / 20)


def noise(
    seconds: float, dbfs: float, seed: int = 0, rate: int = RATE
) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, level(dbfs), round(seconds * rate))


def vowel(seconds: float, dbfs: float, rate: int = RATE) -> npt.NDArray[np.float64]:
    """A vowel-like harmonic tone: 140 Hz and its harmonics up to 3.4 kHz."""
    time = np.arange(round(seconds * rate)) / rate
    wave = np.zeros_like(time)
    for harmonic in range(1, 25):
        wave += np.sin(2 * np.pi * 140 * harmonic * time) / harmonic
    return wave / np.sqrt(np.mean(np.square(wave))) * level(dbfs)


def to_pcm(signal: npt.NDArray[np.float64], rate: int = RATE) -> PcmAudio:
    samples = np.clip(np.round(signal), -32768, 32767).astype(np.int16)
    return PcmAudio(samples, rate)


def speech_like(rate: int = RATE) -> PcmAudio:
    """1 s of quiet noise, two 0.6 s vowels 0.8 s apart, then 1 s of quiet noise."""
    background = noise(4.0, -60.0, seed=7, rate=rate)
    for start_s in (1.0, 2.4):
        start = round(start_s * rate)
        burst = vowel(0.6, -20.0, rate)
        background[start : start + len(burst)] += burst
    return to_pcm(background, rate)


def chunks(pcm: PcmAudio, sizes: list[int]) -> list[tuple[PcmAudio, datetime]]:
    """Cut ``pcm`` into chunks of the given sizes, cycling through them.

    Each chunk's start time follows on exactly from the previous chunk.
    """
    pieces = []
    offset = 0
    index = 0
    while offset < len(pcm.samples):
        size = sizes[index % len(sizes)]
        piece = PcmAudio(pcm.samples[offset : offset + size], pcm.sample_rate)
        start = START + timedelta(seconds=offset / pcm.sample_rate)
        pieces.append((piece, start))
        offset += size
        index += 1
    return pieces


@dataclass(frozen=True)
class SpeechFixture:
    name: str
    pcm: PcmAudio
    truth: dict[str, object]

    @property
    def intervals(self) -> list[tuple[float, float]]:
        pairs = self.truth["speech_intervals_ms"]
        assert isinstance(pairs, list)
        return [(float(start), float(end)) for start, end in pairs]


def speech_fixtures() -> list[SpeechFixture]:
    fixtures = []
    for path in sorted(FIXTURE_DIR.glob("*.wav")):
        truth = json.loads(path.with_suffix(".json").read_text())
        pcm = decode_audio(path.read_bytes(), declared_format="wav")
        fixtures.append(SpeechFixture(path.stem, pcm, truth))
    return fixtures
