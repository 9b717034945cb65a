"""Speech recordings, conversations and screenshots that simulated devices send.

The media come from the fixtures: three synthetic speech recordings at
16 kHz with their utterance intervals (``fixtures/audio``) and PNG
screenshots with known text (``fixtures/images``). A Conversation places
recordings at absolute times. ``AudioRenderer`` turns any stretch of time
into samples: speech where a recording plays and quiet noise elsewhere.
Chunks of any length therefore line up with the utterance ground truth.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import numpy as np
import numpy.typing as npt

from loomlite._fixtures import fixture_path
from loomlite.components.ai.audio import decode_audio

__all__ = [
    "SILENCE_DBFS",
    "SPEECH_RECORDINGS",
    "AudioRenderer",
    "Conversation",
    "PlacedRecording",
    "RenderedAudio",
    "ScreenImage",
    "SpeechRecording",
    "SpokenUtterance",
    "load_screen_image",
    "load_speech",
]

SPEECH_RECORDINGS = (
    "speech_us_male_25db",
    "speech_gb_female_20db",
    "speech_us_fast_15db",
)
"""The speech fixtures in fixtures/audio, by name."""

SILENCE_DBFS = -50.0
"""RMS level of the noise between recordings: a quiet room, 5 dB below the
-45 dBFS noise floor of the cleanest speech fixture."""

Int16Array = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class SpeechUtterance:
    """One sentence of a recording; milliseconds from its start, end excluded."""

    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True, eq=False)
class SpeechRecording:
    """A speech fixture: mono int16 samples and its utterances."""

    name: str
    samples: Int16Array
    sample_rate: int
    utterances: tuple[SpeechUtterance, ...]

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.samples.size / self.sample_rate)


@cache
def load_speech(name: str) -> SpeechRecording:
    """Load the speech fixture ``name`` (see SPEECH_RECORDINGS) and its truth."""
    if name not in SPEECH_RECORDINGS:
        raise ValueError(
            f"unknown speech recording {name!r}; expected one of "
            f"{list(SPEECH_RECORDINGS)}"
        )
    audio = decode_audio(fixture_path("audio", f"{name}.wav").read_bytes())
    truth = json.loads(fixture_path("audio", f"{name}.json").read_text("utf-8"))
    utterances = tuple(
        SpeechUtterance(item["text"], int(item["start_ms"]), int(item["end_ms"]))
        for item in truth["utterances"]
    )
    samples = audio.samples
    samples.setflags(write=False)
    return SpeechRecording(name, samples, audio.sample_rate, utterances)


@dataclass(frozen=True, slots=True)
class PlacedRecording:
    """A speech recording that starts playing at ``start`` (event time)."""

    name: str
    start: datetime

    @property
    def end(self) -> datetime:
        return self.start + load_speech(self.name).duration


@dataclass(frozen=True, slots=True)
class SpokenUtterance:
    """A sentence at its absolute place in time."""

    text: str
    start: datetime
    end: datetime
    recording: str


@dataclass(frozen=True, slots=True)
class Conversation:
    """A stretch of time in which people talk near a device.

    ``start`` and ``end`` bound the whole conversation, quiet lead-in and
    tail included; ``recordings`` play inside it and never overlap.
    """

    place: str
    start: datetime
    end: datetime
    recordings: tuple[PlacedRecording, ...]

    def utterances(self) -> list[SpokenUtterance]:
        """Return every sentence of the conversation in time order."""
        spoken = []
        for placed in self.recordings:
            for utterance in load_speech(placed.name).utterances:
                spoken.append(
                    SpokenUtterance(
                        utterance.text,
                        placed.start + timedelta(milliseconds=utterance.start_ms),
                        placed.start + timedelta(milliseconds=utterance.end_ms),
                        placed.name,
                    )
                )
        return spoken


@dataclass(frozen=True, slots=True, eq=False)
class RenderedAudio:
    """The samples of one chunk and the utterances that overlap it."""

    samples: Int16Array
    utterances: tuple[SpokenUtterance, ...]


class AudioRenderer:
    """Cuts time into mono int16 samples at ``sample_rate``.

    Where a recording plays its samples are copied (resampled when the rate
    differs from the fixture's 16 kHz), and everywhere else the samples are
    Gaussian noise at SILENCE_DBFS from ``generator``.
    """

    def __init__(self, sample_rate: int, generator: np.random.Generator) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate!r}")
        self.sample_rate = sample_rate
        self._generator = generator
        self._noise_sd = 32768.0 * 10.0 ** (SILENCE_DBFS / 20.0)

    def render(
        self,
        start: datetime,
        duration: timedelta,
        conversations: list[Conversation],
    ) -> RenderedAudio:
        """Return the audio heard from ``start`` for ``duration``."""
        count = round(duration.total_seconds() * self.sample_rate)
        noise = self._generator.normal(0.0, self._noise_sd, count)
        samples = np.clip(np.round(noise), -32768, 32767).astype(np.int16)
        end = start + duration
        utterances: list[SpokenUtterance] = []
        for conversation in conversations:
            if conversation.end <= start or conversation.start >= end:
                continue
            for placed in conversation.recordings:
                self._overlay(samples, start, placed)
            utterances += [
                spoken
                for spoken in conversation.utterances()
                if spoken.start < end and spoken.end > start
            ]
        return RenderedAudio(samples, tuple(utterances))

    def _overlay(
        self, samples: Int16Array, chunk_start: datetime, placed: PlacedRecording
    ) -> None:
        source = self._resampled(placed.name)
        offset = round((placed.start - chunk_start).total_seconds() * self.sample_rate)
        first = max(offset, 0)
        last = min(offset + source.size, samples.size)
        if first < last:
            samples[first:last] = source[first - offset : last - offset]

    def _resampled(self, name: str) -> Int16Array:
        return _resample(name, self.sample_rate)


@cache
def _resample(name: str, sample_rate: int) -> Int16Array:
    """Return fixture ``name`` at ``sample_rate`` by linear interpolation."""
    recording = load_speech(name)
    if sample_rate == recording.sample_rate:
        return recording.samples
    count = math.floor(recording.samples.size * sample_rate / recording.sample_rate)
    positions = np.arange(count) * (recording.sample_rate / sample_rate)
    values = np.interp(positions, np.arange(recording.samples.size), recording.samples)
    resampled: Int16Array = np.round(values).astype(np.int16)
    resampled.setflags(write=False)
    return resampled


@dataclass(frozen=True, slots=True, eq=False)
class ScreenImage:
    """A screenshot fixture: PNG bytes, size in pixels and the text it shows."""

    name: str
    png: bytes
    width: int
    height: int
    text: str


@cache
def load_screen_image(name: str) -> ScreenImage:
    """Load ``fixtures/images/<name>.png`` and the text stored beside it."""
    png = fixture_path("images", f"{name}.png").read_bytes()
    truth = json.loads(fixture_path("images", f"{name}.json").read_text("utf-8"))
    return ScreenImage(
        name, png, int(truth["width"]), int(truth["height"]), truth["text"]
    )
