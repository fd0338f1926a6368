"""Posting Events in the background, without retries that could flood logs.

An Event about an object in a namespace being deleted is refused by the API server
(403, cause `NamespaceTerminating`): it is dropped quietly, nobody could read it anyway.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

from ..core.events import event_manifest
from ..kube import KubeClient, KubeError, KubeForbidden, KubeNotFound

__all__ = ["EventRecorder"]

log = logging.getLogger(__name__)


def _namespace_terminating(exc: KubeError) -> bool:
    return "NamespaceTerminating" in exc.causes or "because it is being terminated" in str(exc)


class EventRecorder:
    """`recorder(body, type, reason, message)`: posts one Event about `body`, in the background."""

    def __init__(self, kube: KubeClient, now: Callable[[], str], instance: str | None = None) -> None:
        self._kube = kube
        self._now = now
        self._instance = instance or socket.gethostname()
        self._pending: set[asyncio.Task[None]] = set()

    def __call__(self, body: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        namespace, event = event_manifest(
            body, event_type, reason, message, now=self._now(), instance=self._instance
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not in the operator's loop (a unit test calling a service directly)
            return
        task = loop.create_task(self._post(namespace, event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _post(self, namespace: str, event: dict[str, Any]) -> None:
        what = f"{event['reason']} on {event['involvedObject']['kind']} {event['involvedObject']['name']}"
        try:
            await self._kube.create_event(namespace, event)
        except KubeForbidden as exc:
            if _namespace_terminating(exc):
                log.debug("Dropped an Event: its namespace is being deleted", extra={"event": what})
            else:
                log.warning("Could not post an Event: %s", exc, extra={"event": what})
        except KubeNotFound:
            log.debug("Dropped an Event: its namespace is gone", extra={"event": what})
        except KubeError as exc:
            log.warning("Could not post an Event: %s", exc, extra={"event": what})

    async def drain(self) -> None:
        """Wait for the Events still being posted (at shutdown)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
