"""The request book: what the operator looks up across requests, from their watch events alone."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tyk_portal_operator.services.namespaces import exact_namespaces, namespace_matches
from tyk_portal_operator.services.request_book import RequestBook, request_record

ISSUED = [{"type": "Ready", "status": "True", "reason": "CredentialIssued", "lastTransitionTime": "t"}]
WAITING = [{"type": "Ready", "status": "False", "reason": "AwaitingApproval", "lastTransitionTime": "t"}]


def _request(
    name: str,
    namespace: str = "team-a",
    app: str = "mobile",
    plan: str = "free",
    conditions: list[dict[str, Any]] | None = None,
    provider: str | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status: dict[str, Any] = {"conditions": conditions or []}
    if provider:
        status.update(provider=provider, policies=["p.product", "p.plan"], expiresAt="2027-01-01T00:00:00Z")
    return {
        "metadata": metadata,
        "spec": {
            "appRef": {"name": app},
            "catalogueRef": {"name": "public", "namespace": "shop"},
            "products": [{"name": "orders", "namespace": "shop"}, {"name": "local"}],
            "planRef": {"name": plan, "namespace": "shop"},
        },
        "status": status,
    }


def test_a_record_keeps_what_is_looked_up_and_resolves_references_in_the_requests_namespace() -> None:
    record = request_record(_request("r1", conditions=ISSUED, provider="tyk"))
    assert record.key == ("team-a", "r1") and record.uid == "uid-r1" and record.issued
    assert ("APIProduct", "team-a", "local") in record.dependencies
    assert ("APIProduct", "shop", "orders") in record.dependencies
    assert record.provider == "tyk" and record.policies == ("p.product", "p.plan")
    assert record.app_entry() == {
        "request": "r1",
        "secretName": "r1-credentials",
        "products": ["orders", "local"],
        "plan": "free",
        "type": "AuthToken",
        "ready": True,
        "reason": "CredentialIssued",
        "expiresAt": "2027-01-01T00:00:00Z",
    }
    # Names repeated across thousands of records are stored once.
    assert record.namespace is sys.intern("team-a")


def test_a_request_being_deleted_is_not_issued_but_still_has_its_key_through_the_provider() -> None:
    book = RequestBook()
    book.observe(_request("r1", conditions=ISSUED, provider="tyk", deleting=True))
    [key] = book.keys_through("tyk")
    assert key.name == "r1" and not key.issued


def test_lookups_follow_every_change_and_forget_deleted_requests() -> None:
    book = RequestBook()
    book.observe(_request("r1", conditions=WAITING))
    book.observe(_request("r2", app="web", conditions=WAITING))
    assert book.keys_through("tyk") == []
    assert [c.name for c in book.credentials_of("team-a", "mobile")] == ["r1"]
    # Issued: now it has a key through the provider; its plan changes.
    book.observe(_request("r1", plan="gold", conditions=ISSUED, provider="tyk"))
    assert [k.name for k in book.keys_through("tyk")] == ["r1"]
    assert book.referrers("Plan", "shop", "free") == ["ProvisioningRequest team-a/r2"]
    assert book.referrers("Plan", "shop", "gold") == ["ProvisioningRequest team-a/r1"]
    assert book.referrers("APIProduct", "shop", "orders") == [
        "ProvisioningRequest team-a/r1",
        "ProvisioningRequest team-a/r2",
    ]
    book.forget("team-a", "r1")
    assert book.keys_through("tyk") == [] and book.referrers("Plan", "shop", "gold") == []
    assert book.credentials_of("team-a", "mobile") == [] and len(book) == 1


@pytest.mark.parametrize(
    ("name", "patterns", "expected"),
    [
        ("team-a", ["team-*"], True),
        ("other", ["team-*"], False),
        ("other", ["team-*", "other"], True),
        ("myapp-pr-456", ["myapp-*, !*-pr-*, *pr-123"], False),
        ("myapp-pr-123", ["myapp-*, !*-pr-*, *pr-123"], True),
        ("otherapp-pr-123", ["myapp-*, !*-pr-*, *pr-123"], False),
        ("otherapp-pr-123", ["!*-pr-*, *pr-123"], True),
        ("anything", ["!*-pr-*"], True),
        ("x-pr-1", ["!*-pr-*"], False),
    ],
)
def test_namespace_patterns_match_as_kopf_documents_them(
    name: str, patterns: list[str], expected: bool
) -> None:
    assert namespace_matches(name, patterns) is expected


def test_exact_namespaces_are_listed_by_name_and_globs_cluster_wide() -> None:
    assert exact_namespaces(["team-a", "team-b"]) == ["team-a", "team-b"]
    assert exact_namespaces(["team-a", "team-*"]) is None
    assert exact_namespaces([]) is None
