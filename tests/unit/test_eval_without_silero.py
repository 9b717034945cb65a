"""The audio evaluation when the silero VAD's extra is not installed."""

from __future__ import annotations

import pytest

from loomlite.components.ai.backends import check_backend
from loomlite.errors import ConfigurationError
from loomlite.evaluation import audio


@pytest.fixture
def no_silero(monkeypatch: pytest.MonkeyPatch) -> None:
    def check_without_silero(stage: str, name: str) -> None:
        if name == "silero":
            raise ConfigurationError(f"{stage} backend 'silero' is not installed")
        check_backend(stage, name)

    monkeypatch.setattr(audio, "check_backend", check_without_silero)


@pytest.mark.usefixtures("no_silero")
def test_stt_skipped_without_silero(caplog: pytest.LogCaptureFixture) -> None:
    scores = audio.evaluate()

    stages = {score.stage for score in scores}
    assert "stt" not in stages
    assert "vad" in stages
    assert "skipped stt backends" in caplog.text


@pytest.mark.usefixtures("no_silero")
def test_named_stt_needs_silero() -> None:
    with pytest.raises(ConfigurationError) as caught:
        audio.evaluate(["simulated"])

    message = str(caught.value)
    assert "scoring stt backends needs the silero VAD" in message
    assert "'silero' is not installed" in message
