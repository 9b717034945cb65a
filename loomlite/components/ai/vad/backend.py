"""The VAD backend interface: per-device streams over a frame classifier."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from datetime import datetime
from typing import ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from loomlite.components.ai.audio import PcmAudio
from loomlite.components.ai.vad.parameters import VadParameters
from loomlite.components.ai.vad.segment import SpeechSegment
from loomlite.components.ai.vad.stream import VadStream

__all__ = ["FrameClassifier", "VadBackend"]

logger = logging.getLogger(__name__)


class FrameClassifier(Protocol):
    """Scores frames of one device's audio. Each stream owns its classifier."""

    def score(
        self, frames: npt.NDArray[np.float32], sample_rate: int
    ) -> npt.NDArray[np.float64]:
        """Return a speech score from 0 to 1 for each row of ``frames``.

        ``frames`` has shape (frames, frame_length) with samples in [-1, 1),
        and its rows follow on from the rows of the previous call.
        """
        ...


class VadBackend(ABC):
    """A voice-activity detector with one independent stream per device.

    Subclasses provide the frame classifier. Segmentation, chunking and event
    time are shared and configured by ``VadParameters``. With
    ``record_decisions`` the streams keep one boolean per frame so that
    ``frame_decisions`` can be scored against ground truth. That costs one
    byte per frame for the life of the stream, so it is off by default.
    """

    name: ClassVar[str]
    """Backend name, as reported in segment metadata and statistics."""

    simulated: ClassVar[bool]
    """True when the backend does not analyse speech, only a stand-in signal."""

    def __init__(
        self,
        parameters: VadParameters | None = None,
        *,
        record_decisions: bool = False,
    ) -> None:
        self.parameters = parameters or VadParameters()
        self._record_decisions = record_decisions
        self._streams: dict[str, VadStream] = {}

    @abstractmethod
    def create_classifier(self) -> FrameClassifier:
        """Create the classifier for a new device stream."""

    @property
    def devices(self) -> tuple[str, ...]:
        """Ids of the devices that have an open stream, in order of arrival."""
        return tuple(self._streams)

    def stream(self, device_id: str) -> VadStream:
        """Return the device's stream, creating it on first use."""
        stream = self._streams.get(device_id)
        if stream is None:
            stream = VadStream(
                device_id,
                self.parameters,
                self.create_classifier(),
                record_decisions=self._record_decisions,
            )
            self._streams[device_id] = stream
            logger.debug("%s VAD: opened stream for device %s", self.name, device_id)
        return stream

    def process(
        self, device_id: str, pcm: PcmAudio, start_time: datetime
    ) -> list[SpeechSegment]:
        """Read one chunk of the device's audio and return the segments it closes.

        See ``VadStream.process`` for chunking, event time and sample rates.
        """
        return self.stream(device_id).process(pcm, start_time)

    def flush(self, device_id: str) -> list[SpeechSegment]:
        """End the device's current recording and return its open segment.

        A device without a stream has nothing to flush.
        """
        stream = self._streams.get(device_id)
        return [] if stream is None else stream.flush()

    def close(self, device_id: str) -> list[SpeechSegment]:
        """Flush the device's stream and forget it, with its recorded decisions."""
        segments = self.flush(device_id)
        if self._streams.pop(device_id, None) is not None:
            logger.debug("%s VAD: closed stream for device %s", self.name, device_id)
        return segments

    def frame_decisions(self, device_id: str) -> npt.NDArray[np.bool_]:
        """Return the device's per-frame decisions. See ``VadStream.frame_decisions``.

        Raises KeyError for a device without a stream.
        """
        stream = self._streams.get(device_id)
        if stream is None:
            known = ", ".join(repr(device) for device in self._streams) or "none"
            raise KeyError(
                f"no VAD stream for device {device_id!r} (open streams: {known})"
            )
        return stream.frame_decisions()
