"""The pytest plugin: broker parametrisation by marker and option."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import loomlite.testing
from loomlite.testing import plugin

TESTS = """
import pytest

@pytest.mark.loomlite_brokers("memory", "durable")
def test_marked(loomlite_broker):
    assert loomlite_broker in ("memory", "durable")

def test_plain(loomlite_broker):
    assert loomlite_broker

def test_without_fixture():
    pass
"""


def collect(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test_sample.py"
    test_file.write_text(TESTS, encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(test_file),
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            *options,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_pytest(test_file: Path) -> subprocess.CompletedProcess[str]:
    """Run pytest on ``test_file`` in a child process, in its directory."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(test_file),
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=test_file.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_marker_runs_both_brokers(tmp_path: Path) -> None:
    result = collect(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_marked[broker-memory]" in result.stdout
    assert "test_marked[broker-durable]" in result.stdout
    assert "test_plain[broker-memory]" in result.stdout
    assert "test_plain[broker-durable]" not in result.stdout
    assert "test_without_fixture\n" in result.stdout


def test_option_overrides_marker(tmp_path: Path) -> None:
    result = collect(tmp_path, "--loomlite-broker", "durable")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_marked[broker-durable]" in result.stdout
    assert "test_marked[broker-memory]" not in result.stdout
    assert "test_plain[broker-durable]" in result.stdout


def test_option_rejects_unknown_broker(tmp_path: Path) -> None:
    result = collect(tmp_path, "--loomlite-broker", "kafka")

    assert result.returncode == 4
    assert "invalid choice: 'kafka'" in result.stderr


def test_plugin_brokers_match_package() -> None:
    assert plugin._BROKER_KINDS == loomlite.testing.BROKER_KINDS


def test_public_names_are_exported() -> None:
    exported = set(loomlite.testing.__all__)

    assert {name for name in exported if not hasattr(loomlite.testing, name)} == set()
    assert {"pipeline", "Pipeline", "database_digest", "fixture_path"} <= exported


def test_plugin_import_stays_light() -> None:
    code = (
        "import sys, loomlite.testing.plugin; "
        "print(any(m.startswith('loomlite.components') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.strip() == "False"


def test_marker_rejects_unknown_broker(tmp_path: Path) -> None:
    test_file = tmp_path / "test_sample.py"
    test_file.write_text(
        "import pytest\n\n"
        '@pytest.mark.loomlite_brokers("memory", "kafka")\n'
        "def test_marked(loomlite_broker):\n"
        "    pass\n",
        encoding="utf-8",
    )
    result = run_pytest(test_file)

    assert result.returncode == 2
    assert "invalid broker 'kafka' in the loomlite_brokers marker" in result.stdout
    assert "expected memory, durable" in result.stdout
    # A mistake in the test's marker is the user's, so no plugin frames.
    assert "loomlite/testing/plugin.py" not in result.stdout


def test_sync_test_with_async_fixture_fails(tmp_path: Path) -> None:
    test_file = tmp_path / "test_sample.py"
    test_file.write_text(
        "def test_forgot_async(loomlite_runtime):\n    assert loomlite_runtime\n",
        encoding="utf-8",
    )
    result = run_pytest(test_file)

    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout
    assert "uses the async fixture loomlite_runtime" in result.stdout
    assert "@pytest.mark.anyio" in result.stdout
