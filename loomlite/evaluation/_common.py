"""Helpers shared by the evaluation modules."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

from loomlite.components.ai.backends import backend_names, load_backend
from loomlite.errors import ConfigurationError

__all__ = ["edit_distance", "load_backends", "normalise_whitespace"]

logger = logging.getLogger(__name__)


def load_backends(
    stage: str, defaults: Sequence[str], requested: Sequence[str] | None
) -> Iterator[tuple[str, Any, float]]:
    """Load the backends of ``stage`` to score, one at a time.

    Yields the name, the backend and the ``time.perf_counter()`` value taken
    before loading it. Without ``requested`` these are the ``defaults`` whose
    packages and programs are installed, and the others are logged and
    skipped. With ``requested`` they are the names in it that ``stage``
    registers, because the other names belong to other stages. A requested
    backend that cannot load raises its ConfigurationError.
    """
    if requested is None:
        for name in defaults:
            started = time.perf_counter()
            try:
                backend = load_backend(stage, name)
            except ConfigurationError as error:
                logger.warning("skipped %s backend %r: %s", stage, name, error)
                continue
            yield name, backend, started
        return

    for name in backend_names(stage):
        if name in requested:
            started = time.perf_counter()
            yield name, load_backend(stage, name), started


def normalise_whitespace(text: str) -> str:
    """Return ``text`` with every run of whitespace replaced by one space."""
    return " ".join(text.split())


def edit_distance(first: str, second: str) -> int:
    """Return the Levenshtein distance: insertions, deletions and substitutions."""
    if len(first) < len(second):
        first, second = second, first
    previous = list(range(len(second) + 1))
    for row, first_char in enumerate(first, start=1):
        current = [row]
        for column, second_char in enumerate(second, start=1):
            current.append(
                min(
                    previous[column] + 1,
                    current[column - 1] + 1,
                    previous[column - 1] + (first_char != second_char),
                )
            )
        previous = current
    return previous[-1]
