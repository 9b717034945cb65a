"""Tuning of the C allocator for a long ``loomlite up`` run.

Audio chunks and screenshots pass through the pipeline as buffers of
100-300 KB. glibc's malloc serves a buffer that large with mmap at first, but
after the first such buffer is freed it raises its mmap threshold up to the
buffer's size and serves later ones from the heap. Freed heap space below
long-lived objects cannot go back to the system, so the resident size of a
run grows with the number of buffers that passed through. A fixed threshold
keeps large buffers on mmap, whose pages go back to the system when freed.
"""

from __future__ import annotations

import ctypes
import logging
import sys

__all__ = ["MAX_ARENAS", "MMAP_THRESHOLD", "fix_mmap_threshold", "limit_arenas"]

logger = logging.getLogger(__name__)

MMAP_THRESHOLD = 64 * 1024
"""Allocations of at least this many bytes get their own mapping."""

MAX_ARENAS = 2
"""malloc arenas that all threads share: the main thread's and one more."""

# From glibc's malloc.h.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Set glibc's mmap threshold to ``threshold`` bytes and keep it there.

    Returns whether it was set. Other C libraries (macOS, Windows, musl) are
    left alone and return False.
    """
    return _mallopt(_M_MMAP_THRESHOLD, threshold, "mmap threshold")


def limit_arenas(count: int = MAX_ARENAS) -> bool:
    """Let glibc's malloc create at most ``count`` arenas.

    By default glibc gives threads arenas of their own, up to eight per core,
    and each arena keeps what its threads freed. The SQLite connections and
    model calls of a run each run in a thread, so their freed memory stayed
    resident several times over: a full run peaked about 5 MB higher (CPython
    3.11, glibc 2.36, 2 cores). Returns whether the limit was set; other C
    libraries return False.
    """
    return _mallopt(_M_ARENA_MAX, count, "arena limit")


def _mallopt(option: int, value: int, name: str) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    # dlopen(NULL) finds the C library's symbols without searching for its
    # file, which ctypes.util.find_library does by running ldconfig.
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        logger.debug("no mallopt in this process; allocator left unchanged")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success and 0 on error.
    done = bool(mallopt(option, value))
    logger.debug("%s set to %d: %s", name, value, done)
    return done
