"""fix_mmap_threshold: glibc's mmap threshold set once at ``loomlite up`` start."""

from __future__ import annotations

import platform
import sys

import pytest

from loomlite._allocator import MMAP_THRESHOLD, fix_mmap_threshold


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="mallopt's M_MMAP_THRESHOLD is a glibc option",
)
def test_threshold_set_on_glibc() -> None:
    assert fix_mmap_threshold(MMAP_THRESHOLD) is True


def test_other_platforms_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")

    assert fix_mmap_threshold() is False
