"""The watch-fed view (what a change re-evaluates), key repair by listing, and the requeue timer."""

from __future__ import annotations

import asyncio
from typing import Any

from tyk_portal_operator.core.credentials import META_REQUEST_UID
from tyk_portal_operator.services.keys import IssuedKey, KeyCheckCursor, check_keys, keys_to_repair
from tyk_portal_operator.services.requeue import Requeue
from tyk_portal_operator.services.view import ClusterView


class NoKube:
    """The view must not read the API for objects the watches delivered."""

    async def get_namespace(self, name: str) -> Any:
        raise AssertionError(f"unexpected read of namespace {name}")

    async def get_resource(self, plural: str, namespace: str | None, name: str) -> Any:
        raise AssertionError(f"unexpected read of {plural} {namespace}/{name}")


def _request(name: str, catalogue: str = "public", plan: str = "free", **status: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "team-a", "uid": f"uid-{name}"},
        "spec": {
            "appRef": {"name": "mobile"},
            "catalogueRef": {"name": catalogue, "namespace": "shop"},
            "products": [{"name": "orders", "namespace": "shop"}],
            "planRef": {"name": plan, "namespace": "shop"},
        },
    }
    if status:
        body["status"] = status
    return body


def _plan(generation: int, ready: str = "True") -> dict[str, Any]:
    return {
        "metadata": {"name": "free", "namespace": "shop", "uid": "p", "generation": generation},
        "spec": {"displayName": "Free"},
        "status": {
            "policyID": "k8s.plan.shop.free",
            "conditions": [
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": "R",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
        },
    }


def test_a_change_re_evaluates_exactly_the_requests_that_use_it() -> None:
    view = ClusterView(NoKube())  # type: ignore[arg-type]
    view.requests.observe(_request("r1"))
    view.requests.observe(_request("r2", catalogue="private", plan="gold"))
    assert view.observe("Plan", _plan(1), deleted=False)  # first sight
    assert view.dependents("Plan", "shop", "free") == [("team-a", "r1")]
    assert view.dependents("Catalogue", "shop", "private") == [("team-a", "r2")]
    assert view.dependents("Namespace", "", "team-a") == [("team-a", "r1"), ("team-a", "r2")]
    # A status write that changes nothing requests depend on does not re-evaluate them.
    assert not view.observe("Plan", _plan(1), deleted=False)
    assert view.observe("Plan", _plan(1, ready="False"), deleted=False)
    assert view.observe("Plan", _plan(2, ready="False"), deleted=False)
    namespace = {"metadata": {"name": "team-a", "labels": {"apiportal.dev/team": "a"}}}
    assert view.observe("Namespace", namespace, deleted=False)
    assert not view.observe("Namespace", namespace, deleted=False)
    view.requests.forget("team-a", "r1")
    assert view.dependents("Plan", "shop", "free") == []


async def test_reads_come_from_what_the_watches_delivered() -> None:
    view = ClusterView(NoKube())  # type: ignore[arg-type]
    view.observe("Plan", _plan(3), deleted=False)
    view.observe("Namespace", {"metadata": {"name": "team-a", "labels": {"x": "y"}}}, deleted=False)
    plan = await view.plan("shop", "free")
    assert plan is not None and plan.status.policy_id == "k8s.plan.shop.free"
    assert await view.namespace_labels("team-a") == {"x": "y"}


def test_keys_are_matched_by_request_uid_and_policies_never_by_key_id() -> None:
    issued = [
        IssuedKey("a", "present", "u1", ("p1", "plan")),
        IssuedKey("a", "missing", "u2", ("p1", "plan")),
        IssuedKey("a", "edited", "u3", ("p1", "plan")),
    ]
    sessions = [
        {"meta_data": {META_REQUEST_UID: "u1"}, "apply_policies": ["plan", "p1"]},
        {"meta_data": {META_REQUEST_UID: "u3"}, "apply_policies": ["p1"]},
        {"meta_data": {}, "apply_policies": ["other"]},
    ]
    assert [k.name for k in keys_to_repair(issued, sessions)] == ["missing", "edited"]


def test_oauth_clients_have_no_key_session_to_find_and_are_left_to_the_full_check() -> None:
    oauth = IssuedKey("a", "client", "u4", ("p1", "plan"), credential_type="OAuthClient")
    token = IssuedKey("a", "token", "u5", ("p1", "plan"), credential_type="AuthToken")
    assert keys_to_repair([oauth, token], []) == [token]


def test_without_listing_every_key_is_checked_within_ceil_n_over_budget_resyncs() -> None:
    issued = [IssuedKey("a", f"r{i}", f"u{i}", ()) for i in range(5)]
    cursor = KeyCheckCursor()
    batches = [[k.name for k in cursor.next_batch(issued, 2)] for _ in range(3)]
    assert batches == [["r0", "r1"], ["r2", "r3"], ["r4", "r0"]]


async def test_requeue_keeps_the_earliest_time_per_key() -> None:
    ran: list[str] = []

    async def work(key: str) -> None:
        ran.append(key)

    requeue: Requeue[str] = Requeue(work)
    requeue.after("a", 10.0)
    requeue.after("a", 0.01)  # sooner wins
    requeue.after("a", 5.0)  # later is ignored
    requeue.after("b", 0.02)
    requeue.after("c", 0.01)
    requeue.cancel("c")
    await asyncio.sleep(0.1)
    assert sorted(ran) == ["a", "b"]
    assert requeue.pending() == 0
    await requeue.close()


class ListingBackend:
    def __init__(self, sessions: list[dict[str, Any]] | None) -> None:
        self.sessions = sessions

    async def list_key_sessions(self) -> list[dict[str, Any]] | None:
        return self.sessions


async def test_check_keys_repairs_from_the_listing_and_checks_a_budget_in_full() -> None:
    issued = [IssuedKey("a", f"r{i}", f"u{i}", ("p",)) for i in range(4)]
    present = [{"meta_data": {META_REQUEST_UID: f"u{i}"}, "apply_policies": ["p"]} for i in (0, 1, 3)]
    scheduled: list[tuple[tuple[str, str], float]] = []

    def schedule(key: tuple[str, str], delay: float) -> None:
        scheduled.append((key, delay))

    cursor = KeyCheckCursor()
    repaired = await check_keys(ListingBackend(present), issued, cursor, 2, schedule, spread=10.0)
    # r2's key is missing: repaired at once; two requests are checked in full (their Secrets), in
    # turn, spread over the interval.
    assert repaired == 1
    assert scheduled == [(("a", "r2"), 0.0), (("a", "r0"), 0.0), (("a", "r1"), 5.0)]
    scheduled.clear()
    # A Tyk that cannot list keys: only the budget, in turn.
    assert await check_keys(ListingBackend(None), issued, cursor, 2, schedule) == 0
    assert scheduled == [(("a", "r2"), 0.0), (("a", "r3"), 0.0)]
