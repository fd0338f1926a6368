"""The request gauges are computed from the request book at scrape time."""

from __future__ import annotations

import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from tyk_portal_operator.metrics import RequestMetrics
from tyk_portal_operator.services.request_book import RequestBook

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


def _request(name: str, reason: str, status: str, expires: str | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "team-a", "uid": f"uid-{name}"},
        "spec": {
            "appRef": {"name": "mobile"},
            "catalogueRef": {"name": "public", "namespace": "shop"},
            "planRef": {"name": "free", "namespace": "shop"},
            "products": [{"name": "orders", "namespace": "shop"}],
        },
        "status": {
            "conditions": [{"type": "Ready", "status": status, "reason": reason}],
            **({"expiresAt": expires} if expires else {}),
        },
    }


def _scrape(book: RequestBook) -> str:
    metrics = RequestMetrics()
    metrics.follow(book.records, lambda: NOW)
    registry = CollectorRegistry()
    registry.register(metrics)
    return generate_latest(registry).decode()


def test_the_gauges_follow_the_book_at_each_scrape() -> None:
    book = RequestBook()
    book.observe(_request("waits", "AwaitingApproval", "False"))
    book.observe(_request("soon", "CredentialIssued", "True", expires="2026-12-03T00:00:00Z"))
    book.observe(_request("later", "CredentialIssued", "True", expires="2027-06-01T00:00:00Z"))
    text = _scrape(book)
    assert "tyk_portal_pending_approvals 1.0" in text
    assert 'tyk_portal_pending_approvals_by_plan{catalogue="shop/public",plan="shop/free"} 1.0' in text
    assert "tyk_portal_credentials_expiring_soon 1.0" in text
    assert 'tyk_portal_request_ready_status{condition="False",name="waits",namespace="team-a"} 1.0' in text
    assert 'tyk_portal_request_ready_status{condition="True",name="waits",namespace="team-a"} 0.0' in text
    assert 'tyk_portal_request_ready_status{condition="True",name="soon",namespace="team-a"} 1.0' in text
    assert (
        'tyk_portal_credential_expiration_timestamp_seconds{name="soon",namespace="team-a"} 1.796256e+09'
        in text
    )
    assert 'expiration_timestamp_seconds{name="waits"' not in text  # no expiry, no series

    # Approved and deleted: the next scrape says so, with nothing left of the deleted request.
    book.observe(_request("waits", "CredentialIssued", "True"))
    book.forget("team-a", "later")
    text = _scrape(book)
    assert "tyk_portal_pending_approvals 0.0" in text
    assert "tyk_portal_pending_approvals_by_plan{" not in text
    assert 'name="later"' not in text


def test_an_operator_without_a_book_exports_zero_counts_and_no_series() -> None:
    text = generate_latest(_registry_of(RequestMetrics())).decode()
    assert "tyk_portal_pending_approvals 0.0" in text
    assert "tyk_portal_request_ready_status{" not in text


def _registry_of(metrics: RequestMetrics) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(metrics)
    return registry
