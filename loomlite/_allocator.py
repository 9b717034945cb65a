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

__all__ = ["MMAP_THRESHOLD", "fix_mmap_threshold"]

logger = logging.getLogger(__name__)

MMAP_THRESHOLD = 64 * 1024
"""Allocations of at least this many bytes get their own mapping."""

# From glibc's malloc.h.
_M_MMAP_THRESHOLD = -3


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Set glibc's mmap threshold to ``threshold`` bytes and keep it there.

    Returns whether it was set. Other C libraries (macOS, Windows, musl) are
    left alone and return False.
    """
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
    done = bool(mallopt(_M_MMAP_THRESHOLD, threshold))
    logger.debug("mmap threshold set to %d bytes: %s", threshold, done)
    return done
