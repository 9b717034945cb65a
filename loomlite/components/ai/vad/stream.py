"""One device's VAD stream: framing, carried samples, event time and segments."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.audio import PcmAudio
from loomlite.components.ai.vad.parameters import VadParameters
from loomlite.components.ai.vad.segment import SpeechSegment
from loomlite.components.ai.vad.segmenter import FrameRange, Segmenter
from loomlite.contract.types import as_utc
from loomlite.errors import AudioFormatError

if TYPE_CHECKING:
    from loomlite.components.ai.vad.backend import FrameClassifier

__all__ = ["VadStream"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Recording:
    """Start of the current continuous recording in frames, samples and time."""

    first_frame: int
    first_offset: int
    start_time: datetime


class _SampleBuffer:
    """The samples from ``start`` to ``end`` (stream offsets), kept as blocks."""

    def __init__(self) -> None:
        self._blocks: deque[npt.NDArray[np.int16]] = deque()
        self.start = 0
        self.end = 0

    def reset(self, offset: int) -> None:
        self._blocks.clear()
        self.start = self.end = offset

    def append(self, samples: npt.NDArray[np.int16]) -> None:
        self._blocks.append(samples)
        self.end += len(samples)

    def slice(self, start: int, end: int) -> npt.NDArray[np.int16]:
        if start < self.start or end > self.end:
            raise ValueError(
                f"samples {start}..{end} are outside the kept samples "
                f"{self.start}..{self.end}"
            )
        if not self._blocks:
            return np.zeros(0, dtype=np.int16)
        kept = np.concatenate(self._blocks)
        return kept[start - self.start : end - self.start].copy()

    def discard_before(self, offset: int) -> None:
        while self._blocks and self.start + len(self._blocks[0]) <= offset:
            self.start += len(self._blocks.popleft())
        if self._blocks and self.start < offset:
            self._blocks[0] = self._blocks[0][offset - self.start :]
            self.start = offset


class VadStream:
    """Turns one device's audio chunks into speech segments.

    Chunks may have any length. Samples that do not fill a frame are carried
    into the device's next chunk, so the segments do not depend on how the
    audio was cut into chunks. Chunks whose start times follow on from each
    other, within ``continuity_tolerance_ms``, form one recording. A chunk
    that does not follow on closes the open segment, drops the carried
    samples and starts a new recording at its own start time.

    Every chunk must have the sample rate of the chunks before it, until
    ``flush`` ends the recording.
    """

    def __init__(
        self,
        device_id: str,
        parameters: VadParameters,
        classifier: FrameClassifier,
        *,
        record_decisions: bool = False,
    ) -> None:
        self.device_id = device_id
        self._parameters = parameters
        self._classifier = classifier
        self._segmenter = Segmenter(parameters)
        self._buffer = _SampleBuffer()
        self._remainder = np.zeros(0, dtype=np.int16)
        self._sample_rate: int | None = None
        self._frame_length = 0
        self._received = 0
        self._recording: _Recording | None = None
        self._decisions: bytearray | None = bytearray() if record_decisions else None

    @property
    def sample_rate(self) -> int | None:
        """Sample rate of the current recording, or None between recordings."""
        return self._sample_rate

    @property
    def samples_received(self) -> int:
        """Number of samples the stream has received, including dropped ones."""
        return self._received

    def process(self, pcm: PcmAudio, start_time: datetime) -> list[SpeechSegment]:
        """Read one chunk that starts at ``start_time`` and return closed segments.

        A naive ``start_time`` is read as UTC. Raises AudioFormatError, and
        keeps the stream unchanged, when the chunk's sample rate differs from
        the current recording's.
        """
        start_time = as_utc(start_time)
        self._check_sample_rate(pcm.sample_rate)
        if len(pcm.samples) == 0:
            return []

        emitted: list[SpeechSegment] = []
        if self._recording is None:
            self._begin_recording(pcm.sample_rate, start_time)
        elif not self._continues(start_time):
            logger.debug(
                "device %s: chunk at %s does not follow on from the previous "
                "chunk; starting a new recording",
                self.device_id,
                start_time.isoformat(),
            )
            emitted += self._end_recording()
            self._begin_recording(pcm.sample_rate, start_time)

        emitted += self._read_frames(pcm.samples)
        return emitted

    def flush(self) -> list[SpeechSegment]:
        """End the current recording and return the segment it left open.

        Carried samples that do not fill a frame are dropped. The next chunk
        starts a new recording and may use another sample rate.
        """
        emitted = self._end_recording()
        self._sample_rate = None
        return emitted

    def frame_decisions(self) -> npt.NDArray[np.bool_]:
        """Return one decision per frame read so far, True inside a segment.

        Frames of a segment that is still open read False until it closes.
        The frames of successive recordings follow each other, so frame ``i``
        starts ``i * frame_ms`` into the audio only while there has been one
        recording. Raises ValueError unless the stream records decisions.
        """
        if self._decisions is None:
            raise ValueError(
                f"the VAD stream of device {self.device_id!r} does not record frame "
                "decisions; create the backend with record_decisions=True"
            )
        return np.frombuffer(bytes(self._decisions), dtype=np.uint8).astype(bool)

    def _check_sample_rate(self, sample_rate: int) -> None:
        if self._sample_rate is None or sample_rate == self._sample_rate:
            return
        raise AudioFormatError(
            f"chunk for device {self.device_id!r} has sample rate {sample_rate} Hz "
            f"but its stream is at {self._sample_rate} Hz; flush the stream before "
            "changing the sample rate",
            field="sample_rate",
            declared=self._sample_rate,
            actual=sample_rate,
        )

    def _begin_recording(self, sample_rate: int, start_time: datetime) -> None:
        self._sample_rate = sample_rate
        self._frame_length = max(
            1, round(sample_rate * self._parameters.frame_ms / 1000)
        )
        self._recording = _Recording(
            self._segmenter.next_frame, self._received, start_time
        )
        self._buffer.reset(self._received)

    def _continues(self, start_time: datetime) -> bool:
        assert self._recording is not None
        expected = self._time_at(self._received)
        tolerance = timedelta(milliseconds=self._parameters.continuity_tolerance_ms)
        return abs(start_time - expected) <= tolerance

    def _end_recording(self) -> list[SpeechSegment]:
        if self._recording is None:
            return []
        emitted = self._segments(self._segmenter.finish())
        self._remainder = np.zeros(0, dtype=np.int16)
        self._recording = None
        self._buffer.reset(self._received)
        return emitted

    def _read_frames(self, samples: npt.NDArray[np.int16]) -> list[SpeechSegment]:
        joined = np.concatenate((self._remainder, samples))
        self._received += len(samples)
        length = self._frame_length
        count = len(joined) // length
        self._remainder = joined[count * length :].copy()
        if count == 0:
            return []

        framed = joined[: count * length]
        self._buffer.append(framed)
        assert self._sample_rate is not None
        frames = framed.reshape(count, length).astype(np.float32) / np.float32(32768.0)
        scores = self._classifier.score(frames, self._sample_rate)
        if self._decisions is not None:
            self._decisions.extend(bytes(count))

        emitted = self._segments(self._segmenter.push(scores))
        self._buffer.discard_before(self._offset_of(self._segmenter.retain_from))
        return emitted

    def _segments(self, ranges: list[FrameRange]) -> list[SpeechSegment]:
        assert self._sample_rate is not None
        segments = []
        for frame_range in ranges:
            if self._decisions is not None:
                width = frame_range.end - frame_range.start
                self._decisions[frame_range.start : frame_range.end] = b"\x01" * width
            start = self._offset_of(frame_range.start)
            end = self._offset_of(frame_range.end)
            segment = SpeechSegment(
                device_id=self.device_id,
                start_offset=start,
                end_offset=end,
                start_time=self._time_at(start),
                end_time=self._time_at(end),
                sample_rate=self._sample_rate,
                confidence=frame_range.confidence,
                samples=self._buffer.slice(start, end),
            )
            segments.append(segment)
        return segments

    def _offset_of(self, frame: int) -> int:
        assert self._recording is not None
        frames_in = frame - self._recording.first_frame
        return self._recording.first_offset + frames_in * self._frame_length

    def _time_at(self, offset: int) -> datetime:
        assert self._recording is not None and self._sample_rate is not None
        seconds = (offset - self._recording.first_offset) / self._sample_rate
        return self._recording.start_time + timedelta(seconds=seconds)
