"""``loomlite eval`` rejects a stage or backend name it does not know before
it scores anything."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from loomlite.cli.evaluate import evaluate_command


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--stage", "bogus"], "unknown stage 'bogus'"),
        (["--stage", "VAD"], "unknown stage 'VAD'"),
        (["--backend", "bogus"], "unknown backend 'bogus'"),
        (["--stage", "vad", "--backend", "whisper"], "unknown backend 'whisper'"),
    ],
    ids=["stage", "stage-case", "backend", "backend-with-stage"],
)
def test_unknown_name_is_rejected(arguments: list[str], expected: str) -> None:
    result = CliRunner().invoke(evaluate_command, arguments)

    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_unknown_stage_lists_known_stages() -> None:
    result = CliRunner().invoke(evaluate_command, ["--stage", "bogus"])

    assert "expected one of embed, geocode, ocr, stt, vad" in result.output


def test_unknown_backend_lists_known_backends() -> None:
    result = CliRunner().invoke(evaluate_command, ["--backend", "bogus"])

    assert "silero" in result.output
    assert "faster-whisper" in result.output
    assert "reverse-geocoder" in result.output
