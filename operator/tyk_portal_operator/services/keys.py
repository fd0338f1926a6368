"""Key self-healing in bulk: is every issued credential still in Tyk, with its policies?

One listing of key sessions per provider resync answers it for every request at once, whatever
their number (the Dashboard's `GET /api/keys/detailed`). Sessions are matched to requests by the
request uid the operator writes into each key's `meta_data`, so no key id (a secret) is ever
compared or kept. A request whose key is missing or whose policies changed is reconciled, which
restores the key from its Secret.

Each resync also reconciles a bounded number of issued requests in full (`key_check_budget`), in
turn: that checks their Secret (a deleted Secret is rewritten with a new key and the lost key
revoked) and, where Tyk cannot list keys (hashing on without `enable_hashed_keys_listing`; the
open-source Gateway), their key. Every credential is so checked within ceil(n / budget) resyncs, at
a cost per resync that does not grow with n.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.credential_types import CREDENTIAL_TYPES
from ..core.credentials import META_REQUEST_UID
from ..tyk import TykBackend

__all__ = ["IssuedKey", "KeyCheckCursor", "check_keys", "keys_to_repair"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedKey:
    """What the status of an issued request says about its key."""

    namespace: str
    name: str
    uid: str
    policies: tuple[str, ...]
    # Issued (or suspended) at its current generation; otherwise the request only has a key in Tyk
    # through the provider (for instance while Tyk was failing), which still makes it a referrer.
    issued: bool = True
    # Its credential type (`spec.credentialType`): types without a key session are left to the
    # round-robin check.
    credential_type: str = "AuthToken"

    @property
    def key(self) -> tuple[str, str]:
        """The request's (namespace, name)."""
        return self.namespace, self.name


def keys_to_repair(issued: Iterable[IssuedKey], sessions: Iterable[Mapping[str, Any]]) -> list[IssuedKey]:
    """The issued requests whose key is missing in Tyk or applies other policies (pure)."""
    found: dict[str, set[tuple[str, ...]]] = {}
    for session in sessions:
        uid = (session.get("meta_data") or {}).get(META_REQUEST_UID)
        if uid:
            found.setdefault(str(uid), set()).add(tuple(sorted(session.get("apply_policies") or [])))
    return [
        item
        for item in issued
        if _has_key_session(item) and tuple(sorted(item.policies)) not in found.get(item.uid, set())
    ]


def _has_key_session(item: IssuedKey) -> bool:
    kind = CREDENTIAL_TYPES.get(item.credential_type)
    return kind is None or kind.key_session


class KeyCheckCursor:
    """Round-robin over requests for Tyks that cannot list keys: `budget` requests per resync."""

    def __init__(self) -> None:
        self._last: tuple[str, str] | None = None

    def next_batch(self, issued: Iterable[IssuedKey], budget: int) -> list[IssuedKey]:
        ordered = sorted(issued, key=lambda item: item.key)
        if not ordered or budget <= 0:
            return []
        start = 0
        if self._last is not None:
            start = next((i for i, item in enumerate(ordered) if item.key > self._last), 0)
        batch = (ordered[start:] + ordered[:start])[: min(budget, len(ordered))]
        self._last = batch[-1].key
        return batch


async def check_keys(
    backend: TykBackend,
    issued: list[IssuedKey],
    cursor: KeyCheckCursor,
    budget: int,
    reconcile: Callable[[tuple[str, str], float], None],
    spread: float = 0.0,
) -> int:
    """Schedule a reconcile (request key, delay in seconds) for every request whose key needs
    repair, at once; returns how many. The budget's full checks are spread evenly over `spread`
    seconds (the resync interval), so a resync is not a burst of API calls.

    Raises:
        TykError: listing failed.
    """
    if not issued:
        return 0
    sessions = await backend.list_key_sessions()
    repair = keys_to_repair(issued, sessions) if sessions is not None else []
    for item in repair:
        log.info(
            "Key missing or changed in Tyk; reconciling", extra={"object": f"{item.namespace}/{item.name}"}
        )
        reconcile(item.key, 0.0)
    batch = cursor.next_batch(issued, budget)
    for index, item in enumerate(batch):
        reconcile(item.key, spread * index / len(batch))
    return len(repair)
