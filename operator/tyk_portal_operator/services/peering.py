"""Whether this replica is the one that acts, by the rule kopf's peering applies.

kopf pauses its own watches in a standby replica, but the request watch is the operator's own
(services/request_watch.py): it follows the same peering objects so that exactly one replica issues
credentials. The rule, as kopf has it: a replica stands by while another live peer (seen within its
lifetime) has a higher priority or the same one; otherwise it acts. Standalone, it always acts.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.credentials import parse_time
from ..kube import KubeClient, KubeError
from .namespaces import exact_namespaces, namespace_matches

__all__ = ["Peering", "PeeringGate", "may_act"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Peering:
    """This replica's place in kopf's peering: the object's name, where it lives, who we are."""

    name: str
    identity: str
    priority: int
    # The operator's namespace patterns: none means the cluster-wide ClusterKopfPeering; otherwise
    # a KopfPeering in each namespace they select.
    namespaces: Sequence[str] = ()


def may_act(status: Mapping[str, Any], peering: Peering, now: datetime.datetime) -> bool:
    """Whether a peering object's status lets this replica act (pure): kopf has registered it there,
    and no other live peer has a priority at least its own. A peer entry is `{priority, lastseen,
    lifetime}` keyed by identity."""
    if peering.identity not in status:
        return False  # kopf has not announced us yet: others cannot know of us either
    for identity, peer in status.items():
        if identity == peering.identity or not isinstance(peer, Mapping):
            continue
        seen = parse_time(str(peer.get("lastseen") or ""))
        lifetime = datetime.timedelta(seconds=int(peer.get("lifetime") or 60))
        if seen is not None and seen + lifetime <= now:
            continue  # dead: kopf ignores it too
        if int(peer.get("priority") or 0) >= peering.priority:
            return False
    return True


class PeeringGate:
    """Follows the peering object(s) and says whether this replica acts (`active`), re-reading them
    every `interval` seconds. Without peering (standalone) it is always active."""

    def __init__(
        self,
        kube: KubeClient,
        peering: Peering | None,
        *,
        interval: float = 2.0,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self._kube = kube
        self._peering = peering
        self._interval = interval
        self._clock = clock
        self._agreed = 0  # consecutive reads that let this replica act
        self.active = asyncio.Event()
        self.standby = asyncio.Event()
        if peering is None:
            self.active.set()
        else:
            self.standby.set()

    async def follow(self) -> None:
        """Re-read the peering objects until cancelled (returns at once when standalone)."""
        if self._peering is None:
            return
        while True:
            try:
                acting = await self._may_act(self._peering)
            except KubeError as exc:
                # Unknown: keep the last decision, as kopf keeps its state while the API is away.
                log.warning("Could not read the peering object", extra={"error": str(exc)})
            else:
                self._agreed = self._agreed + 1 if acting else 0
                # Act only on a second read that agrees: by then a replica that acted before has
                # read the peering too (it reads as often) and stood by.
                self._set(acting and self._agreed >= 2)
            await asyncio.sleep(self._interval)

    async def _may_act(self, peering: Peering) -> bool:
        now = self._clock()
        return all(may_act(found.get("status") or {}, peering, now) for found in await self._objects(peering))

    async def _objects(self, peering: Peering) -> list[dict[str, Any]]:
        if not peering.namespaces:
            return await self._kube.list_peerings(peering.name, namespaced=False)
        exact = exact_namespaces(peering.namespaces)
        if exact is not None:
            found: list[dict[str, Any]] = []
            for namespace in exact:
                found += await self._kube.list_peerings(peering.name, namespaced=True, namespace=namespace)
            return found
        everywhere = await self._kube.list_peerings(peering.name, namespaced=True)
        return [
            item
            for item in everywhere
            if namespace_matches(str((item.get("metadata") or {}).get("namespace", "")), peering.namespaces)
        ]

    def _set(self, acting: bool) -> None:
        if acting and not self.active.is_set():
            log.info("Acting on ProvisioningRequests (peering)")
            self.standby.clear()
            self.active.set()
        elif not acting and self.active.is_set():
            log.info("Standing by for ProvisioningRequests: a peer with a higher priority acts")
            self.active.clear()
            self.standby.set()
