"""Checks that the packages and programs of a real backend are installed.

The ``test`` extra installs every model extra, and CI installs the programs.
A test whose backend package or program is missing is skipped locally, and
fails under CI (the CI variable is set), where the backends must be tested.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest


def require_modules(*modules: str) -> None:
    """Skip the calling test, or fail it under CI, when a module is missing."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        _skip_or_fail(
            f"{', '.join(missing)} not installed; run: pip install -e '.[test]' "
            "to install the model extras"
        )


def require_program(program: str, package: str) -> None:
    """Skip the calling test, or fail it under CI, when a program is missing."""
    if shutil.which(program) is None:
        _skip_or_fail(
            f"the {program} program is not on the PATH; install it with: "
            f"apt-get install {package}"
        )


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI runs must test the model backends")
    pytest.skip(reason)
