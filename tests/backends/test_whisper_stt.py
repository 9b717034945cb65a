"""faster-whisper with the packaged Whisper tiny.en weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loomlite.components.ai.backends import load_backend
from loomlite.components.ai.stt_whisper import (
    MODEL_SHA256,
    WhisperSpeechToText,
    verify_model,
    whisper_model_dir,
)
from loomlite.evaluation.audio import load_recordings
from loomlite.evaluation.wer import word_error_rate
from tests.backends.conftest import require_backend


@pytest.fixture(scope="module")
def whisper() -> WhisperSpeechToText:
    require_backend("stt", "faster-whisper")
    stt = load_backend("stt", "faster-whisper")
    assert isinstance(stt, WhisperSpeechToText)
    return stt


def test_transcribes_sentence_with_word_times(whisper: WhisperSpeechToText) -> None:
    recording = load_recordings()[0]
    start_ms, end_ms = recording.intervals_ms[0]
    # 300 ms of the recording on both sides, as the real-models profile keeps.
    first = max(0, (start_ms - 300) * 16)
    samples = recording.audio.samples[first : (end_ms + 300) * 16]

    transcript = whisper.transcribe(samples, 16_000)

    assert word_error_rate([recording.sentences[0]], [transcript.text]) <= 0.2
    assert transcript.language == "en"
    assert transcript.words
    starts = [word.start_ms for word in transcript.words]
    assert starts == sorted(starts)
    for word in transcript.words:
        assert word.end_ms >= word.start_ms
        assert 0.0 <= word.confidence <= 1.0
        assert word.word == word.word.strip()


def test_other_sample_rate_is_resampled(whisper: WhisperSpeechToText) -> None:
    recording = load_recordings()[0]
    start_ms, end_ms = recording.intervals_ms[1]
    samples = recording.audio.samples[(start_ms - 300) * 16 : (end_ms + 300) * 16]
    positions = np.arange(len(samples) * 3) / 3
    upsampled = np.interp(positions, np.arange(len(samples)), samples)

    transcript = whisper.transcribe(upsampled.astype(np.int16), 48_000)

    assert word_error_rate([recording.sentences[1]], [transcript.text]) <= 0.2


def test_empty_audio_gives_empty_transcript(whisper: WhisperSpeechToText) -> None:
    transcript = whisper.transcribe(np.zeros(0, dtype=np.int16), 16_000)

    assert transcript.text == ""
    assert transcript.words == ()


def test_invalid_samples_are_rejected(whisper: WhisperSpeechToText) -> None:
    with pytest.raises(ValueError, match="1-D"):
        whisper.transcribe(np.zeros((2, 100), dtype=np.int16), 16_000)


def test_packaged_model_matches_digests() -> None:
    require_backend("stt", "faster-whisper")

    verify_model(whisper_model_dir())


def test_changed_model_file_is_rejected(tmp_path: Path) -> None:
    for name in MODEL_SHA256:
        (tmp_path / name).write_bytes(b"not the model")

    with pytest.raises(ValueError, match=r"model\.bin|config\.json") as caught:
        verify_model(tmp_path)

    assert "has SHA-256" in str(caught.value)
    assert "pip install 'loomlite[stt]'" in str(caught.value)


def test_missing_model_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is missing"):
        verify_model(tmp_path)


def test_out_of_range_beam_is_rejected() -> None:
    with pytest.raises(ValueError, match="beam_size 0 is out of range"):
        WhisperSpeechToText(beam_size=0)
