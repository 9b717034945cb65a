"""The simulated speech-to-text backend: determinism, timing and input checks."""

from __future__ import annotations

import json

import numpy as np
import numpy.typing as npt
import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.audio import decode_audio
from loomlite.components.ai.stt import (
    PLACEHOLDER_VOCABULARY,
    SimulatedSpeechToText,
    SpeechToText,
)

RATE = 16_000
SPEECH_FIXTURES = (
    "speech_us_male_25db",
    "speech_gb_female_20db",
    "speech_us_fast_15db",
)


def tone(seconds: float, amplitude: float = 0.3) -> npt.NDArray[np.float32]:
    """A 150 Hz tone with two harmonics, as float32 samples."""
    time = np.arange(round(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * 150 * k * time) / k for k in (1, 2, 3))
    return (amplitude * wave / 1.5).astype(np.float32)


def silence(seconds: float) -> npt.NDArray[np.float32]:
    return np.zeros(round(seconds * RATE), dtype=np.float32)


def to_int16(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    return np.round(samples * 32767).astype(np.int16)


def test_stt_name_says_simulated() -> None:
    backend = SimulatedSpeechToText()

    assert backend.name.startswith("simulated")
    assert backend.simulated is True
    assert isinstance(backend, SpeechToText)


def test_stt_same_audio_same_transcript() -> None:
    audio = to_int16(np.concatenate([tone(1.2), silence(0.5), tone(0.8)]))

    first = SimulatedSpeechToText().transcribe(audio, RATE)
    second = SimulatedSpeechToText().transcribe(audio.copy(), RATE)

    assert first == second
    assert first.text


def test_stt_different_audio_different_words() -> None:
    first = SimulatedSpeechToText().transcribe(tone(3.0, 0.3), RATE)
    second = SimulatedSpeechToText().transcribe(tone(3.0, 0.31), RATE)

    assert [w.start_ms for w in first.words] == [w.start_ms for w in second.words]
    assert first.text != second.text


@pytest.mark.parametrize(
    "samples",
    [np.zeros(0, dtype=np.int16), np.zeros(0, dtype=np.float32), silence(2.0)],
    ids=["empty-int16", "empty-float32", "silence"],
)
def test_stt_empty_or_silent_audio(samples: npt.NDArray[np.generic]) -> None:
    transcript = SimulatedSpeechToText().transcribe(samples, RATE)

    assert transcript.text == ""
    assert transcript.words == ()
    assert transcript.language == "en"


def test_stt_words_follow_voiced_time() -> None:
    # Durations are whole 20 ms frames, so runs start and end on frame edges.
    audio = np.concatenate([silence(0.5), tone(1.04), silence(1.0), tone(0.7)])

    transcript = SimulatedSpeechToText().transcribe(audio, RATE)

    first_run = [w for w in transcript.words if w.start_ms < 1600]
    second_run = [w for w in transcript.words if w.start_ms >= 2500]
    assert len(first_run) == 3  # 1040 ms / 350 ms, rounded
    assert len(second_run) == 2  # 700 ms / 350 ms
    assert len(transcript.words) == 5
    assert first_run[0].start_ms == 500
    assert second_run[0].start_ms == 2540
    assert transcript.words[-1].end_ms <= 3240


def test_stt_word_fields_are_consistent() -> None:
    transcript = SimulatedSpeechToText().transcribe(tone(2.0), RATE)

    assert transcript.text == " ".join(w.word for w in transcript.words)
    for word in transcript.words:
        assert word.word in PLACEHOLDER_VOCABULARY
        assert word.start_ms < word.end_ms
        assert 0.0 <= word.confidence <= 1.0
    starts = [w.start_ms for w in transcript.words]
    assert starts == sorted(starts)


def test_stt_word_ms_sets_word_count() -> None:
    transcript = SimulatedSpeechToText(word_ms=200).transcribe(tone(2.0), RATE)

    assert len(transcript.words) == 10


def test_stt_int16_and_float_give_same_timing() -> None:
    audio = np.concatenate([tone(0.9), silence(0.6), tone(1.3)])

    from_float = SimulatedSpeechToText().transcribe(audio, RATE)
    from_int16 = SimulatedSpeechToText().transcribe(to_int16(audio), RATE)

    assert [(w.start_ms, w.end_ms) for w in from_float.words] == [
        (w.start_ms, w.end_ms) for w in from_int16.words
    ]


@pytest.mark.parametrize("name", SPEECH_FIXTURES)
def test_stt_words_fall_inside_utterances(name: str) -> None:
    audio = decode_audio(fixture_path("audio", f"{name}.wav").read_bytes())
    truth = json.loads(fixture_path("audio", f"{name}.json").read_text("utf-8"))
    intervals = truth["speech_intervals_ms"]
    speech_ms = sum(end - start for start, end in intervals)

    transcript = SimulatedSpeechToText().transcribe(audio.samples, audio.sample_rate)

    expected_words = speech_ms / 350
    assert abs(len(transcript.words) - expected_words) <= 0.25 * expected_words
    for word in transcript.words:
        middle = (word.start_ms + word.end_ms) / 2
        inside = [s - 200 <= middle <= e + 200 for s, e in intervals]
        assert any(inside), f"{word} lies outside every utterance"


@pytest.mark.parametrize(
    ("samples", "sample_rate", "message"),
    [
        (np.zeros((2, 100), dtype=np.int16), RATE, r"1-D array, got shape \(2, 100\)"),
        (np.zeros(100, dtype=np.int64), RATE, "unsupported sample dtype '<i8'"),
        (np.array([0.0, np.nan], dtype=np.float32), RATE, "NaN or infinite"),
        (np.zeros(100, dtype=np.int16), 0, "sample_rate 0 Hz is out of range"),
        (np.zeros(100, dtype=np.int16), 16000.0, "sample_rate must be an int"),
    ],
    ids=["stereo", "int64", "nan", "zero-rate", "float-rate"],
)
def test_stt_rejects_invalid_input(
    samples: npt.NDArray[np.generic], sample_rate: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatedSpeechToText().transcribe(samples, sample_rate)


def test_stt_rejects_invalid_options() -> None:
    with pytest.raises(ValueError, match=r"threshold_dbfs 3\.0 is out of range"):
        SimulatedSpeechToText(threshold_dbfs=3.0)
