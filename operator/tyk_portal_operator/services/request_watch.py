"""The operator's own watch of ProvisioningRequests, and the work queue that runs their events.

Requests are the one kind that grows to thousands, so they are not watched through kopf: kopf keeps
memory per object for as long as the object exists and starts a worker per object it lists, so a
start-up with 10,000 requests held all of them at once. Here a listing is read a page at a time and
each event goes to a bounded work queue (as controller-runtime's informers and work queues do):

- the request book (services/request_book.py) follows every event at once, so it is complete as
  soon as a listing ends (`listed`);
- a request's events never run at the same time, and while one waits only its latest is kept;
- at most `workers` requests are handled at once and at most `backlog` wait: beyond that the
  listing or the watch waits, so memory does not grow with the number of requests;
- a listing that no longer shows a request (deleted while the watch was away) runs its deletion;
- it acts only while this replica acts (services/peering.py), as kopf's own watches do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..kube import KubeClient, KubeError, KubeGone
from ..memory import release_free_memory
from .namespaces import exact_namespaces, namespace_matches
from .peering import PeeringGate
from .request_book import RequestBook

__all__ = ["RequestWatch", "WorkQueue"]

log = logging.getLogger(__name__)

PLURAL = "provisioningrequests"
Key = tuple[str, str]
Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


def _key(body: dict[str, Any]) -> Key:
    metadata = body.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name", ""))


class WorkQueue:
    """Runs `handle(event type, body)` per request: in order, one at a time per request, only the
    latest event kept while one waits, `workers` at once, at most `backlog` waiting."""

    def __init__(self, handle: Handler, *, workers: int, backlog: int) -> None:
        self._handle = handle
        self._workers = workers
        self._backlog = backlog
        self._pending: dict[Key, tuple[str, dict[str, Any]]] = {}
        self._ready: asyncio.Queue[Key] = asyncio.Queue()
        self._busy: set[Key] = set()
        self._room = asyncio.Event()
        self._room.set()
        self._idle = asyncio.Event()
        self._idle.set()

    async def put(self, event_type: str, body: dict[str, Any]) -> None:
        """Queue an event (replacing one still waiting for the same request); waits while the
        backlog is full."""
        key = _key(body)
        while key not in self._pending and len(self._pending) >= self._backlog:
            self._room.clear()
            await self._room.wait()
        if key not in self._pending and key not in self._busy:
            self._ready.put_nowait(key)
        self._pending[key] = (event_type, body)
        self._idle.clear()

    def drop_waiting(self) -> None:
        """Forget every waiting event (standing by: the next listing brings them back)."""
        self._pending.clear()  # their keys still in `_ready` are skipped
        self._room.set()
        self._check_idle()

    async def idle(self) -> None:
        """Wait until nothing waits or runs."""
        await self._idle.wait()

    async def run(self) -> None:
        """Run the workers until cancelled."""
        await asyncio.gather(*(self._work() for _ in range(self._workers)))

    async def _work(self) -> None:
        while True:
            key = await self._ready.get()
            if key in self._busy or key not in self._pending:
                continue  # a stale entry: its request runs (and is requeued after) or was dropped
            event = self._pending.pop(key)
            if len(self._pending) < self._backlog:
                self._room.set()
            self._busy.add(key)
            try:
                await self._handle(*event)
            except Exception:  # one request's failure must not stop the others; its next event retries
                log.exception("Handling a ProvisioningRequest event failed", extra={"object": "/".join(key)})
            finally:
                self._busy.discard(key)
                if key in self._pending:
                    self._ready.put_nowait(key)
                self._check_idle()

    def _check_idle(self) -> None:
        if not self._pending and not self._busy:
            self._idle.set()


class RequestWatch:
    """Lists and watches the requests in the operator's namespaces while this replica acts."""

    def __init__(
        self,
        kube: KubeClient,
        book: RequestBook,
        listed: asyncio.Event,
        handle: Handler,
        gate: PeeringGate,
        patterns: Sequence[str],
        *,
        watch_timeout: int,
        backoff: Callable[[int], float],
        workers: int = 64,
        backlog: int = 256,
        page_size: int = 500,
    ) -> None:
        self._kube = kube
        self._book = book
        self._listed = listed
        self._gate = gate
        self._patterns = list(patterns)
        exact = exact_namespaces(self._patterns)
        # Exact namespaces are watched one by one (a namespaced installation may only list in them);
        # globs and cluster-wide are one cluster-wide watch, filtered as kopf matches namespaces.
        self._scopes: list[str | None] = list(exact) if exact is not None else [None]
        self._watch_timeout = watch_timeout
        self._backoff = backoff
        self._page_size = page_size
        self.queue = WorkQueue(handle, workers=workers, backlog=backlog)

    async def run(self) -> None:
        """List and watch while acting, stand by while another replica acts; until cancelled."""
        workers = asyncio.create_task(self.queue.run(), name="request workers")
        try:
            while True:
                await self._gate.active.wait()
                await self._follow_until_standby()
        finally:
            workers.cancel()
            await asyncio.gather(workers, return_exceptions=True)

    async def _follow_until_standby(self) -> None:
        unlisted = set(self._scopes)

        def listed(scope: str | None) -> None:
            unlisted.discard(scope)
            if not unlisted:
                self._listed.set()

        followers = [asyncio.create_task(self._follow(scope, listed)) for scope in self._scopes]
        try:
            await self._gate.standby.wait()
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
            self._listed.clear()
            self.queue.drop_waiting()

    def _serves(self, namespace: str, scope: str | None) -> bool:
        if scope is not None:
            return namespace == scope
        return not self._patterns or namespace_matches(namespace, self._patterns)

    async def _follow(self, scope: str | None, listed: Callable[[str | None], None]) -> None:
        resource_version: str | None = None
        failures = 0
        while True:
            try:
                if resource_version is None:
                    resource_version = await self._list(scope)
                    listed(scope)
                    release_free_memory()  # the listing's pages, parsed and dropped
                async for event in self._kube.watch(PLURAL, scope, resource_version, self._watch_timeout):
                    body = event.get("object") or {}
                    resource_version = str(
                        (body.get("metadata") or {}).get("resourceVersion") or resource_version
                    )
                    if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                        await self._deliver(str(event["type"]), body, scope)
                failures = 0  # the server ended the watch (its timeout): continue from where it was
            except KubeGone:
                resource_version = None  # compacted away: list again
            except KubeError as exc:
                where = scope or "all namespaces"
                log.warning("Watching ProvisioningRequests failed", extra={"scope": where, "error": str(exc)})
                await asyncio.sleep(self._backoff(failures))
                failures += 1
            except Exception:  # a bug must not end the watch for good: list again after a pause
                log.exception(
                    "Watching ProvisioningRequests failed", extra={"scope": scope or "all namespaces"}
                )
                resource_version = None
                await asyncio.sleep(self._backoff(failures))
                failures += 1

    async def _list(self, scope: str | None) -> str:
        """List the scope a page at a time into the book and the queue; requests the book holds
        that the listing no longer shows were deleted meanwhile. Returns the list's resourceVersion."""
        seen: set[Key] = set()
        resource_version = ""
        async for page in self._kube.list_pages(PLURAL, scope, self._page_size):
            resource_version = page.resource_version or resource_version
            for body in page.items:
                if await self._deliver("ADDED", body, scope):
                    seen.add(_key(body))
        # A namespace's requests from the book's own index: one scope per namespace must not
        # walk every request of the others.
        held = list(self._book) if scope is None else self._book.dependents(("Namespace", "", scope))
        for key in held:
            if key not in seen and self._serves(key[0], scope):
                record = self._book.get(*key)
                uid = record.uid if record is not None else ""
                gone = {"metadata": {"namespace": key[0], "name": key[1], "uid": uid}}
                await self._deliver("DELETED", gone, scope)
        return resource_version

    async def _deliver(self, event_type: str, body: dict[str, Any], scope: str | None) -> bool:
        key = _key(body)
        if not self._serves(key[0], scope):
            return False
        if event_type == "DELETED":
            self._book.forget(*key)
        else:
            self._book.observe(body)
        await self.queue.put(event_type, body)
        return True
