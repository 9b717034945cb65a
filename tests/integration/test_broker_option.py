"""The plugin's --loomlite-broker option runs an integration module on the
broker it names. Each run below starts pytest on this suite's own pipeline
tests, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests/integration/test_testing_pipeline.py"
SELECTED = "persist_alone_stores_publish or unstored_publish_is_rejected"


def run_module(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            MODULE,
            "-k",
            SELECTED,
            "-v",
            "-p",
            "no:cacheprovider",
            *options,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("chosen", "other"), [("memory", "durable"), ("durable", "memory")]
)
def test_option_runs_module_on_broker(chosen: str, other: str) -> None:
    result = run_module("--loomlite-broker", chosen)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"[broker-{chosen}] PASSED" in result.stdout
    assert f"[broker-{other}]" not in result.stdout
    assert " failed" not in result.stdout
