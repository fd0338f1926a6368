"""Reconciles scheduled by the operator itself: "look at this request again at time T".

Like controller-runtime's RequeueAfter: retries of transient failures, rotations and ended overlaps
are timers on the event loop, one per object at most (the earliest wins), instead of a kopf timer
per object waking every few seconds, or kopf's retry state written into annotations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Requeue"]

log = logging.getLogger(__name__)
K = TypeVar("K")


class Requeue(Generic[K]):
    """Runs `work(key)` at the scheduled time; at most one pending run per key, `limit` at once."""

    def __init__(self, work: Callable[[K], Awaitable[None]], *, limit: int = 16) -> None:
        self._work = work
        self._timers: dict[K, tuple[float, asyncio.TimerHandle]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(limit)

    def after(self, key: K, delay: float) -> None:
        """Run for `key` in `delay` seconds, unless a run is already due sooner."""
        loop = asyncio.get_running_loop()
        when = loop.time() + max(0.0, delay)
        pending = self._timers.get(key)
        if pending is not None:
            if pending[0] <= when:
                return
            pending[1].cancel()
        self._timers[key] = (when, loop.call_at(when, self._fire, key))

    def cancel(self, key: K) -> None:
        """Forget what was scheduled for `key`."""
        pending = self._timers.pop(key, None)
        if pending is not None:
            pending[1].cancel()

    def pending(self) -> int:
        """How many keys have a run scheduled."""
        return len(self._timers)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        task = asyncio.get_running_loop().create_task(self._run(key))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, key: K) -> None:
        async with self._slots:
            try:
                await self._work(key)
            except Exception:  # a scheduled run must never take the loop down; the next event retries
                log.exception("Scheduled reconcile failed", extra={"object": str(key)})

    async def close(self) -> None:
        """Cancel everything scheduled or running (at shutdown)."""
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
