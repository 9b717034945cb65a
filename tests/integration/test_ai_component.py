"""The ai component in a test pipeline on the memory and the durable broker:
audio to speech segments, transcripts, emotion and embeddings, images to OCR
text and captions."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.audio import decode_audio, encode_wav
from loomlite.components.ai.component import INPUT_TOPICS, AiComponent
from loomlite.components.ai.vad import frame_agreement
from loomlite.components.ids import derived_id
from loomlite.contract.envelope import Envelope
from loomlite.contract.models import (
    AudioChunk,
    AudioEmotion,
    EmailEvent,
    ImageData,
    NoteData,
    OcrResult,
    ProcessingError,
    TextEmbedding,
    Transcription,
    TwitterLike,
    VisionAnnotation,
    VoiceSegment,
)
from loomlite.errors import ComponentError
from loomlite.runtime import LoomliteSettings
from loomlite.testing import Pipeline
from tests.integration.support import PipelineFactory, fast_settings

pytestmark = pytest.mark.loomlite_brokers("memory", "durable")

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEVICE = "phone-1"
SPEECH = ("speech_us_male_25db", "speech_gb_female_20db", "speech_us_fast_15db")
FRAME_MS = 30

AUDIO = "device.audio.raw"
SEGMENTS = "media.audio.vad_filtered"
TRANSCRIPTS = "media.text.transcribed.words"
EMOTIONS = "analysis.audio.emotion_scores"
SCREENSHOTS = "device.image.screenshot.raw"
OCR_RESULTS = "media.image.analysis.moondream_results"
ANNOTATIONS = "media.image.vision_annotations"
NOTES = "digital.notes.raw"
EMAILS = "external.email.events.raw"
LIKED_POSTS = "external.twitter.liked.raw"
VAD_ERRORS = "processing.errors.vad"


def settings(**ai: Any) -> LoomliteSettings:
    return fast_settings({"ai": ai})


def make_runtime(
    make_pipeline: PipelineFactory, configuration: LoomliteSettings | None = None
) -> Pipeline:
    return make_pipeline(
        settings=configuration or settings(),
        components=[AiComponent()],
        inputs=INPUT_TOPICS,
        db=None,
        start=START,
    )


def speech_truth(name: str) -> list[tuple[float, float]]:
    truth = json.loads(fixture_path("audio", f"{name}.json").read_text())
    return [(float(start), float(end)) for start, end in truth["speech_intervals_ms"]]


def speech_samples(name: str) -> np.ndarray[Any, np.dtype[np.int16]]:
    wav = fixture_path("audio", f"{name}.wav").read_bytes()
    return decode_audio(wav).samples


def audio_chunk(
    samples: np.ndarray[Any, np.dtype[np.int16]],
    start: datetime,
    *,
    sample_rate: int = 16_000,
    declared_rate: int | None = None,
) -> AudioChunk:
    """Return a WAV chunk of ``samples``, declared at ``declared_rate`` if given."""
    return AudioChunk(
        device_id=DEVICE,
        recorded_at=start,
        received_at=start,
        data=encode_wav(samples, sample_rate),
        sample_rate=declared_rate or sample_rate,
        duration_ms=len(samples) * 1000 // sample_rate,
        format="wav",
    )


def chunked(
    samples: np.ndarray[Any, np.dtype[np.int16]], seconds: float, start: datetime
) -> list[AudioChunk]:
    """Cut ``samples`` (16 kHz) into consecutive chunks of ``seconds``."""
    step = int(seconds * 16_000)
    return [
        audio_chunk(
            samples[offset : offset + step], start + timedelta(seconds=offset / 16_000)
        )
        for offset in range(0, len(samples), step)
    ]


def segment_decisions(
    segments: Sequence[VoiceSegment], origin: datetime, frame_count: int
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Mark each 30 ms frame whose midpoint lies inside a published segment."""
    midpoints = (np.arange(frame_count) + 0.5) * FRAME_MS
    voiced = np.zeros(frame_count, dtype=bool)
    for segment in segments:
        start_ms = (segment.recorded_at - origin) / timedelta(milliseconds=1)
        length_ms = segment.segment_end_ms - segment.segment_start_ms
        voiced |= (midpoints >= start_ms) & (midpoints < start_ms + length_ms)
    return voiced


# -- audio ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_trace_follows_chunk_to_embeddings(
    loomlite_pipeline: PipelineFactory,
) -> None:
    chunk = audio_chunk(speech_samples(SPEECH[0]), START)

    async with make_runtime(loomlite_pipeline) as runtime:
        await runtime.publish(AUDIO, chunk)
        await runtime.run_until_idle(timeout=30)

    segments: list[VoiceSegment] = runtime.messages(SEGMENTS)
    transcripts: list[Transcription] = runtime.messages(TRANSCRIPTS)
    emotions: list[AudioEmotion] = runtime.messages(EMOTIONS)
    embeddings: list[TextEmbedding] = runtime.messages(
        "analysis.text.embedded.transcripts"
    )
    assert len(segments) == len(speech_truth(SPEECH[0]))
    assert len(transcripts) == len(segments)
    assert len(emotions) == len(segments)
    assert len(embeddings) == len(transcripts)
    for message in [*segments, *transcripts, *emotions, *embeddings]:
        assert message.trace_id == chunk.trace_id
        assert message.device_id == DEVICE

    segment_ids = {segment.message_id for segment in segments}
    assert {segment.source_message_id for segment in segments} == {chunk.message_id}
    assert {transcript.source_message_id for transcript in transcripts} == segment_ids
    assert {emotion.source_message_id for emotion in emotions} == segment_ids
    transcript_ids = {transcript.message_id for transcript in transcripts}
    assert {embedding.source_message_id for embedding in embeddings} == transcript_ids


@pytest.mark.anyio
async def test_segments_carry_event_time_and_pcm(
    loomlite_pipeline: PipelineFactory,
) -> None:
    samples = speech_samples(SPEECH[0])
    chunk = audio_chunk(samples, START)

    async with make_runtime(loomlite_pipeline) as runtime:
        await runtime.publish(AUDIO, chunk)
        await runtime.run_until_idle(timeout=30)

    segments: list[VoiceSegment] = runtime.messages(SEGMENTS)
    assert segments
    for index, segment in enumerate(segments):
        offset = timedelta(milliseconds=segment.segment_start_ms)
        assert segment.recorded_at == START + offset
        assert segment.message_id == derived_id(chunk.message_id, "vad", index)
        assert segment.sample_rate == 16_000
        assert segment.backend == "energy"
        first = round(segment.segment_start_ms * 16)
        pcm = np.frombuffer(segment.audio, dtype="<i2")
        assert len(pcm) == pytest.approx(
            (segment.segment_end_ms - segment.segment_start_ms) * 16, abs=16
        )
        assert np.array_equal(pcm[:100], samples[first : first + 100])


@pytest.mark.anyio
@pytest.mark.parametrize("name", SPEECH)
async def test_vad_agrees_with_fixture_truth(
    loomlite_pipeline: PipelineFactory, name: str, record_property: Any
) -> None:
    samples = speech_samples(name)
    chunks = chunked(samples, 5.0, START)

    async with make_runtime(loomlite_pipeline) as runtime:
        for chunk in chunks:
            await runtime.publish(AUDIO, chunk)
        await runtime.run_until_idle(timeout=30)

    segments: list[VoiceSegment] = runtime.messages(SEGMENTS)
    frame_count = len(samples) * 1000 // 16_000 // FRAME_MS
    decisions = segment_decisions(segments, START, frame_count)
    agreement = frame_agreement(decisions, speech_truth(name), FRAME_MS)
    record_property("frame_agreement", round(agreement, 4))
    logging.getLogger(__name__).info("%s: frame agreement %.4f", name, agreement)

    assert agreement > 0.90, f"{name}: frame agreement {agreement:.4f}"
    chunk_ids = {chunk.message_id for chunk in chunks}
    assert {segment.source_message_id for segment in segments} <= chunk_ids
    assert not runtime.messages(VAD_ERRORS)


@pytest.mark.anyio
async def test_segment_continues_into_next_chunk(
    loomlite_pipeline: PipelineFactory,
) -> None:
    # The first utterance runs from 1000 to 4309 ms, so a cut at 2.5 s falls
    # inside it and the second chunk closes the segment the first one opened.
    samples = speech_samples(SPEECH[0])[: 6 * 16_000]
    first = audio_chunk(samples[:40_000], START)
    second = audio_chunk(samples[40_000:], START + timedelta(seconds=2.5))

    async with make_runtime(loomlite_pipeline) as runtime:
        await runtime.publish(AUDIO, first)
        await runtime.run_until_idle(timeout=30)
        assert not runtime.messages(SEGMENTS)

        await runtime.publish(AUDIO, second)
        await runtime.run_until_idle(timeout=30)

    segments: list[VoiceSegment] = runtime.messages(SEGMENTS)
    assert len(segments) >= 1
    spanning = segments[0]
    assert spanning.source_message_id == first.message_id
    assert spanning.trace_id == first.trace_id
    assert spanning.segment_start_ms < 2_500 < spanning.segment_end_ms


@pytest.mark.anyio
async def test_drain_publishes_open_segment(loomlite_pipeline: PipelineFactory) -> None:
    samples = speech_samples(SPEECH[0])[: 3 * 16_000]  # ends inside speech
    chunk = audio_chunk(samples, START)

    async with make_runtime(loomlite_pipeline) as runtime:
        await runtime.publish(AUDIO, chunk)
        await runtime.run_until_idle(timeout=30)
        assert not runtime.messages(SEGMENTS)

    segments: list[VoiceSegment] = runtime.messages(SEGMENTS)
    assert len(segments) == 1
    assert segments[0].source_message_id == chunk.message_id
    # The first utterance starts at 1000 ms and is still going at the cut.
    assert 900 <= segments[0].segment_start_ms < 1_000
    assert 2_500 < segments[0].segment_end_ms <= 3_000


@pytest.mark.anyio
async def test_declared_rate_mismatch_goes_to_vad_errors(
    loomlite_pipeline: PipelineFactory,
) -> None:
    samples = speech_samples(SPEECH[0])
    wrong = audio_chunk(samples, START, declared_rate=8_000)
    right = audio_chunk(samples, START + timedelta(minutes=1))

    async with make_runtime(loomlite_pipeline) as runtime:
        await runtime.publish(AUDIO, wrong)
        await runtime.publish(AUDIO, right)
        await runtime.run_until_idle(timeout=30)

    errors: list[ProcessingError] = runtime.messages(VAD_ERRORS)
    assert len(errors) == 1
    error = errors[0]
    assert error.error_type == "AudioFormatError"
    assert "8000" in error.error_message
    assert "16000" in error.error_message
    assert error.source_topic == AUDIO
    assert error.trace_id == wrong.trace_id

    segments: list[VoiceSegment] = runtime.messages(SEGMENTS)
    assert segments
    assert {segment.source_message_id for segment in segments} == {right.message_id}


@pytest.mark.anyio
async def test_ids_repeat_across_runs(loomlite_pipeline: PipelineFactory) -> None:
    chunk = audio_chunk(speech_samples(SPEECH[1]), START)
    runs: list[list[tuple[str, str]]] = []
    for _ in range(2):
        async with make_runtime(loomlite_pipeline) as runtime:
            await runtime.publish(AUDIO, chunk)
            await runtime.run_until_idle(timeout=30)
        outputs: list[Envelope] = [
            *runtime.messages(SEGMENTS),
            *runtime.messages(TRANSCRIPTS),
            *runtime.messages(EMOTIONS),
        ]
        runs.append(
            sorted((message.message_id, type(message).__name__) for message in outputs)
        )

    assert runs[0]
    assert runs[0] == runs[1]


@pytest.mark.anyio
async def test_simulated_vad_backend_is_used(
    loomlite_pipeline: PipelineFactory,
) -> None:
    chunk = audio_chunk(speech_samples(SPEECH[0]), START)

    async with make_runtime(
        loomlite_pipeline, settings(vad_backend="simulated")
    ) as runtime:
        await runtime.publish(AUDIO, chunk)
        await runtime.run_until_idle(timeout=30)

    segments: list[VoiceSegment] = runtime.messages(SEGMENTS)
    assert segments
    assert {segment.backend for segment in segments} == {"simulated"}


@pytest.mark.anyio
async def test_unknown_backend_fails_component(
    loomlite_pipeline: PipelineFactory,
) -> None:
    configuration = fast_settings(
        {"ai": {"stt_backend": "whisper"}}, restart_max_attempts=1
    )

    async with make_runtime(loomlite_pipeline, configuration) as runtime:
        with pytest.raises(ComponentError, match="unknown stt backend 'whisper'"):
            await runtime.run_until_idle(timeout=10)


# -- images --------------------------------------------------------------------


def screenshot(name: str) -> tuple[ImageData, dict[str, Any]]:
    png = fixture_path("images", f"{name}.png").read_bytes()
    truth = json.loads(fixture_path("images", f"{name}.json").read_text())
    message = ImageData(
        device_id="laptop-1",
        recorded_at=START,
        received_at=START,
        image_data=png,
        width=truth["width"],
        height=truth["height"],
        format="png",
        camera_type="screen",
    )
    return message, truth


@pytest.mark.anyio
async def test_ocr_reads_screenshot_text(loomlite_pipeline: PipelineFactory) -> None:
    message, truth = screenshot("desktop-email")

    async with make_runtime(loomlite_pipeline) as runtime:
        await runtime.publish(SCREENSHOTS, message)
        await runtime.run_until_idle(timeout=30)

    results: list[OcrResult] = runtime.messages(OCR_RESULTS)
    assert len(results) == 1
    result = results[0]
    assert result.text == truth["text"]
    assert [region.text for region in result.regions] == [
        line["text"] for line in truth["lines"]
    ]
    assert result.source_topic == SCREENSHOTS
    assert result.source_message_id == message.message_id
    assert result.trace_id == message.trace_id
    assert result.message_id == derived_id(message.message_id, "ocr")


@pytest.mark.anyio
async def test_caption_describes_screenshot(loomlite_pipeline: PipelineFactory) -> None:
    message, _ = screenshot("phone-chat")

    async with make_runtime(loomlite_pipeline) as runtime:
        await runtime.publish(SCREENSHOTS, message)
        await runtime.run_until_idle(timeout=30)

    annotations: list[VisionAnnotation] = runtime.messages(ANNOTATIONS)
    assert len(annotations) == 1
    annotation = annotations[0]
    assert annotation.caption
    assert annotation.backend == "simulated"
    assert annotation.source_topic == SCREENSHOTS
    assert annotation.trace_id == message.trace_id


# -- text ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_note_embeddings_have_384_dimensions(
    loomlite_pipeline: PipelineFactory,
) -> None:
    notes = [
        NoteData(
            device_id="laptop-1",
            recorded_at=START + timedelta(minutes=index),
            received_at=START,
            title=f"Note {index}",
            content=f"Buy bread, milk and {count} apples",
        )
        for index, count in enumerate((2, 5, 7))
    ]

    async with make_runtime(loomlite_pipeline) as runtime:
        for note in notes:
            await runtime.publish(NOTES, note)
        await runtime.run_until_idle(timeout=30)

    embeddings: list[TextEmbedding] = runtime.messages("analysis.text.embedded.notes")
    assert len(embeddings) == len(notes)
    by_source = {embedding.source_message_id: embedding for embedding in embeddings}
    for note in notes:
        embedding = by_source[note.message_id]
        assert embedding.dimensions == 384
        assert len(embedding.embedding) == 384
        assert embedding.source_topic == NOTES
        assert embedding.trace_id == note.trace_id
        assert embedding.recorded_at == note.recorded_at
        assert embedding.model == "simulated-hashing"
        assert embedding.text_length == len(f"{note.title}\n\n{note.content}")


@pytest.mark.anyio
async def test_texts_without_words_are_skipped(
    loomlite_pipeline: PipelineFactory,
) -> None:
    empty_email = EmailEvent(
        device_id="mail", recorded_at=START, received_at=START, sender="a@b.example"
    )
    full_email = EmailEvent(
        device_id="mail",
        recorded_at=START,
        received_at=START,
        sender="a@b.example",
        subject="Lunch",
        body_html="<p>Meet at <b>noon</b></p><script>x()</script>",
    )
    empty_post = TwitterLike(
        device_id="x", recorded_at=START, received_at=START, tweet_id="1"
    )
    full_post = TwitterLike(
        device_id="x",
        recorded_at=START,
        received_at=START,
        tweet_id="2",
        tweet_text="Trains are late again",
        author_username="commuter",
    )

    async with make_runtime(loomlite_pipeline) as runtime:
        await runtime.publish(EMAILS, empty_email)
        await runtime.publish(EMAILS, full_email)
        await runtime.publish(LIKED_POSTS, empty_post)
        await runtime.publish(LIKED_POSTS, full_post)
        await runtime.run_until_idle(timeout=30)

    emails: list[TextEmbedding] = runtime.messages("analysis.text.embedded.emails")
    posts: list[TextEmbedding] = runtime.messages("analysis.text.embedded.twitter")
    assert [embedding.source_message_id for embedding in emails] == [
        full_email.message_id
    ]
    assert emails[0].text_length == len(
        "From: a@b.example\nSubject: Lunch\n\nMeet at\nnoon"
    )
    assert [embedding.source_message_id for embedding in posts] == [
        full_post.message_id
    ]
    assert posts[0].text_length == len("@commuter Trains are late again")


@pytest.mark.anyio
async def test_flush_transcribes_open_segment(
    loomlite_pipeline: PipelineFactory,
) -> None:
    samples = speech_samples(SPEECH[0])[: 3 * 16_000]  # ends inside speech
    chunk = audio_chunk(samples, START)

    async with make_runtime(loomlite_pipeline) as runtime:
        await runtime.publish(AUDIO, chunk)
        await runtime.run_until_idle(timeout=30)
        await runtime.flush(timeout=30)

        segments: list[VoiceSegment] = runtime.messages(SEGMENTS)
        transcripts: list[Transcription] = runtime.messages(TRANSCRIPTS)
        assert len(segments) == 1
        assert [t.source_message_id for t in transcripts] == [segments[0].message_id]

        later = audio_chunk(speech_samples(SPEECH[0]), START + timedelta(minutes=1))
        await runtime.publish(AUDIO, later)
        await runtime.run_until_idle(timeout=30)

    sources = [segment.source_message_id for segment in runtime.messages(SEGMENTS)]
    assert sources.count(chunk.message_id) == 1
    assert sources.count(later.message_id) == len(speech_truth(SPEECH[0]))
