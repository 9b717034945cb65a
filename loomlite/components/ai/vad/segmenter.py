"""The state machine that turns per-frame scores into speech segments.

It works on frame indices only. ``VadStream`` maps frames to samples and times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from loomlite.components.ai.vad.parameters import VadParameters

__all__ = ["FrameRange", "Segmenter"]


@dataclass(frozen=True, slots=True)
class FrameRange:
    """A closed speech segment: frames ``start`` up to, not including, ``end``."""

    start: int
    end: int
    confidence: float


class Segmenter:
    """Segments a sequence of frame scores, with hangover and pre-roll.

    A segment opens at the first voiced frame, moved back by the pre-roll but
    never before ``floor`` (the end of the previous segment or the start of the
    current recording). It closes once ``min_silence`` unvoiced frames follow
    the last voiced one, and then ends ``hangover`` frames after that voiced
    frame. A segment reaching ``max_speech`` frames is cut there. A closed
    segment with fewer than ``min_speech`` voiced frames is dropped.
    """

    def __init__(self, parameters: VadParameters, first_frame: int = 0) -> None:
        self._threshold = parameters.threshold
        self._min_speech = parameters.frames(parameters.min_speech_ms)
        self._min_silence = parameters.frames(parameters.min_silence_ms)
        self._hangover = parameters.frames(parameters.hangover_ms)
        self._pre_roll = parameters.frames(parameters.pre_roll_ms)
        self._max_speech = parameters.frames(parameters.max_speech_ms)
        self._next_frame = first_frame
        self._floor = first_frame
        self._start: int | None = None
        self._last_voiced = 0
        self._voiced_count = 0
        self._score_sum = 0.0

    @property
    def next_frame(self) -> int:
        """Index of the next frame that ``push`` will read."""
        return self._next_frame

    @property
    def retain_from(self) -> int:
        """Earliest frame that a future segment can still include."""
        if self._start is not None:
            return self._start
        return max(self._floor, self._next_frame - self._pre_roll)

    def push(self, scores: Iterable[float]) -> list[FrameRange]:
        """Read the next frames' scores and return the segments they emit."""
        emitted: list[FrameRange] = []
        for score in scores:
            frame = self._next_frame
            self._next_frame += 1
            voiced = score >= self._threshold

            if self._start is None:
                if voiced:
                    self._open(frame, score)
                continue

            if voiced:
                self._last_voiced = frame
                self._voiced_count += 1
                self._score_sum += score
            elif frame - self._last_voiced >= self._min_silence:
                self._close(self._last_voiced + 1 + self._hangover, emitted)
                continue

            if frame + 1 - self._start >= self._max_speech:
                end = min(frame + 1, self._last_voiced + 1 + self._hangover)
                self._close(end, emitted)
        return emitted

    def finish(self) -> list[FrameRange]:
        """Close the open segment at the frames read so far and restart after them.

        The hangover is cut short where the frames end.
        """
        emitted: list[FrameRange] = []
        if self._start is not None:
            end = min(self._last_voiced + 1 + self._hangover, self._next_frame)
            self._close(end, emitted)
        self._floor = self._next_frame
        return emitted

    def _open(self, frame: int, score: float) -> None:
        self._start = max(self._floor, frame - self._pre_roll)
        self._last_voiced = frame
        self._voiced_count = 1
        self._score_sum = score

    def _close(self, end: int, emitted: list[FrameRange]) -> None:
        assert self._start is not None
        if self._voiced_count >= self._min_speech:
            confidence = self._score_sum / self._voiced_count
            emitted.append(FrameRange(self._start, end, confidence))
        self._floor = end
        self._start = None
