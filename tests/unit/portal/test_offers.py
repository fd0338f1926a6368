"""The portal's pure views: what a namespace may request, with the operator's own rules."""

from __future__ import annotations

import datetime
from typing import Any

from tyk_portal_operator.models import APIProduct, Catalogue, Plan, ProvisioningRequest
from tyk_portal_operator.portal.offers import (
    Team,
    find_offer,
    matches,
    offers_for,
    quota_text,
    rate_text,
    request_state,
)

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def product(name: str, **spec: Any) -> APIProduct:
    return APIProduct.model_validate(
        {
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"displayName": name.title(), "apis": [{"apiID": name}], **spec},
        }
    )


def plan(name: str, approval: str, **spec: Any) -> Plan:
    return Plan.model_validate(
        {
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"displayName": name.title(), "approval": approval, **spec},
        }
    )


def catalogue(name: str, visibility: str, **spec: Any) -> Catalogue:
    return Catalogue.model_validate(
        {
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {
                "visibility": visibility,
                "products": [{"name": "orders"}, {"name": "gone"}],
                "plans": [{"name": "free"}, {"name": "gold"}],
                **spec,
            },
        }
    )


PRODUCTS = {
    ("shop", "orders"): product(
        "orders", tags=["commerce"], lifecycle="production", description="Place orders"
    )
}
PLANS = {
    ("shop", "free"): plan(
        "free",
        "Automatic",
        rateLimit={"requests": 10, "per": "1s"},
        quota={"max": 100, "renewalPeriod": "30d"},
    ),
    ("shop", "gold"): plan("gold", "Manual", quota={"unlimited": True}),
}
CATALOGUES = [
    catalogue("public", "Public"),
    catalogue(
        "partners",
        "Private",
        audience={"teams": ["web"]},
        autoApprove=[{"name": "checkout", "audience": {"teams": ["checkout"]}, "plans": [{"name": "gold"}]}],
    ),
]


def test_private_catalogues_follow_the_audience_and_missing_objects_are_left_out() -> None:
    nobody = offers_for(Team("team-x", {}), CATALOGUES, PRODUCTS, PLANS)
    assert [c.catalogue.name for c in nobody.catalogues] == ["public"]
    web = offers_for(Team("team-web", {"apiportal.dev/team": "web"}), CATALOGUES, PRODUCTS, PLANS)
    assert [c.catalogue.name for c in web.catalogues] == ["partners", "public"]
    assert [p.product.name for p in web.catalogues[0].products] == ["orders"]  # "gone" does not exist


def test_approval_is_automatic_by_plan_or_by_an_auto_approve_rule() -> None:
    checkout = Team("checkout", {"apiportal.dev/team": "checkout"})
    partners = catalogue(
        "partners", "Public", autoApprove=CATALOGUES[1].model_dump(by_alias=True)["spec"]["autoApprove"]
    )
    offer = offers_for(checkout, [partners], PRODUCTS, PLANS)
    assert {p.plan.name: p.approval for p in offer.catalogues[0].plans} == {
        "free": "Automatic",
        "gold": "Automatic (rule checkout)",
    }
    other = offers_for(Team("team-x", {}), [partners], PRODUCTS, PLANS)
    assert other.catalogues[0].plans[1].approval == "Manual"
    assert find_offer(other, ("shop", "partners"), ("shop", "orders"), ("shop", "gold")) is not None
    assert find_offer(other, ("shop", "partners"), ("shop", "gone"), ("shop", "gold")) is None
    assert find_offer(other, ("shop", "public"), ("shop", "orders"), ("shop", "gold")) is None


def test_texts_and_search() -> None:
    assert rate_text(PLANS[("shop", "free")]) == "10 requests per 1s"
    assert quota_text(PLANS[("shop", "free")]) == "100 per 30d"
    assert quota_text(PLANS[("shop", "gold")]) == "unlimited"
    orders = PRODUCTS[("shop", "orders")]
    assert matches(orders, "place ORDERS") and not matches(orders, "payments")
    assert matches(orders, "", lifecycle="production", tag="commerce")
    assert not matches(orders, "", lifecycle="deprecated") and not matches(orders, "", tag="x")


def _request(status: dict[str, Any], **spec: Any) -> ProvisioningRequest:
    return ProvisioningRequest.model_validate(
        {
            "metadata": {"name": "r", "namespace": "team-a"},
            "spec": {
                "appRef": {"name": "a"},
                "catalogueRef": {"name": "c"},
                "products": [{"name": "p"}],
                "planRef": {"name": "g"},
                **spec,
            },
            "status": status,
        }
    )


def _ready(status: str, reason: str) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": "m",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }


def test_request_states() -> None:
    approved = {"decision": "Approved", "by": "bob", "reason": "ok"}
    assert request_state(_request({}), NOW).label == "waiting for approval"
    assert request_state(_request({"conditions": [_ready("False", "NotVisible")]}), NOW).label == "not ready"
    assert (
        request_state(_request({"approval": {"decision": "Denied", "by": "bob", "reason": "no"}}), NOW).label
        == "denied"
    )
    assert request_state(_request({"approval": approved}), NOW).label == "approved"
    issued = {"approval": approved, "conditions": [_ready("True", "CredentialIssued")]}
    assert request_state(_request(issued), NOW).label == "issued"
    assert request_state(_request({**issued, "expiresAt": "2026-01-05T00:00:00Z"}), NOW).label == "expiring"
    assert request_state(_request(issued, suspended=True), NOW).label == "suspended"
