"""The ai component: voice activity, speech-to-text, emotion, OCR, captions and
text embeddings.

Each stage is its own subscription, so its failures go to
``processing.errors.<stage>``. Decoding and inference run in worker threads,
at most ``AiSettings.inference_threads`` at a time per stage, so a slow model
does not block the event loop. Each stage's calls go through an
``InferenceGuard`` with the timeout and circuit breaker of
``AiSettings.inference``. Every derived message continues its source's trace and
gets a deterministic id (see ``loomlite.components.ids``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final, TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.to_thread
import numpy as np
import numpy.typing as npt

from loomlite.components.ai.audio import decode_audio
from loomlite.components.ai.chunks import ChunkHistory, build_voice_segment
from loomlite.components.ai.loading import AiBackends, load_ai_backends
from loomlite.components.ai.texts import (
    email_text,
    liked_post_text,
    note_text,
    transcript_text,
)
from loomlite.components.ai.vad import SpeechSegment
from loomlite.components.ids import derived_id
from loomlite.components.inference import InferenceGuard, create_guard
from loomlite.contract.envelope import Envelope
from loomlite.contract.models import (
    AudioChunk,
    AudioEmotion,
    BoundingBox,
    EmailEvent,
    ImageData,
    NoteData,
    OcrResult,
    TextEmbedding,
    TextRegion,
    TranscribedWord,
    Transcription,
    TweetScreenshot,
    TwitterLike,
    VisionAnnotation,
    VoiceSegment,
)
from loomlite.errors import AudioFormatError, LifecycleError, LoomliteError
from loomlite.runtime.component import Component
from loomlite.runtime.context import Context
from loomlite.runtime.subscription import subscribe

__all__ = ["INPUT_TOPICS", "AiComponent"]

logger = logging.getLogger(__name__)

AUDIO: Final = "device.audio.raw"
SEGMENTS: Final = "media.audio.vad_filtered"
TRANSCRIPTS: Final = "media.text.transcribed.words"
EMOTIONS: Final = "analysis.audio.emotion_scores"
SCREENSHOTS: Final = "device.image.screenshot.raw"
CAMERA: Final = "device.image.camera.raw"
POST_IMAGES: Final = "external.twitter.images.raw"
OCR_RESULTS: Final = "media.image.analysis.moondream_results"
ANNOTATIONS: Final = "media.image.vision_annotations"
NOTES: Final = "digital.notes.raw"
EMAILS: Final = "external.email.events.raw"
LIKED_POSTS: Final = "external.twitter.liked.raw"
NOTE_EMBEDDINGS: Final = "analysis.text.embedded.notes"
EMAIL_EMBEDDINGS: Final = "analysis.text.embedded.emails"
TRANSCRIPT_EMBEDDINGS: Final = "analysis.text.embedded.transcripts"
POST_EMBEDDINGS: Final = "analysis.text.embedded.twitter"

STAGES: Final = ("vad", "stt", "emotion", "ocr", "caption", "embedding")

INPUT_TOPICS: Final = (
    AUDIO,
    SCREENSHOTS,
    CAMERA,
    POST_IMAGES,
    NOTES,
    EMAILS,
    LIKED_POSTS,
)
"""Topics the component reads that other components or devices produce."""

# A chunk is kept this long beyond the longest segment, to cover the pre-roll,
# the hangover and jitter between chunk timestamps.
_CHUNK_MARGIN = timedelta(seconds=2)

_Args = TypeVarTuple("_Args")
_T = TypeVar("_T")
_E = TypeVar("_E", bound=Envelope)


class AiComponent(Component):
    """Model stages over audio, images and text, with backends from AiSettings.

    ``backends``, loaded ahead from the same settings, serve the first
    setup; a restart loads fresh ones, which also starts fresh VAD streams.
    """

    name = "ai"
    publishes = (
        SEGMENTS,
        TRANSCRIPTS,
        EMOTIONS,
        OCR_RESULTS,
        ANNOTATIONS,
        NOTE_EMBEDDINGS,
        EMAIL_EMBEDDINGS,
        TRANSCRIPT_EMBEDDINGS,
        POST_EMBEDDINGS,
    )

    def __init__(self, backends: AiBackends | None = None) -> None:
        self._preloaded = backends
        self._backends: AiBackends | None = None
        self._guards: dict[str, InferenceGuard] = {}
        self._chunks: ChunkHistory | None = None
        # Guards the VAD streams and the chunk history, which the vad
        # handler and drain both change.
        self._vad_lock = anyio.Lock()

    @property
    def guards(self) -> dict[str, InferenceGuard]:
        """The inference guard of each stage, by stage name. Empty before setup."""
        return self._guards

    @property
    def backends(self) -> AiBackends:
        """The loaded backends. Raises LifecycleError before ``setup``."""
        if self._backends is None:
            raise LifecycleError("ai component", "not set up", "use its backends")
        return self._backends

    # -- lifecycle ----------------------------------------------------------

    async def setup(self) -> None:
        """Load every backend and start fresh VAD streams.

        Raises the ConfigurationError of the backend registry when a backend
        name or option is invalid.
        """
        settings = self.context.settings.components.ai
        backends, self._preloaded = self._preloaded, None
        if backends is None:
            backends = await anyio.to_thread.run_sync(load_ai_backends, settings)
        longest = timedelta(milliseconds=backends.vad.parameters.max_speech_ms)
        self._chunks = ChunkHistory(longest + _CHUNK_MARGIN)
        names = {
            "vad": backends.vad.name,
            "stt": backends.stt.name,
            "emotion": backends.emotion.name,
            "ocr": backends.ocr.name,
            "caption": backends.caption.name,
            "embedding": backends.embed.name,
        }
        self._guards = {
            stage: create_guard(
                stage,
                names[stage],
                settings.inference,
                self.context.counters,
                # The VAD streams are not thread-safe, so one call at a time.
                threads=1 if stage == "vad" else settings.inference_threads,
                exclusive=stage == "vad",
                input_errors=(AudioFormatError, ValueError),
            )
            for stage in STAGES
        }
        self._backends = backends
        self.context.logger.info(
            "ai backends: vad=%s, stt=%s, emotion=%s, ocr=%s, caption=%s, embed=%s",
            backends.vad.name,
            backends.stt.name,
            backends.emotion.name,
            backends.ocr.name,
            backends.caption.name,
            backends.embed.name,
        )

    async def teardown(self) -> None:
        self._backends = None
        self._chunks = None

    async def drain(self) -> None:
        """Close the open speech segment of every device and publish it.

        Runtime.flush calls this while the handlers run, so the VAD lock
        keeps it from flushing a stream that a chunk is being fed to.
        """
        if self._backends is None or self._chunks is None:
            return
        vad = self._backends.vad
        messages: list[VoiceSegment] = []
        async with self._vad_lock:
            for device_id in vad.devices:
                try:
                    segments = await self._infer("vad", vad.flush, device_id)
                except LoomliteError as error:
                    # An open circuit or a hung backend loses this segment
                    # only; the other devices still drain.
                    self.context.logger.error(
                        "cannot close the open speech segment of device %s: %s",
                        device_id,
                        error,
                    )
                    continue
                messages += [self._voice_segment(segment) for segment in segments]
        for message in messages:
            await self.context.publish(SEGMENTS, message)
        self.context.logger.info("drained %d open speech segment(s)", len(messages))

    # -- voice activity -----------------------------------------------------

    @subscribe(AUDIO, stage="vad")
    async def on_audio(self, message: AudioChunk, context: Context) -> None:
        """Cut the chunk's speech into VoiceSegment messages.

        Raises AudioFormatError when the chunk does not decode or its declared
        format, sample rate or channel count disagrees with the bytes.
        """
        chunks = self._require_chunks()
        async with self._vad_lock:
            duration, segments = await self._infer("vad", self._detect_speech, message)
            chunks.add(message, duration)
            messages = [self._voice_segment(segment) for segment in segments]
        for segment_message in messages:
            await context.publish(SEGMENTS, segment_message)

    def _detect_speech(
        self, message: AudioChunk
    ) -> tuple[timedelta, list[SpeechSegment]]:
        """Decode one chunk and feed it to its device's VAD stream.

        Runs in a worker thread while the caller holds the VAD lock, because
        the VAD streams are not thread-safe.
        """
        pcm = decode_audio(
            message.data,
            declared_format=message.format,
            declared_sample_rate=message.sample_rate,
            declared_channels=message.channels,
        )
        vad = self.backends.vad
        segments: list[SpeechSegment] = []
        current_rate = vad.stream(message.device_id).sample_rate
        if current_rate is not None and current_rate != pcm.sample_rate:
            # A new sample rate starts a new recording, so the open segment
            # of the old one ends here instead of failing the chunk.
            segments += vad.flush(message.device_id)
        segments += vad.process(message.device_id, pcm, message.recorded_at)
        return timedelta(seconds=pcm.duration_s), segments

    def _voice_segment(self, segment: SpeechSegment) -> VoiceSegment:
        chunks = self._require_chunks()
        source = chunks.source_of(segment.device_id, segment.start_time)
        return build_voice_segment(
            segment,
            source,
            backend=self.backends.vad.name,
            received_at=self.context.clock.now(),
        )

    # -- speech -------------------------------------------------------------

    @subscribe(SEGMENTS, stage="stt")
    async def on_segment_for_stt(self, message: VoiceSegment, context: Context) -> None:
        """Transcribe one speech segment."""
        samples = _segment_samples(message)
        stt = self.backends.stt
        transcript = await self._infer(
            "stt", stt.transcribe, samples, message.sample_rate
        )
        words = [
            TranscribedWord(
                word=word.word,
                start_ms=word.start_ms,
                end_ms=word.end_ms,
                confidence=word.confidence,
            )
            for word in transcript.words
        ]
        transcription = _derive(
            Transcription,
            message,
            "stt",
            context.clock.now(),
            source_message_id=message.message_id,
            text=transcript.text,
            words=words,
            language=transcript.language,
            backend=stt.name,
        )
        await context.publish(TRANSCRIPTS, transcription)

    @subscribe(SEGMENTS, stage="emotion")
    async def on_segment_for_emotion(
        self, message: VoiceSegment, context: Context
    ) -> None:
        """Score the emotion in the voice of one speech segment."""
        samples = _segment_samples(message)
        emotion = self.backends.emotion
        result = await self._infer(
            "emotion", emotion.score, samples, message.sample_rate
        )
        # The highest score wins. On a tie the label that sorts last wins.
        label, confidence = max(result.scores.items(), key=lambda item: item[::-1])
        scored = _derive(
            AudioEmotion,
            message,
            "emotion",
            context.clock.now(),
            source_message_id=message.message_id,
            predicted_emotion=label,
            confidence=confidence,
            scores=result.scores,
            valence=result.valence,
            arousal=result.arousal,
            backend=emotion.name,
        )
        await context.publish(EMOTIONS, scored)

    # -- images -------------------------------------------------------------

    @subscribe(SCREENSHOTS, stage="ocr")
    @subscribe(CAMERA, stage="ocr")
    async def on_image_for_ocr(self, message: ImageData, context: Context) -> None:
        """Read the text in a screenshot or photo."""
        await self._recognize(message, message.image_data, message.format, context)

    @subscribe(POST_IMAGES, stage="ocr")
    async def on_post_image_for_ocr(
        self, message: TweetScreenshot, context: Context
    ) -> None:
        """Read the text in a screenshot of a post on X."""
        await self._recognize(message, message.image_data, message.format, context)

    async def _recognize(
        self, message: Envelope, image: bytes, format: str, context: Context
    ) -> None:
        ocr = self.backends.ocr
        result = await self._infer("ocr", ocr.recognize, image, format)
        regions = [
            TextRegion(text=line.text, confidence=line.confidence, box=_box(line.box))
            for line in result.lines
        ]
        recognized = _derive(
            OcrResult,
            message,
            "ocr",
            context.clock.now(),
            source_topic=context.topic,
            source_message_id=message.message_id,
            text=result.text,
            regions=regions,
            backend=ocr.name,
        )
        await context.publish(OCR_RESULTS, recognized)

    @subscribe(SCREENSHOTS, stage="caption")
    @subscribe(CAMERA, stage="caption")
    async def on_image_for_caption(self, message: ImageData, context: Context) -> None:
        """Caption a screenshot or photo."""
        caption = self.backends.caption
        description = await self._infer(
            "caption", caption.describe, message.image_data, message.format
        )
        # TODO: VisionAnnotation has no field for the backend's tags and
        # dominant colours, so only the caption is kept.
        annotation = _derive(
            VisionAnnotation,
            message,
            "caption",
            context.clock.now(),
            source_topic=context.topic,
            source_message_id=message.message_id,
            caption=description.caption,
            backend=caption.name,
        )
        await context.publish(ANNOTATIONS, annotation)

    # -- embeddings ---------------------------------------------------------

    @subscribe(NOTES, stage="embedding", batch=True)
    async def on_notes(self, messages: Sequence[NoteData], context: Context) -> None:
        """Embed notes: title and content."""
        await self._embed(messages, note_text, NOTE_EMBEDDINGS, context)

    @subscribe(EMAILS, stage="embedding", batch=True)
    async def on_emails(self, messages: Sequence[EmailEvent], context: Context) -> None:
        """Embed emails: sender, subject and body."""
        await self._embed(messages, email_text, EMAIL_EMBEDDINGS, context)

    @subscribe(TRANSCRIPTS, stage="embedding", batch=True)
    async def on_transcripts(
        self, messages: Sequence[Transcription], context: Context
    ) -> None:
        """Embed transcripts of speech segments."""
        await self._embed(messages, transcript_text, TRANSCRIPT_EMBEDDINGS, context)

    @subscribe(LIKED_POSTS, stage="embedding", batch=True)
    async def on_liked_posts(
        self, messages: Sequence[TwitterLike], context: Context
    ) -> None:
        """Embed liked posts on X: author and text."""
        await self._embed(messages, liked_post_text, POST_EMBEDDINGS, context)

    async def _embed(
        self,
        messages: Sequence[_E],
        text_of: Callable[[_E], str],
        topic: str,
        context: Context,
    ) -> None:
        """Embed the text of each message and publish one TextEmbedding per text.

        Messages without text are skipped and logged at DEBUG.
        """
        sources: list[_E] = []
        texts: list[str] = []
        for message in messages:
            text = text_of(message)
            if not text:
                context.logger.debug(
                    "skipped message %s of %s: no text to embed",
                    message.message_id,
                    context.topic,
                )
                continue
            sources.append(message)
            texts.append(text)
        if not texts:
            return

        embedder = self.backends.embed
        vectors = await self._infer("embedding", embedder.embed, texts)
        received_at = context.clock.now()
        for source, text, vector in zip(sources, texts, vectors, strict=True):
            embedding = _derive(
                TextEmbedding,
                source,
                "embedding",
                received_at,
                source_topic=context.topic,
                source_message_id=source.message_id,
                model=embedder.name,
                dimensions=len(vector),
                embedding=vector,
                text_length=len(text),
            )
            await context.publish(topic, embedding)

    # -- helpers ------------------------------------------------------------

    async def _infer(
        self, stage: str, function: Callable[[Unpack[_Args]], _T], *args: *_Args
    ) -> _T:
        """Call ``function`` in a daemon thread through the stage's guard."""
        return await self._guards[stage].call(function, *args)

    def _require_chunks(self) -> ChunkHistory:
        if self._chunks is None:
            raise LifecycleError("ai component", "not set up", "handle audio")
        return self._chunks


def _derive(
    message_type: type[_E],
    source: Envelope,
    stage: str,
    received_at: datetime,
    /,
    **fields: object,
) -> _E:
    """Build a ``message_type`` message that continues ``source`` with a derived id."""
    return message_type.derive(
        source,
        received_at=received_at,
        message_id=derived_id(source.message_id, stage),
        **fields,
    )


def _segment_samples(message: VoiceSegment) -> npt.NDArray[np.int16]:
    """Return a segment's audio as int16 samples.

    Raises AudioFormatError when the byte count is odd.
    """
    if len(message.audio) % 2:
        raise AudioFormatError(
            f"voice segment {message.message_id!r} has {len(message.audio)} bytes "
            "of audio, but 16-bit PCM needs an even number",
            field="data",
            actual=len(message.audio),
        )
    return np.frombuffer(message.audio, dtype="<i2").astype(np.int16)


def _box(box: tuple[int, int, int, int] | None) -> BoundingBox | None:
    if box is None:
        return None
    x, y, width, height = box
    return BoundingBox(x=x, y=y, width=width, height=height)
