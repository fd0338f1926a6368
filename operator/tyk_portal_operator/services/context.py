"""Everything a service needs, built once at start-up and shared through kopf's memo."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.conditions import Outcome, merge_conditions, status_conditions
from ..core.policies import ProviderConfig
from ..kube import KubeClient
from ..settings import OperatorSettings
from ..tyk import TykBackend

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
    # Marked for deletion: nothing new is published to it, objects already there may still clean up.
    deleting: bool = False


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
    # When each request's key was last checked in Tyk (monotonic seconds), for the resync timer.
    key_checked_at: dict[tuple[str, str], float] = field(default_factory=dict)
    _locks: dict[tuple[str, str, str], asyncio.Lock] = field(default_factory=dict)

    def lock(self, plural: str, namespace: str | None, name: str) -> asyncio.Lock:
        """The lock serialising work on one object (handlers, timers and drift repair)."""
        return self._locks.setdefault((plural, namespace or "", name), asyncio.Lock())

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
