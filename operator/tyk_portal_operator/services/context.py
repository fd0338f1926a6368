"""Everything a service needs, built once at start-up and shared through kopf's memo."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.conditions import Outcome, merge_conditions, status_conditions
from ..core.policies import ProviderConfig
from ..kube import KubeClient
from ..models import Approval
from ..settings import OperatorSettings
from ..tyk import TykBackend
from .requeue import Requeue
from .view import ClusterView

__all__ = ["Context", "ProviderState", "rfc3339", "utcnow"]


def utcnow() -> datetime.datetime:
    """The current time (UTC); the only clock the services read."""
    return datetime.datetime.now(datetime.UTC)


def rfc3339(moment: datetime.datetime) -> str:
    """Format a time the way Kubernetes does (seconds, Z)."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ProviderState:
    """What the operator knows of one TykProvider right now."""

    name: str
    config: ProviderConfig
    default: bool
    ready: bool
    message: str
    backend: TykBackend | None = None
    backend_key: tuple[Any, ...] | None = None
    resync_interval: float = 300.0
    # The PEM CA bundle verifying the Gateway (`spec.gatewayCASecretRef`), for MutualTLS Secrets.
    gateway_ca: str | None = None
    # Marked for deletion: nothing new is published to it, objects already there may still clean up.
    deleting: bool = False
    # Set to make the provider's loop re-check the connection now (a call just failed).
    wake: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _SharedLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # holding or waiting


@dataclass
class Context:
    """Shared dependencies: settings, the Kubernetes port, known providers, locks, clock."""

    settings: OperatorSettings
    kube: KubeClient
    backend_factory: Callable[..., TykBackend]
    providers: dict[str, ProviderState] = field(default_factory=dict)
    clock: Callable[[], datetime.datetime] = utcnow
    # (body, type "Normal"|"Warning", reason, message): posts a Kubernetes Event about body.
    emit: Callable[[dict[str, Any], str, str, str], None] = field(default=lambda *_: None)
    # Watch-fed copies of what requests depend on (set at start-up; tests may leave the default).
    view: ClusterView = field(default=None)  # type: ignore[assignment]
    # Approval decisions this process wrote, by request uid (a stale copy must not decide again).
    decisions: dict[str, Approval] = field(default_factory=dict)
    # Reconciles the operator scheduled itself (retries, rotations, ends of overlaps), by request.
    requeue: Requeue[tuple[str, str]] | None = None
    # Per request: the signature (generation, rotation token, decision) of the state last reconciled.
    settled: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    # Consecutive transient failures per request (for the backoff of scheduled retries).
    attempts: dict[tuple[str, str], int] = field(default_factory=dict)
    # Requests (by uid) whose Secret turned out to exist before their first issuance: read it first.
    read_secret_first: set[str] = field(default_factory=set)
    # Requests waiting for a provider (or its Tyk) to be Ready again: reconciled when one becomes Ready.
    waiting_on_tyk: set[tuple[str, str]] = field(default_factory=set)
    # Whether this replica acts on requests (peering; services/peering.py): scheduled runs skip
    # while it stands by.
    acting: Callable[[], bool] = field(default=lambda: True)
    _locks: dict[tuple[str, str, str], _SharedLock] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.view is None:
            self.view = ClusterView(self.kube)

    @contextlib.asynccontextmanager
    async def lock(self, plural: str, namespace: str | None, name: str) -> AsyncIterator[None]:
        """Hold the lock serialising work on one object (handlers, timers and drift repair). The
        lock exists only while someone holds or waits for it: nothing is kept per object between."""
        key = (plural, namespace or "", name)
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _SharedLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0 and self._locks.get(key) is entry:
                del self._locks[key]

    def schedule(self, key: tuple[str, str], delay: float) -> None:
        """Reconcile a request again in `delay` seconds (unless it is scheduled sooner)."""
        if self.requeue is not None:
            self.requeue.after(key, delay)

    def unschedule(self, key: tuple[str, str]) -> None:
        """Drop what was scheduled for a request."""
        if self.requeue is not None:
            self.requeue.cancel(key)

    def tyk_failed(self, provider: str, unavailable: bool, message: str) -> None:
        """A call through a provider failed: when Tyk is unavailable, the provider stops being Ready
        now (not at its next check) and its loop re-checks at once."""
        state = self.providers.get(provider)
        if state is None or not unavailable:
            return
        state.ready = False
        state.message = message
        state.wake.set()

    def provider_refused(self, provider: str, message: str) -> None:
        """Tyk refused a kind of call through a provider by configuration: the provider stops being
        Ready now and its loop re-checks at once (and reports why)."""
        state = self.providers.get(provider)
        if state is None:
            return
        state.ready = False
        state.message = message
        state.wake.set()

    def now(self) -> str:
        """The current time, RFC 3339."""
        return rfc3339(self.clock())

    async def write_status(
        self,
        plural: str,
        body: dict[str, Any],
        outcome: Outcome,
        fields: dict[str, Any] | None = None,
    ) -> bool:
        """Patch status with the outcome's conditions and extra fields, only when something changed.

        Returns:
            Whether a patch was sent.
        """
        metadata = body.get("metadata", {})
        current = body.get("status") or {}
        generation = int(metadata.get("generation") or 1)
        conditions = merge_conditions(
            current.get("conditions"), status_conditions(outcome, generation=generation, now=self.now())
        )
        desired = {**(fields or {}), "observedGeneration": generation, "conditions": conditions}
        changed = {key: value for key, value in desired.items() if current.get(key) != value}
        if not changed:
            return False
        await self.kube.patch_status(plural, metadata.get("namespace"), metadata["name"], changed)
        # Keep the in-memory body current so later writes in the same run compare correctly.
        body.setdefault("status", {}).update(changed)
        return True
