"""``loomlite up`` reports bad command-line values as one-line errors."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from loomlite.cli import main

ARGS = ["up", "--profile", "minimal", "--duration", "1m", "--speed", "max"]


def test_unwritable_state_dir_is_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    state_dir = blocker / "state"

    result = CliRunner().invoke(main, [*ARGS, "--state-dir", str(state_dir)])

    assert result.exit_code == 1
    assert f"cannot create state directory '{state_dir}'" in result.output
    assert "Traceback" not in result.output


def test_negative_seed_is_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, [*ARGS, "--state-dir", str(tmp_path), "--seed", "-1"]
    )

    assert result.exit_code == 1
    assert "'seed' from command-line options" in result.output
    assert "(got -1)" in result.output


def test_huge_duration_is_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "up",
            "--profile",
            "ci",
            "--duration",
            "99999999d",
            "--state-dir",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 1
    assert "'duration' from command-line options" in result.output
    assert "after year 9999" in result.output
    assert "Traceback" not in result.output


def test_directory_as_profile_is_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["up", "--profile", str(tmp_path)])

    assert result.exit_code == 1
    assert f"invalid profile '{tmp_path}': it is a directory" in result.output
    assert "Traceback" not in result.output


def test_infinite_speed_is_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["up", "--profile", "ci", "--speed", "inf", "--state-dir", str(tmp_path)]
    )

    assert result.exit_code == 2
    assert "invalid speed 'inf': the factor must be a positive finite" in result.output
    assert "use 'max'" in result.output
