"""Carrying out a credential plan: a lost credential is found and revoked however Tyk allows."""

from __future__ import annotations

from typing import Any

import pytest

from tyk_portal_operator.core.conditions import Reason
from tyk_portal_operator.core.lifecycle import RevokeLost
from tyk_portal_operator.errors import RetryableError
from tyk_portal_operator.services.context import Context
from tyk_portal_operator.services.credentials import execute
from tyk_portal_operator.settings import OperatorSettings
from tyk_portal_operator.tyk import FoundKey, TykRejected


class Backend:
    """The Tyk calls a revocation makes, recorded (no network)."""

    def __init__(self, found: list[FoundKey] | None) -> None:
        self.found = found
        self.calls: list[tuple[str, str]] = []

    async def find_keys(self, meta_key: str, value: str) -> list[FoundKey] | None:
        self.calls.append(("find", f"{meta_key}={value}"))
        return self.found

    async def delete_key(self, key_id: str) -> bool:
        self.calls.append(("delete", key_id))
        return True

    async def delete_key_by_hash(self, key_hash: str) -> bool:
        self.calls.append(("delete-by-hash", key_hash))
        return True


def _ctx() -> Context:
    return Context(settings=OperatorSettings(), kube=None, backend_factory=lambda *_: None)  # type: ignore[arg-type]


async def _run(backend: Backend, action: RevokeLost) -> None:
    body: dict[str, Any] = {"metadata": {"name": "r", "namespace": "ns"}}
    await execute(_ctx(), body, backend, [action])  # type: ignore[arg-type]


async def test_a_tyk_without_hashing_lists_the_lost_key_itself() -> None:
    backend = Backend([FoundKey(key_id="lost-key")])
    await _run(backend, RevokeLost("uid-1", ()))
    assert backend.calls == [("find", "apiportal.dev/request-uid=uid-1"), ("delete", "lost-key")]


async def test_a_hashing_tyk_that_lists_keys_deletes_every_marked_key_by_hash() -> None:
    # The listing also finds a key whose hash status never recorded (a reconcile cut short).
    backend = Backend([FoundKey(key_hash="h1"), FoundKey(key_hash="h-unrecorded")])
    await _run(backend, RevokeLost("uid-1", ("h1",)))
    assert backend.calls[1:] == [("delete-by-hash", "h1"), ("delete-by-hash", "h-unrecorded")]


async def test_a_tyk_that_cannot_list_keys_deletes_by_the_recorded_hashes() -> None:
    backend = Backend(None)
    await _run(backend, RevokeLost("uid-1", ("h1", "h2")))
    assert backend.calls[1:] == [("delete-by-hash", "h1"), ("delete-by-hash", "h2")]


async def test_nothing_to_revoke_by_is_stalled_with_what_to_do() -> None:
    with pytest.raises(RetryableError) as caught:
        await _run(Backend(None), RevokeLost("uid-1", ()))
    assert caught.value.reason is Reason.TYK_REJECTED
    assert "enable_hashed_keys_listing" in caught.value.message


async def test_a_dashboard_refusing_deletes_by_hash_says_which_option_it_needs() -> None:
    class Refusing(Backend):
        async def delete_key_by_hash(self, key_hash: str) -> bool:
            raise TykRejected("DELETE /api/keys/{id}", "Operations on keys by hash are disabled.", 400)

    with pytest.raises(RetryableError) as caught:
        await _run(Refusing([FoundKey(key_hash="h1")]), RevokeLost("uid-1", ("h1",)))
    assert caught.value.reason is Reason.TYK_REJECTED
    assert "enable_delete_key_by_hash: true" in caught.value.message
    assert "No new credential is issued" in caught.value.message
