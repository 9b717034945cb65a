"""The recent audio chunks of each device, and VoiceSegment messages built from them.

A VAD stream carries an open segment from one chunk into the next, so a
segment can close while a later chunk is processed, or only when the stream is
flushed. The segment still belongs to the chunk it starts in: that chunk gives
its source id, trace id and the origin of its millisecond offsets.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from loomlite.components.ai.vad import SpeechSegment
from loomlite.components.ids import derived_id
from loomlite.contract.models import AudioChunk, VoiceSegment

__all__ = ["ChunkHistory", "ChunkRecord", "build_voice_segment"]

logger = logging.getLogger(__name__)

VAD_STAGE = "vad"


@dataclass(slots=True)
class ChunkRecord:
    """One audio chunk: its ids, its event-time span and its segments so far."""

    message_id: str
    trace_id: str
    device_id: str
    start: datetime
    end: datetime
    segments: int = 0
    """Segments attributed to the chunk so far, which numbers their ids."""


class ChunkHistory:
    """The chunks of each device that a future speech segment may start in.

    ``retention`` must cover the longest segment plus the pre-roll, because a
    segment starts at most that long before the end of the chunk that closes
    it. Older chunks are forgotten when a newer one is added.
    """

    def __init__(self, retention: timedelta) -> None:
        if retention <= timedelta(0):
            raise ValueError(f"retention must be positive, got {retention!r}")
        self.retention = retention
        self._chunks: dict[str, deque[ChunkRecord]] = {}

    def add(self, chunk: AudioChunk, duration: timedelta) -> ChunkRecord:
        """Record a decoded chunk of ``duration`` and forget chunks that are too old."""
        record = ChunkRecord(
            message_id=chunk.message_id,
            trace_id=chunk.trace_id,
            device_id=chunk.device_id,
            start=chunk.recorded_at,
            end=chunk.recorded_at + duration,
        )
        records = self._chunks.setdefault(chunk.device_id, deque())
        records.append(record)
        horizon = record.start - self.retention
        while len(records) > 1 and records[0].end < horizon:
            records.popleft()
        return record

    def source_of(self, device_id: str, start: datetime) -> ChunkRecord:
        """Return the chunk that a segment starting at ``start`` belongs to.

        That is the chunk with the latest start at or before ``start``. A
        segment can start before every kept chunk because chunk timestamps
        may jitter by up to the VAD's continuity tolerance, and then it
        belongs to the oldest kept chunk. Raises KeyError when the device has
        no chunk.
        """
        records = self._chunks.get(device_id)
        if not records:
            raise KeyError(f"no audio chunk recorded for device {device_id!r}")
        best: ChunkRecord | None = None
        for record in records:
            if record.start <= start and (best is None or record.start >= best.start):
                best = record
        return best if best is not None else records[0]


def build_voice_segment(
    segment: SpeechSegment,
    source: ChunkRecord,
    *,
    backend: str,
    received_at: datetime,
) -> VoiceSegment:
    """Build the VoiceSegment message of ``segment``, attributed to ``source``.

    Offsets are milliseconds from the source chunk's start, and ``recorded_at``
    is that start plus ``segment_start_ms``. The message id is derived from the
    source chunk's id and the segment's number within that chunk.
    """
    start_ms = max(0, _milliseconds(segment.start_time - source.start))
    end_ms = max(start_ms + 1, _milliseconds(segment.end_time - source.start))
    index = source.segments
    source.segments += 1
    audio = segment.samples.astype("<i2", copy=False).tobytes()
    confidence = float(np.clip(segment.confidence, 0.0, 1.0))
    return VoiceSegment(
        message_id=derived_id(source.message_id, VAD_STAGE, index),
        trace_id=source.trace_id,
        device_id=source.device_id,
        recorded_at=source.start + timedelta(milliseconds=start_ms),
        received_at=received_at,
        source_message_id=source.message_id,
        segment_start_ms=start_ms,
        segment_end_ms=end_ms,
        sample_rate=segment.sample_rate,
        audio=audio,
        vad_confidence=round(confidence, 4),
        backend=backend,
    )


def _milliseconds(delta: timedelta) -> int:
    return round(delta / timedelta(milliseconds=1))
