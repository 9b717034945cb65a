"""Microphone and screen recorders shared by the phone and desktop simulators.

``AudioSource`` cuts the device's soundscape into fixed-length WAV chunks
and records which utterances fall into which chunk. ``ScreenshotSource``
sends the fixture image of what is on screen and records its text. The
payload shape comes from the device, because the phone and the macOS client
sent different bodies.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from loomlite.components.ai.audio import encode_wav
from simulators.base import Message, PeriodicSource, Source
from simulators.context import DeviceContext
from simulators.media import AudioRenderer, Conversation, ScreenImage, load_screen_image
from simulators.payloads import PayloadFactory, payload_message_id
from simulators.truth import ScreenshotTruth, UtteranceTruth

__all__ = [
    "AudioChunk",
    "AudioShape",
    "AudioSource",
    "ScreenshotShape",
    "ScreenshotSource",
    "continuous_chunks",
    "conversation_chunks",
]

AUDIO_TOPIC = "device.audio.raw"
SCREENSHOT_TOPIC = "device.image.screenshot.raw"


@dataclass(frozen=True, slots=True, eq=False)
class AudioChunk:
    """One recorded chunk on its way to a payload: its number, start and WAV."""

    number: int
    start: datetime
    wav: bytes
    sample_rate: int

    @property
    def base64(self) -> str:
        return base64.b64encode(self.wav).decode("ascii")


AudioShape = Callable[[PayloadFactory, AudioChunk, timedelta], dict[str, Any]]
ConversationsNear = Callable[[datetime], list[Conversation]]


def continuous_chunks(start: datetime, length: timedelta) -> Iterator[datetime]:
    """Yield chunk starts every ``length`` from ``start``, without end."""
    moment = start
    while True:
        yield moment
        moment += length


def conversation_chunks(
    conversations_of_day: Callable[[int], Iterable[Conversation]],
    first_day: int,
    after: datetime,
    length: timedelta,
) -> Iterator[datetime]:
    """Yield the chunk starts that cover each conversation, from ``first_day`` on.

    A conversation is cut into whole chunks from its start; the last one runs
    past the conversation's end. Chunks that start before ``after`` are
    skipped. Days without a conversation end the stream after a week.
    """
    day = first_day
    empty_days = 0
    previous_end = after
    while empty_days < 7:
        conversations = sorted(conversations_of_day(day), key=lambda c: c.start)
        empty_days = 0 if conversations else empty_days + 1
        for conversation in conversations:
            moment = max(conversation.start, previous_end)
            moment = conversation.start + _whole_chunks_before(
                moment - conversation.start, length
            )
            while moment < conversation.end:
                if moment >= after:
                    yield moment
                moment += length
            previous_end = max(previous_end, moment)
        day += 1


def _whole_chunks_before(offset: timedelta, length: timedelta) -> timedelta:
    if offset <= timedelta(0):
        return timedelta(0)
    count = -(-offset // length)
    return count * length


class AudioSource(Source):
    """Sends one WAV chunk when each chunk of ``chunk_starts`` has been recorded."""

    def __init__(
        self,
        context: DeviceContext,
        *,
        chunk_starts: Iterator[datetime],
        length: timedelta,
        sample_rate: int,
        conversations_near: ConversationsNear,
        shape: AudioShape,
        legacy: bool = False,
    ) -> None:
        self.name = "audio"
        self._context = context
        self._chunk_starts = chunk_starts
        self._length = length
        self._conversations_near = conversations_near
        self._shape = shape
        self._payloads = context.payloads("audio", legacy=legacy)
        self._renderer = AudioRenderer(sample_rate, context.random("audio"))
        self._utterances: dict[tuple[str, datetime], UtteranceTruth] = {}
        self._number = 0
        self._chunk_start = next(self._chunk_starts, None)
        self.next_due = self._due()

    def fire(self, now: datetime) -> Iterable[Message]:
        start = self._chunk_start
        assert start is not None
        rendered = self._renderer.render(
            start, self._length, self._conversations_near(start)
        )
        chunk = AudioChunk(
            self._number,
            start,
            encode_wav(rendered.samples, self._renderer.sample_rate),
            self._renderer.sample_rate,
        )
        payload = self._shape(self._payloads, chunk, self._length)
        message_id = payload_message_id(payload)
        for spoken in rendered.utterances:
            self._utterance(spoken.recording, spoken.text, spoken.start, spoken.end)
            self._utterances[(spoken.recording, spoken.start)].chunk_message_ids.append(
                message_id
            )
        self._number += 1
        self._chunk_start = next(self._chunk_starts, None)
        self.next_due = self._due()
        return [Message(AUDIO_TOPIC, payload)]

    def _due(self) -> datetime | None:
        # A chunk is sent once it has been recorded, at its end.
        return None if self._chunk_start is None else self._chunk_start + self._length

    def _utterance(
        self, recording: str, text: str, start: datetime, end: datetime
    ) -> None:
        key = (recording, start)
        if key not in self._utterances:
            utterance = UtteranceTruth(text, start, end, recording)
            self._utterances[key] = utterance
            self._context.truth.add_utterance(utterance)


ScreenshotShape = Callable[[PayloadFactory, datetime, ScreenImage], dict[str, Any]]


class ScreenshotSource(PeriodicSource):
    """Sends the fixture image of the current screen every ``interval``.

    ``image_at`` returns the fixture name of what is on screen, or None when
    there is nothing to capture (screen off, machine asleep).
    """

    def __init__(
        self,
        context: DeviceContext,
        *,
        start: datetime,
        interval: timedelta,
        image_at: Callable[[datetime], str | None],
        shape: ScreenshotShape,
    ) -> None:
        super().__init__("screenshots", start, interval)
        self._context = context
        self._image_at = image_at
        self._shape = shape
        self._payloads = context.payloads("screenshots")

    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        name = self._image_at(now)
        if name is None:
            return []
        image = load_screen_image(name)
        payload = self._shape(self._payloads, now, image)
        self._context.truth.add_screenshot(
            ScreenshotTruth(payload_message_id(payload), now, image.name, image.text)
        )
        return [Message(SCREENSHOT_TOPIC, payload)]
