"""Derived audio data: speech segments, transcripts, emotion and environment.

These models are loomlite's own; production's services disagreed on the
shapes of these topics, so each field is named for what it holds.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Confidence, SourceMessageId
from loomlite.contract.types import Binary, ContractModel

__all__ = [
    "AudioEmotion",
    "AudioEnvironment",
    "TranscribedWord",
    "Transcription",
    "VoiceSegment",
]

Scores = dict[str, float]


class VoiceSegment(Envelope):
    """A stretch of speech that voice-activity detection found in an audio chunk.

    ``recorded_at`` is the segment's start: the chunk's ``recorded_at`` plus
    ``segment_start_ms``.
    """

    source_message_id: SourceMessageId
    segment_start_ms: int = Field(ge=0, description="Offset in the source chunk.")
    segment_end_ms: int = Field(ge=0, description="Offset in the source chunk.")
    sample_rate: int = Field(gt=0, description="Hz.")
    channels: int = Field(1, ge=1, le=1, description="Always 1 (mono).")
    audio: Binary = Field(description="Raw PCM, 16-bit signed little-endian, mono.")
    vad_confidence: Confidence
    backend: str = Field(min_length=1, description="VAD backend that found it.")

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if self.segment_end_ms <= self.segment_start_ms:
            raise ValueError(
                f"segment_end_ms ({self.segment_end_ms}) must be greater than "
                f"segment_start_ms ({self.segment_start_ms})"
            )
        return self


class TranscribedWord(ContractModel):
    """One recognised word; times are offsets in the source segment."""

    word: str
    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    confidence: Confidence


class Transcription(Envelope):
    """The text of one speech segment."""

    source_message_id: SourceMessageId = Field(description="The VoiceSegment's id.")
    text: str
    words: list[TranscribedWord] = []
    language: str | None = Field(None, description="BCP 47 tag, e.g. en.")
    backend: str = Field(min_length=1)


class AudioEmotion(Envelope):
    """Emotion recognised in the voice of one speech segment."""

    source_message_id: SourceMessageId = Field(description="The VoiceSegment's id.")
    predicted_emotion: str = Field(description="The label with the highest score.")
    confidence: Confidence
    scores: Scores = Field(description="Score from 0 to 1 per emotion label.")
    valence: float | None = Field(None, ge=-1.0, le=1.0)
    arousal: float | None = Field(None, ge=-1.0, le=1.0)
    backend: str = Field(min_length=1)


class AudioEnvironment(Envelope):
    """The acoustic environment of a speech segment, e.g. indoor or vehicle."""

    source_message_id: SourceMessageId
    label: str
    confidence: Confidence
    scores: Scores = {}
    backend: str = Field(min_length=1)
