"""The ``loomlite tui`` command's options and their errors."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from loomlite.cli import main


def test_tui_help_lists_modes() -> None:
    result = CliRunner().invoke(main, ["tui", "--help"])

    assert result.exit_code == 0
    assert "--attach STATE_DIR" in result.output
    assert "--profile" in result.output


def test_attach_rejects_profile(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["tui", "--attach", str(tmp_path), "--profile", "demo"]
    )

    assert result.exit_code == 2
    assert "--attach reads a run from its state directory" in result.output


def test_attach_missing_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["tui", "--attach", str(tmp_path / "none")])

    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_speed_max_needs_duration(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["tui", "--profile", "minimal", "--speed", "max", "--state-dir", str(tmp_path)],
    )

    assert result.exit_code == 2
    assert "--speed max needs --duration" in result.output
