"""`loomlite up --profile real-models` on a slice of the demo scenario, and the
event-loop lag while the real models run in threads."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loomlite.components.ai.component import INPUT_TOPICS, AiComponent
from loomlite.evaluation.wer import word_error_rate
from loomlite.runtime.profiles import load_settings
from loomlite.testing import pipeline
from simulators.scenario import PhoneScenario
from tests.backends.conftest import require_backend
from tests.integration.test_ai_component import (
    AUDIO,
    SPEECH,
    TRANSCRIPTS,
    chunked,
    speech_samples,
)

pytestmark = pytest.mark.slow

LOOMLITE = Path(sys.executable).with_name("loomlite")
# The demo profile's seed and start; the first conversation of the day
# (three recordings, 13 sentences) ends before 07:25.
SEED = 7
START = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
DURATION = timedelta(minutes=25)


@pytest.fixture(autouse=True)
def _models_installed() -> None:
    require_backend("vad", "silero")
    require_backend("stt", "faster-whisper")


def spoken_sentences(start: datetime, end: datetime) -> list[str]:
    """Return the sentences the simulated phone heard between start and end."""
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    scenario = PhoneScenario(midnight, seed=SEED)
    heard = []
    for conversation in scenario.day(0).conversations:
        for utterance in conversation.utterances():
            if start <= utterance.start and utterance.end <= end:
                heard.append(utterance.text)
    return heard


@pytest.mark.timeout(600)
def test_up_real_models_transcribes_demo(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "LOOMLITE_SIMULATORS__DEVICES": "1",
        "HF_HUB_OFFLINE": "1",
    }
    command = [
        str(LOOMLITE),
        "up",
        "--profile",
        "real-models",
        "--duration",
        "25m",
        "--speed",
        "max",
        "--state-dir",
        str(tmp_path),
        "--no-panel",
    ]

    result = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=600
    )

    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["errors"] == {}
    lag = summary["loop_lag_max_seconds"]
    assert isinstance(lag, float)
    assert lag >= 0.0
    assert "event loop blocked for at most" in result.stdout
    backends = {row["stage"]: row for row in summary["backends"]}
    assert backends["vad"]["backend"] == "silero"
    assert backends["stt"]["backend"] == "faster-whisper"
    assert backends["emotion"]["backend"] == "prosody-heuristic"
    for stage in ("vad", "stt", "emotion"):
        assert backends[stage]["calls"] > 0, stage
        assert backends[stage]["circuit"] == "closed", stage

    with sqlite3.connect(tmp_path / "loomlite.db") as connection:
        rows = connection.execute(
            "SELECT text, backend FROM media_text_transcribed_words "
            "ORDER BY recorded_at"
        ).fetchall()
    expected = spoken_sentences(START, START + DURATION)
    assert len(expected) == 13
    assert {backend for _, backend in rows} == {"faster-whisper"}
    hypothesis = " ".join(text for text, _ in rows)
    wer = word_error_rate([" ".join(expected)], [hypothesis])
    assert wer <= 0.20, f"word error rate {wer:.3f}: {hypothesis!r}"


@pytest.mark.anyio
@pytest.mark.timeout(300)
async def test_loop_lag_stays_low_during_inference() -> None:
    settings = load_settings(
        "real-models",
        broker="memory",
        simulators={"enabled": False},
    )
    test_pipeline = pipeline(
        settings=settings,
        components=[AiComponent()],
        inputs=INPUT_TOPICS,
        db=None,
        start=START,
    )

    async with test_pipeline:
        loop_lag = test_pipeline.runtime.loop_lag
        # Loading the models is not measured: it happens once at start.
        await test_pipeline.run_until_idle(timeout=120)
        before = loop_lag.snapshot().samples
        loop_lag.reset_max()
        for chunk in chunked(speech_samples(SPEECH[2]), 5.0, START):
            await test_pipeline.publish(AUDIO, chunk)
        await test_pipeline.run_until_idle(timeout=120)
        lag = loop_lag.snapshot()

    assert len(test_pipeline.messages(TRANSCRIPTS)) == 5
    assert lag.samples > before
    assert lag.max_seconds < 0.1, f"event loop blocked for {lag.max_seconds:.3f} s"
