"""The ``loomlite tui`` command's options and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from loomlite.cli import main
from loomlite.tui.app import LoomliteApp
from loomlite.tui.source import AttachSource


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


def test_bad_database_url_rejected(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["tui", "--profile", "ci", "--db", "mysql://x", "--state-dir", str(tmp_path)],
    )

    assert result.exit_code == 1, result.output
    assert "unsupported database URL 'mysql://x'" in result.output
    assert "postgresql://" in result.output


def test_missing_database_directory_rejected(tmp_path: Path) -> None:
    database = tmp_path / "absent" / "loomlite.db"
    result = CliRunner().invoke(
        main,
        ["tui", "--db", f"sqlite:///{database}", "--state-dir", str(tmp_path)],
    )

    assert result.exit_code == 1, result.output
    assert f"directory '{database.parent}' does not exist" in result.output


def test_default_database_url_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default database lies in a state directory that the command creates.
    from loomlite.tui import app

    monkeypatch.chdir(tmp_path)
    started: list[str] = []
    monkeypatch.setattr(app.LoomliteApp, "run", lambda self: started.append("run"))

    result = CliRunner().invoke(main, ["tui", "--profile", "ci"])

    assert result.exit_code == 0, result.output
    assert started == ["run"]
    assert (tmp_path / "state").is_dir()


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_refresh_rejected(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(
        main,
        ["tui", "--profile", "ci", "--state-dir", str(tmp_path), "--refresh", value],
    )

    assert result.exit_code == 2, result.output
    assert "Invalid value for '--refresh'" in result.output
    assert "expected a finite number of seconds" in result.output


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_app_rejects_non_finite_refresh(tmp_path: Path, value: float) -> None:
    with pytest.raises(ValueError, match="refresh_interval must be"):
        LoomliteApp(AttachSource(tmp_path), refresh_interval=value)


def test_state_dir_under_a_file_rejected(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    state_dir = blocker / "state"
    result = CliRunner().invoke(
        main, ["tui", "--profile", "ci", "--state-dir", str(state_dir)]
    )

    assert result.exit_code == 1, result.output
    assert f"cannot create state directory '{state_dir}'" in result.output
    assert "choose a writable path with --state-dir" in result.output
    assert not isinstance(result.exception, OSError)


def test_unwritable_log_file_rejected(tmp_path: Path) -> None:
    # A directory in the log file's place fails to open as a read-only
    # state directory does for a user who may not write to it.
    (tmp_path / "tui.log").mkdir()
    result = CliRunner().invoke(main, ["tui", "--attach", str(tmp_path)])

    assert result.exit_code == 1, result.output
    assert f"cannot write the log file '{tmp_path / 'tui.log'}'" in result.output
    assert not isinstance(result.exception, OSError)
