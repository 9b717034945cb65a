"""The speech segment that every VAD backend emits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

__all__ = ["SpeechSegment"]


@dataclass(frozen=True, slots=True, eq=False)
class SpeechSegment:
    """One stretch of speech in a device's audio stream.

    ``start_offset`` and ``end_offset`` count samples from the first sample the
    device's stream received, and ``end_offset`` is exclusive. ``start_time``
    and ``end_time`` are the matching event times (UTC). ``samples`` are the
    mono int16 samples from ``start_offset`` to ``end_offset``. ``confidence``
    is the mean score, from 0 to 1, of the segment's voiced frames.
    """

    device_id: str
    start_offset: int
    end_offset: int
    start_time: datetime
    end_time: datetime
    sample_rate: int
    confidence: float
    samples: npt.NDArray[np.int16]

    @property
    def duration_ms(self) -> float:
        """Length of the segment in milliseconds."""
        return 1000.0 * (self.end_offset - self.start_offset) / self.sample_rate

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpeechSegment):
            return NotImplemented
        return (
            self.device_id == other.device_id
            and self.start_offset == other.start_offset
            and self.end_offset == other.end_offset
            and self.start_time == other.start_time
            and self.end_time == other.end_time
            and self.sample_rate == other.sample_rate
            and self.confidence == other.confidence
            and np.array_equal(self.samples, other.samples)
        )

    __hash__ = None  # type: ignore[assignment]
