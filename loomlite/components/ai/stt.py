"""Speech-to-text: the stage interface, its result types and a simulated backend."""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.backends import Backend
from loomlite.components.ai.frames import (
    FloatArray,
    frame_rms,
    split_frames,
    to_float_mono,
    voiced_runs,
    voicing_threshold,
)

__all__ = [
    "PLACEHOLDER_VOCABULARY",
    "SimulatedSpeechToText",
    "SpeechToText",
    "Transcript",
    "TranscriptWord",
]

logger = logging.getLogger(__name__)

# Words of the simulated transcripts. Changing this tuple changes every
# simulated transcript, so golden outputs would have to be regenerated.
PLACEHOLDER_VOCABULARY: Final[tuple[str, ...]] = (
    "alpha", "amber", "anchor", "apple", "arrow", "atlas", "autumn", "badge",
    "basket", "beacon", "birch", "bottle", "bridge", "cabin", "candle", "canyon",
    "castle", "cedar", "circle", "cloud", "comet", "copper", "coral", "cotton",
    "delta", "desert", "dragon", "echo", "ember", "falcon", "feather", "field",
    "forest", "garden", "glacier", "harbor", "hazel", "island", "jasper", "kettle",
    "lantern", "lemon", "maple", "marble", "meadow", "mirror", "morning", "orbit",
    "paper", "pebble", "pepper", "planet", "quartz", "river", "saddle", "signal",
    "silver", "summit", "thunder", "timber", "valley", "velvet", "window", "willow",
)  # fmt: skip

_FRAME_MS: Final = 20
# Voiced runs separated by at most this many frames (200 ms) form one run.
_MAX_GAP_FRAMES: Final = 10


@dataclass(frozen=True, slots=True)
class TranscriptWord:
    """One recognised word and its time span, in milliseconds from the audio start."""

    word: str
    start_ms: int
    end_ms: int
    confidence: float
    """Between 0 and 1."""


@dataclass(frozen=True, slots=True)
class Transcript:
    """The text of one audio clip, its words in time order and its language."""

    text: str
    words: tuple[TranscriptWord, ...]
    language: str
    """ISO 639-1 code, such as ``en``."""


@runtime_checkable
class SpeechToText(Backend, Protocol):
    """A speech-to-text backend. Components call ``transcribe`` in a worker thread."""

    def transcribe(self, samples: npt.ArrayLike, sample_rate: int) -> Transcript:
        """Transcribe mono samples (int16, int32, uint8 or float in [-1, 1]).

        Raises ValueError for an invalid sample rate, shape or dtype. Empty or
        silent audio gives an empty transcript.
        """
        ...


class SimulatedSpeechToText:
    """Placeholder transcripts whose word count and timing follow the voiced audio.

    This backend does not recognise speech. It marks 20 ms frames as voiced
    when their RMS level reaches ``threshold_dbfs`` and the adaptive level of
    ``frames.voicing_threshold`` (10 dB above the background). It merges voiced
    runs that are at most 200 ms apart and fills each run with one placeholder
    word per ``word_ms`` of voiced time (at least one). The words come from
    ``PLACEHOLDER_VOCABULARY``, chosen by a BLAKE2 hash of the sample bytes,
    dtype and sample rate, so the same audio always gives the same transcript.
    A word's confidence is how far its RMS level lies above the voicing level
    (``1 - level / rms``), not a recognition score. The language is always
    ``language``.
    """

    name = "simulated"
    simulated = True

    def __init__(
        self,
        *,
        word_ms: int = 350,
        threshold_dbfs: float = -40.0,
        language: str = "en",
    ) -> None:
        if not 50 <= word_ms <= 5_000:
            raise ValueError(f"word_ms {word_ms!r} is out of range; expected 50-5000")
        if not -120.0 < threshold_dbfs < 0.0:
            raise ValueError(
                f"threshold_dbfs {threshold_dbfs!r} is out of range; "
                "expected a level between -120 and 0 dBFS"
            )
        self.word_ms = word_ms
        self.threshold: float = 10.0 ** (threshold_dbfs / 20.0)
        self.language = language

    def transcribe(self, samples: npt.ArrayLike, sample_rate: int) -> Transcript:
        """Return a placeholder transcript, as the class docstring describes."""
        array = np.asarray(samples)
        signal = to_float_mono(array, sample_rate)
        frame_length = max(1, sample_rate * _FRAME_MS // 1000)
        levels = frame_rms(split_frames(signal, frame_length))
        threshold = voicing_threshold(levels, self.threshold)
        runs = voiced_runs(levels >= threshold, max_gap=_MAX_GAP_FRAMES, min_length=1)

        filler = _RunFiller(
            levels=levels,
            frame_ms=frame_length * 1000 / sample_rate,
            threshold=threshold,
            word_ms=self.word_ms,
            words=_WordStream(_audio_digest(array, sample_rate)),
        )
        words = [word for run in runs for word in filler.fill(*run)]
        text = " ".join(word.word for word in words)
        return Transcript(text=text, words=tuple(words), language=self.language)


@dataclass(frozen=True, slots=True)
class _RunFiller:
    """Spreads placeholder words evenly over voiced runs of frames."""

    levels: FloatArray
    frame_ms: float
    threshold: float
    word_ms: int
    words: _WordStream

    def fill(self, start_frame: int, end_frame: int) -> list[TranscriptWord]:
        start_ms = start_frame * self.frame_ms
        duration_ms = (end_frame - start_frame) * self.frame_ms
        word_count = max(1, round(duration_ms / self.word_ms))
        slot_ms = duration_ms / word_count
        frames_per_slot = (end_frame - start_frame) / word_count

        result = []
        for index in range(word_count):
            first = start_frame + math.floor(index * frames_per_slot)
            last = start_frame + math.floor((index + 1) * frames_per_slot)
            level = float(np.mean(self.levels[first : max(last, first + 1)]))
            confidence = min(1.0, max(0.0, 1.0 - self.threshold / level))
            # Each word takes 80 % of its slot, so neighbours do not touch.
            word_start = round(start_ms + index * slot_ms)
            word_end = max(word_start + 1, round(start_ms + (index + 0.8) * slot_ms))
            result.append(
                TranscriptWord(
                    word=self.words.next_word(),
                    start_ms=word_start,
                    end_ms=word_end,
                    confidence=round(confidence, 3),
                )
            )
        return result


def _audio_digest(array: npt.NDArray[np.generic], sample_rate: int) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(array.dtype.str.encode())
    digest.update(sample_rate.to_bytes(4, "little"))
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.digest()


class _WordStream:
    """Placeholder words drawn from a hash chain seeded by the audio digest."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._index = 0

    def next_word(self) -> str:
        block = hashlib.blake2b(
            self._seed + self._index.to_bytes(4, "little"), digest_size=8
        ).digest()
        self._index += 1
        position = int.from_bytes(block, "little") % len(PLACEHOLDER_VOCABULARY)
        return PLACEHOLDER_VOCABULARY[position]
