"""Runtime settings with short real-time delays, for the integration tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loomlite.runtime import LoomliteSettings
from loomlite.testing import Pipeline

__all__ = ["PipelineFactory", "fast_settings"]

PipelineFactory = Callable[..., Pipeline]
"""The type of the ``loomlite_pipeline`` fixture."""


def fast_settings(
    components: dict[str, Any] | None = None, **supervisor: Any
) -> LoomliteSettings:
    """Return settings with short restart delays and ``components`` sections."""
    values: dict[str, Any] = {
        "restart_initial_delay": 0.01,
        "restart_max_delay": 0.05,
        "publish_retry_delay": 0.0,
        "drain_timeout": 20.0,
    }
    values.update(supervisor)
    return LoomliteSettings(components=components or {}, supervisor=values)
