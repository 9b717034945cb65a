"""Audio chunks through the ai component in a test pipeline: declared formats
that disagree with the bytes, WAV layouts and headerless PCM that must decode
to the same speech segments, and VAD state kept per device."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from loomlite.components.ai.audio import encode_wav
from loomlite.contract.models import AudioChunk, ProcessingError, VoiceSegment
from tests.integration.support import PipelineFactory
from tests.integration.test_ai_component import (
    AUDIO,
    SEGMENTS,
    SPEECH,
    START,
    VAD_ERRORS,
    make_runtime,
    speech_samples,
)

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.loomlite_brokers("memory", "durable"),
]

Samples = np.ndarray[Any, np.dtype[np.int16]]
SegmentKey = tuple[str, datetime, float, float, bytes]

RATE = 16_000
CHUNK_SECONDS = 5
SPEAKER = "phone-1"
SILENT = "phone-2"


def chunk(
    data: bytes,
    start: datetime,
    *,
    samples: int,
    audio_format: str,
    device_id: str = SPEAKER,
) -> AudioChunk:
    return AudioChunk(
        device_id=device_id,
        recorded_at=start,
        received_at=start,
        data=data,
        sample_rate=RATE,
        duration_ms=samples * 1000 // RATE,
        format=audio_format,
    )


def wav_with_list_chunk(samples: Samples) -> bytes:
    """Encode ``samples`` as a 16 kHz mono WAV whose samples start at byte 76.

    The fmt chunk has 18 bytes, ending in a zero cbSize. A LIST INFO chunk
    with an odd-sized, padded entry sits between the fmt and data chunks.
    """
    fmt = struct.pack("<HHIIHHH", 1, 1, RATE, RATE * 2, 2, 16, 0)
    software = b"loomlite\x00"
    info = b"INFO" + b"ISFT" + struct.pack("<I", len(software)) + software + b"\x00"
    pcm = samples.astype("<i2").tobytes()
    body = b"".join(
        [
            b"WAVE",
            b"fmt " + struct.pack("<I", len(fmt)) + fmt,
            b"LIST" + struct.pack("<I", len(info)) + info,
            b"data" + struct.pack("<I", len(pcm)) + pcm,
        ]
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def encode_plain_wav(samples: Samples) -> bytes:
    return encode_wav(samples, RATE)


def encode_raw_pcm(samples: Samples) -> bytes:
    return samples.astype("<i2").tobytes()


ENCODINGS = {
    "wav": ("wav", encode_plain_wav),
    "wav_list_fmt18": ("wav", wav_with_list_chunk),
    "raw_pcm": ("pcm_s16le", encode_raw_pcm),
}


def chunks_of(
    samples: Samples, encoding: str, *, device_id: str = SPEAKER
) -> list[AudioChunk]:
    """Cut ``samples`` into 5 s chunks encoded as ``ENCODINGS[encoding]``."""
    audio_format, encode = ENCODINGS[encoding]
    step = CHUNK_SECONDS * RATE
    return [
        chunk(
            encode(samples[offset : offset + step]),
            START + timedelta(seconds=offset / RATE),
            samples=len(samples[offset : offset + step]),
            audio_format=audio_format,
            device_id=device_id,
        )
        for offset in range(0, len(samples), step)
    ]


def segment_keys(segments: list[VoiceSegment]) -> list[SegmentKey]:
    return [
        (
            segment.device_id,
            segment.recorded_at,
            segment.segment_start_ms,
            segment.segment_end_ms,
            bytes(segment.audio),
        )
        for segment in segments
    ]


async def run_chunks(
    loomlite_pipeline: PipelineFactory, chunks: list[AudioChunk]
) -> tuple[list[VoiceSegment], list[ProcessingError]]:
    """Publish ``chunks`` in order to a pipeline with the ai component, and
    return the speech segments and the VAD stage's errors."""
    async with make_runtime(loomlite_pipeline) as runtime:
        for audio in chunks:
            await runtime.publish(AUDIO, audio)
        await runtime.run_until_idle(timeout=60)
    return runtime.messages(SEGMENTS), runtime.messages(VAD_ERRORS)


# -- declared format against the bytes -----------------------------------------


def assert_only_right_chunk_cut(
    error: ProcessingError,
    segments: Sequence[VoiceSegment],
    wrong: AudioChunk,
    right: AudioChunk,
) -> None:
    """Check that ``error`` came from ``wrong`` and every segment from ``right``."""
    assert error.source_topic == AUDIO
    assert error.trace_id == wrong.trace_id
    assert segments
    assert {segment.source_message_id for segment in segments} == {right.message_id}


async def test_raw_declared_wav_bytes_rejected(
    loomlite_pipeline: PipelineFactory,
) -> None:
    samples = speech_samples(SPEECH[0])[: CHUNK_SECONDS * RATE]
    wrong = chunk(
        encode_plain_wav(samples), START, samples=len(samples), audio_format="pcm_s16le"
    )
    right = chunks_of(samples, "wav")[0].model_copy(
        update={"recorded_at": START + timedelta(minutes=1)}
    )

    segments, errors = await run_chunks(loomlite_pipeline, [wrong, right])

    assert len(errors) == 1
    error = errors[0]
    assert error.error_type == "AudioFormatError"
    assert "'pcm_s16le'" in error.error_message
    assert "WAV file" in error.error_message
    assert "'wav'" in error.error_message
    assert_only_right_chunk_cut(error, segments, wrong, right)


async def test_wav_declared_raw_bytes_rejected(
    loomlite_pipeline: PipelineFactory,
) -> None:
    samples = speech_samples(SPEECH[0])[: CHUNK_SECONDS * RATE]
    wrong = chunk(
        encode_raw_pcm(samples), START, samples=len(samples), audio_format="wav"
    )
    right = chunks_of(samples, "wav")[0].model_copy(
        update={"recorded_at": START + timedelta(minutes=1)}
    )

    segments, errors = await run_chunks(loomlite_pipeline, [wrong, right])

    assert len(errors) == 1
    error = errors[0]
    assert error.error_type == "AudioFormatError"
    assert "'wav'" in error.error_message
    assert "b'RIFF'" in error.error_message
    assert repr(encode_raw_pcm(samples)[:8]) in error.error_message
    assert_only_right_chunk_cut(error, segments, wrong, right)


# -- encodings of the same samples ---------------------------------------------


@pytest.mark.parametrize("encoding", ["wav_list_fmt18", "raw_pcm"])
async def test_encoding_gives_plain_wav_segments(
    loomlite_pipeline: PipelineFactory, encoding: str
) -> None:
    samples = speech_samples(SPEECH[0])
    plain, plain_errors = await run_chunks(loomlite_pipeline, chunks_of(samples, "wav"))
    other, other_errors = await run_chunks(
        loomlite_pipeline, chunks_of(samples, encoding)
    )

    assert plain_errors == []
    assert other_errors == []
    assert plain, "expected speech segments from the plain WAV"
    assert segment_keys(other) == segment_keys(plain)


def test_list_wav_samples_start_after_byte_44() -> None:
    samples = speech_samples(SPEECH[0])[:RATE]
    data = wav_with_list_chunk(samples)

    assert data.index(b"data") + 8 != 44
    assert data.index(b"data") + 8 == 12 + (8 + 18) + (8 + 22) + 8


# -- VAD state per device ------------------------------------------------------


def quiet_noise(sample_count: int) -> Samples:
    """Return seeded background noise about 60 dB below full scale."""
    rng = np.random.default_rng(7)
    return np.round(rng.normal(0.0, 30.0, sample_count)).astype(np.int16)


async def test_silent_device_keeps_speaker_segments(
    loomlite_pipeline: PipelineFactory,
) -> None:
    speech = speech_samples(SPEECH[0])
    speaker_chunks = chunks_of(speech, "wav")
    silent_chunks = chunks_of(quiet_noise(len(speech)), "wav", device_id=SILENT)
    interleaved = [
        audio
        for pair in zip(speaker_chunks, silent_chunks, strict=True)
        for audio in pair
    ]

    alone, alone_errors = await run_chunks(loomlite_pipeline, speaker_chunks)
    together, together_errors = await run_chunks(loomlite_pipeline, interleaved)

    assert alone_errors == []
    assert together_errors == []
    assert alone, "expected speech segments from the speaking device"
    assert [s for s in together if s.device_id == SILENT] == []
    speaker_segments = [s for s in together if s.device_id == SPEAKER]
    assert segment_keys(speaker_segments) == segment_keys(alone)
    assert [s.message_id for s in speaker_segments] == [s.message_id for s in alone]
