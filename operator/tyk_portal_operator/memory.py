"""Giving freed heap memory back to the operating system.

A listing of every key session or of a page of requests is parsed into many objects at once and then
dropped. CPython hands the larger blocks to the C allocator, which keeps the freed pages for reuse;
glibc returns them only when asked (`malloc_trim`). Without this, the resident size after each
resync stays at its high-water mark.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable
from functools import cache

__all__ = ["release_free_memory"]

log = logging.getLogger(__name__)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library this process already uses
    except OSError:
        return None
    trim: Callable[[int], int] | None = getattr(libc, "malloc_trim", None)  # glibc only (not musl)
    return trim


def release_free_memory() -> bool:
    """Return the C allocator's free pages to the operating system, where it can (glibc).

    Returns:
        Whether it could be asked.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
