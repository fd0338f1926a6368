"""Freed heap pages go back to the operating system where the C library allows it."""

from __future__ import annotations

import sys

from tyk_portal_operator.memory import release_free_memory


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


def test_pages_freed_inside_the_heap_are_returned() -> None:
    if not sys.platform.startswith("linux"):
        assert release_free_memory() is False
        return
    # Many mid-sized blocks (C allocator, below its mmap threshold), one kept at the end so the heap
    # cannot simply shrink from the top: only a trim returns the pages of the others.
    blocks = [bytearray(64 * 1024) for _ in range(800)]
    keep = bytearray(64 * 1024)
    del blocks
    before = _rss_kib()
    assert release_free_memory() is True
    after = _rss_kib()
    assert before - after > 20_000, (before, after)
    del keep
