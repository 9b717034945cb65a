"""glibc malloc options set once at ``loomlite up`` start."""

from __future__ import annotations

import platform
import sys

import pytest

from loomlite._allocator import (
    MAX_ARENAS,
    MMAP_THRESHOLD,
    fix_mmap_threshold,
    limit_arenas,
)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="mallopt's M_MMAP_THRESHOLD is a glibc option",
)
def test_threshold_set_on_glibc() -> None:
    assert fix_mmap_threshold(MMAP_THRESHOLD) is True


def test_other_platforms_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")

    assert fix_mmap_threshold() is False


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="mallopt's M_ARENA_MAX is a glibc option",
)
def test_arena_limit_set_on_glibc() -> None:
    assert limit_arenas(MAX_ARENAS) is True


def test_arena_limit_skipped_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")

    assert limit_arenas() is False
