"""The audio evaluation on real weights, and `loomlite eval` around it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from loomlite.cli import main
from loomlite.cli.evaluate import run_evaluations
from loomlite.errors import ConfigurationError
from loomlite.evaluation import audio
from loomlite.evaluation.score import Score
from tests.backends.conftest import require_backend


@pytest.fixture(scope="module")
def scores() -> dict[tuple[str, str], Score]:
    require_backend("vad", "silero")
    require_backend("stt", "faster-whisper")
    results = audio.evaluate(["silero", "energy", "faster-whisper"])
    return {(score.stage, score.backend): score for score in results}


# Scoring Whisper on the three recordings takes 15-25 s on 2 busy cores.
@pytest.mark.timeout(300)
def test_silero_frame_agreement_reaches_target(
    scores: dict[tuple[str, str], Score],
) -> None:
    score = scores[("vad", "silero")]

    assert score.metric == "frame_agreement"
    assert score.threshold == 0.95
    assert score.value >= 0.95
    assert score.passed is True
    assert score.items == len(audio.RECORDINGS)
    for name in audio.RECORDINGS:
        assert score.details[f"agreement_{name}"] >= 0.95, name


def test_whisper_word_error_rate_within_target(
    scores: dict[tuple[str, str], Score],
) -> None:
    score = scores[("stt", "faster-whisper")]

    assert score.metric == "word_error_rate"
    assert score.higher_is_better is False
    assert score.value <= 0.20
    assert score.passed is True
    assert score.details["real_time_factor"] > 0


def test_only_named_backends_are_scored(scores: dict[tuple[str, str], Score]) -> None:
    assert set(scores) == {
        ("vad", "silero"),
        ("vad", "energy"),
        ("stt", "faster-whisper"),
    }


def test_named_backend_with_missing_extra_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(stage: str, name: str) -> None:
        raise ConfigurationError(f"{stage} backend {name!r} needs x; run: pip ...")

    monkeypatch.setattr(audio, "check_backend", missing)

    with pytest.raises(ConfigurationError, match="vad backend 'silero' needs x"):
        audio.evaluate(["silero"])


def test_unnamed_backends_with_missing_extra_are_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def only_energy(stage: str, name: str) -> None:
        if name not in ("energy", "simulated"):
            raise ConfigurationError(f"{name} is not installed")

    monkeypatch.setattr(audio, "check_backend", only_energy)

    backends = {(score.stage, score.backend) for score in audio.evaluate()}

    # Speech-to-text scoring cuts the recordings with silero, so without it
    # only the VAD backends are scored.
    assert backends == {("vad", "energy"), ("vad", "simulated")}


def test_stage_filter_skips_other_stages() -> None:
    scores = run_evaluations(["vad"], ["energy"])

    assert [(score.stage, score.backend) for score in scores] == [("vad", "energy")]


def test_eval_command_prints_json() -> None:
    runner = CliRunner()

    result = runner.invoke(main, ["eval", "--stage", "vad", "--backend", "energy"])
    as_json = runner.invoke(
        main, ["eval", "--stage", "vad", "--backend", "energy", "--json"]
    )

    assert result.exit_code == 0, result.output
    assert "frame_agreement" in result.output
    assert as_json.exit_code == 0, as_json.output
    (document,) = json.loads(as_json.output)
    assert document["backend"] == "energy"
    assert document["passed"] is True


def test_eval_command_fails_on_missed_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(audio.VAD_THRESHOLDS, "energy", 0.999)

    result = CliRunner().invoke(main, ["eval", "--stage", "vad", "--backend", "energy"])

    assert result.exit_code == 1
    assert "missed the target: vad/energy" in result.output


def test_eval_command_without_scores_is_an_error() -> None:
    # Both names exist, but silero is no geocoding backend.
    result = CliRunner().invoke(
        main, ["eval", "--stage", "geocode", "--backend", "silero"]
    )

    assert result.exit_code == 1
    assert "no backend was scored" in result.output
