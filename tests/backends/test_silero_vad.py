"""Silero VAD on the real model: streaming state, chunking and sample rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.audio import PcmAudio, decode_audio
from loomlite.components.ai.backends import load_backend
from loomlite.components.ai.vad import SpeechSegment, VadParameters, frame_agreement
from loomlite.components.ai.vad.silero import SILERO_FRAME_MS, SileroVad
from loomlite.errors import ConfigurationError
from loomlite.evaluation.audio import load_recordings
from tests.backends.conftest import require_backend

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _silero_installed() -> None:
    require_backend("vad", "silero")


def speech(name: str = "speech_us_male_25db") -> PcmAudio:
    return decode_audio(fixture_path("audio", f"{name}.wav").read_bytes())


def spans(segments: list[SpeechSegment]) -> list[tuple[int, int]]:
    return [(segment.start_offset, segment.end_offset) for segment in segments]


def feed(vad: SileroVad, device: str, pcm: PcmAudio, sizes: list[int]) -> list[Any]:
    """Feed ``pcm`` in consecutive chunks of the given sizes, cycling them."""
    segments: list[SpeechSegment] = []
    offset = 0
    index = 0
    while offset < len(pcm.samples):
        size = sizes[index % len(sizes)]
        chunk = PcmAudio(pcm.samples[offset : offset + size], pcm.sample_rate)
        moment = START + timedelta(seconds=offset / pcm.sample_rate)
        segments += vad.process(device, chunk, moment)
        offset += size
        index += 1
    return segments + vad.flush(device)


def test_registry_loads_silero() -> None:
    vad = load_backend("vad", "silero")

    assert isinstance(vad, SileroVad)
    assert vad.simulated is False
    assert vad.parameters.frame_ms == SILERO_FRAME_MS


def test_segments_match_utterances() -> None:
    for recording in load_recordings():
        vad = SileroVad(record_decisions=True)

        segments = feed(vad, "phone", recording.audio, [len(recording.audio.samples)])

        assert len(segments) == len(recording.sentences), recording.name
        agreement = frame_agreement(
            vad.frame_decisions("phone"), recording.intervals_ms, SILERO_FRAME_MS
        )
        assert agreement >= 0.95, f"{recording.name}: agreement {agreement:.4f}"


def test_chunking_does_not_change_segments() -> None:
    pcm = speech()
    whole = feed(SileroVad(), "phone", pcm, [len(pcm.samples)])

    uneven = feed(SileroVad(), "phone", pcm, [1_000, 7_919, 333, 16_000])

    assert spans(uneven) == spans(whole)


def test_devices_keep_separate_state() -> None:
    first, second = speech("speech_us_male_25db"), speech("speech_us_fast_15db")
    alone_first = spans(feed(SileroVad(), "a", first, [len(first.samples)]))
    alone_second = spans(feed(SileroVad(), "b", second, [len(second.samples)]))

    vad = SileroVad()
    interleaved: dict[str, list[SpeechSegment]] = {"a": [], "b": []}
    step = 4_000
    for offset in range(0, max(len(first.samples), len(second.samples)), step):
        moment = START + timedelta(seconds=offset / 16_000)
        for device, pcm in (("a", first), ("b", second)):
            block = pcm.samples[offset : offset + step]
            if len(block):
                chunk = PcmAudio(block, 16_000)
                interleaved[device] += vad.process(device, chunk, moment)
    for device in ("a", "b"):
        interleaved[device] += vad.flush(device)

    assert spans(interleaved["a"]) == alone_first
    assert spans(interleaved["b"]) == alone_second


@pytest.mark.parametrize("rate", [8_000, 48_000])
def test_other_sample_rates_find_utterances(rate: int) -> None:
    recording = load_recordings()[0]
    source = recording.audio.samples.astype(np.float64)
    positions = np.arange(round(len(source) * rate / 16_000)) * (16_000 / rate)
    resampled = np.interp(positions, np.arange(len(source)), source)
    pcm = PcmAudio(np.round(resampled).astype(np.int16), rate)

    segments = feed(SileroVad(), "phone", pcm, [rate])

    assert len(segments) == len(recording.sentences)


def test_silence_gives_no_segment() -> None:
    silence = PcmAudio(np.zeros(48_000, dtype=np.int16), 16_000)

    assert feed(SileroVad(), "phone", silence, [16_000]) == []


def test_other_frame_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="frame_ms 30 does not match"):
        SileroVad(VadParameters(frame_ms=30))


def test_registry_reports_invalid_frame_option() -> None:
    with pytest.raises(ConfigurationError, match="invalid option for vad backend"):
        load_backend("vad", "silero", parameters=VadParameters(frame_ms=20))


def test_explicit_segmentation_fields_are_kept() -> None:
    vad = SileroVad(VadParameters(pre_roll_ms=288, hangover_ms=288))

    assert vad.parameters.pre_roll_ms == 288
    assert vad.parameters.hangover_ms == 288
    assert vad.parameters.frame_ms == SILERO_FRAME_MS


def test_missing_model_file_is_reported(tmp_path: Any) -> None:
    missing = tmp_path / "absent.onnx"

    with pytest.raises(ValueError, match="cannot load Silero VAD model"):
        SileroVad(model_path=str(missing))
