"""Segmentation parameters shared by every VAD backend."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["VadParameters"]


class VadParameters(BaseModel):
    """Settings that turn frame scores into speech segments.

    Every duration is in milliseconds and is rounded up to whole frames of
    ``frame_ms``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    frame_ms: int = Field(30, ge=10, le=50)
    """Length of one analysis frame."""

    threshold: float = Field(0.5, gt=0.0, lt=1.0)
    """Frame score at or above which a frame counts as voiced."""

    min_speech_ms: int = Field(120, ge=0)
    """Minimum voiced time in a segment. Shorter segments (clicks) are dropped."""

    min_silence_ms: int = Field(300, gt=0)
    """Unvoiced time that ends a segment. Shorter pauses stay inside it."""

    hangover_ms: int = Field(120, ge=0)
    """Time kept after the last voiced frame, so that weak word endings stay in
    the segment. At most ``min_silence_ms``."""

    pre_roll_ms: int = Field(60, ge=0)
    """Time kept before the first voiced frame, because onsets score low."""

    max_speech_ms: int = Field(30_000, gt=0)
    """Maximum segment length. Longer speech is split into consecutive segments,
    which bounds the samples a stream keeps per device."""

    continuity_tolerance_ms: int = Field(100, ge=0)
    """Maximum difference between a chunk's start time and the end time of the
    previous chunk for the two to count as one continuous recording. A larger
    gap or overlap closes the open segment and restarts the frame grid."""

    @model_validator(mode="after")
    def _check_hangover(self) -> VadParameters:
        if self.hangover_ms > self.min_silence_ms:
            raise ValueError(
                f"hangover_ms ({self.hangover_ms}) must not exceed min_silence_ms "
                f"({self.min_silence_ms}), because a segment ends before its "
                "hangover could"
            )
        if self.max_speech_ms < self.frame_ms:
            raise ValueError(
                f"max_speech_ms ({self.max_speech_ms}) must be at least frame_ms "
                f"({self.frame_ms})"
            )
        return self

    def frames(self, duration_ms: int) -> int:
        """Return ``duration_ms`` as a count of frames, rounded up."""
        return math.ceil(duration_ms / self.frame_ms)
