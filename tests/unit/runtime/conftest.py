"""Fixtures for the runtime tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the shell's LOOMLITE_* variables, so settings start from defaults."""
    for name in list(os.environ):
        if name.upper().startswith("LOOMLITE_"):
            monkeypatch.delenv(name)
