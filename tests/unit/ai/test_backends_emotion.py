"""The prosody emotion heuristic: determinism, features and input checks."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from loomlite._fixtures import fixture_path
from loomlite.components.ai.audio import decode_audio
from loomlite.components.ai.emotion import (
    EMOTION_LABELS,
    EmotionScorer,
    ProsodyEmotionScorer,
)

RATE = 16_000


def voice(
    seconds: float, pitch_hz: float, amplitude: float, vibrato: float = 0.0
) -> npt.NDArray[np.float32]:
    """A harmonic tone whose pitch swings by ``vibrato`` (a fraction) at 3 Hz."""
    time = np.arange(round(seconds * RATE)) / RATE
    frequency = pitch_hz * (1.0 + vibrato * np.sin(2 * np.pi * 3 * time))
    phase = 2 * np.pi * np.cumsum(frequency) / RATE
    wave = np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase)
    return (amplitude * wave / 1.75).astype(np.float32)


def test_emotion_name_says_simulated() -> None:
    scorer = ProsodyEmotionScorer()

    assert scorer.name == "simulated-prosody"
    assert scorer.simulated is True
    assert isinstance(scorer, EmotionScorer)


def test_emotion_same_audio_same_scores() -> None:
    audio = voice(2.0, 180.0, 0.3, vibrato=0.1)

    first = ProsodyEmotionScorer().score(audio, RATE)
    second = ProsodyEmotionScorer().score(audio.copy(), RATE)

    assert first == second


def test_emotion_scores_form_distribution() -> None:
    result = ProsodyEmotionScorer().score(voice(2.0, 200.0, 0.2), RATE)

    assert tuple(result.scores) == EMOTION_LABELS
    assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-3)
    assert all(0.0 <= p <= 1.0 for p in result.scores.values())
    assert -1.0 <= result.arousal <= 1.0
    assert -1.0 <= result.valence <= 1.0
    assert result.method == "simulated-prosody"


@pytest.mark.parametrize(
    "samples",
    [
        np.zeros(0, dtype=np.int16),
        np.zeros(RATE, dtype=np.int16),
        np.zeros(100, dtype=np.float32),
    ],
    ids=["empty", "silence", "shorter-than-frame"],
)
def test_emotion_unvoiced_audio_is_neutral(samples: npt.NDArray[np.generic]) -> None:
    result = ProsodyEmotionScorer().score(samples, RATE)

    assert result.scores["neutral"] == 1.0
    assert sum(result.scores.values()) == 1.0
    assert result.arousal == 0.0
    assert result.valence == 0.0
    assert result.features == {}


def test_emotion_measures_pitch() -> None:
    result = ProsodyEmotionScorer().score(voice(1.5, 150.0, 0.3), RATE)

    assert result.features["pitch_hz"] == pytest.approx(150.0, rel=0.05)
    assert result.features["pitch_spread_semitones"] < 0.5
    assert result.features["level_dbfs"] == pytest.approx(-17.4, abs=1.0)


def test_emotion_loud_lively_voice_has_higher_arousal() -> None:
    calm = ProsodyEmotionScorer().score(voice(2.0, 100.0, 0.03), RATE)
    lively = ProsodyEmotionScorer().score(voice(2.0, 260.0, 0.6, vibrato=0.2), RATE)

    assert lively.arousal > calm.arousal + 0.5
    assert lively.valence > calm.valence + 0.5
    assert max(calm.scores, key=calm.scores.__getitem__) == "sadness"


def test_emotion_scores_speech_fixture() -> None:
    audio = decode_audio(fixture_path("audio", "speech_us_male_25db.wav").read_bytes())

    result = ProsodyEmotionScorer().score(audio.samples, audio.sample_rate)

    # The fixture's speech intervals add up to 11.7 s of its 17.7 s.
    assert 9_000 <= result.features["voiced_ms"] <= 14_000
    assert 70.0 <= result.features["pitch_hz"] <= 300.0


@pytest.mark.parametrize(
    ("samples", "sample_rate", "message"),
    [
        (np.zeros((100, 2), dtype=np.float32), RATE, "1-D array"),
        (np.zeros(100, dtype=np.float32), 500, "sample_rate 500 Hz is out of range"),
        (np.array([np.inf], dtype=np.float64), RATE, "NaN or infinite"),
    ],
    ids=["stereo", "low-rate", "infinite"],
)
def test_emotion_rejects_invalid_input(
    samples: npt.NDArray[np.generic], sample_rate: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ProsodyEmotionScorer().score(samples, sample_rate)
