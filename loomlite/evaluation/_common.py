"""Helpers shared by the evaluation modules."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["edit_distance", "normalise_whitespace", "select_backends"]


def select_backends(
    requested: Sequence[str] | None, default: Sequence[str], known: Sequence[str]
) -> list[str]:
    """Return ``requested`` or ``default``, and raise ValueError for unknown names."""
    names = list(default if requested is None else requested)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"unknown backend(s) {', '.join(map(repr, unknown))}; "
            f"expected one of {', '.join(known)}"
        )
    return names


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
