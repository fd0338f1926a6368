"""Eligibility chain and approval decisions over gathered inputs."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from tyk_portal_operator.core.approval import (
    ELIGIBILITY_CHAIN,
    RequestInputs,
    approval_outcome,
    check_eligibility,
    decide_approval,
    is_ready,
    plan_key,
    product_keys,
)
from tyk_portal_operator.core.conditions import Reason
from tyk_portal_operator.models import APIProduct, Approval, Catalogue, ConsumerApp, Plan, ProvisioningRequest

NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)
TEAM = "apiportal.dev/team"
READY = [{"type": "Ready", "status": "True", "reason": "PolicySynced", "lastTransitionTime": "t"}]


def _request(**status: Any) -> ProvisioningRequest:
    return ProvisioningRequest.model_validate(
        {
            "metadata": {"name": "orders-access", "namespace": "team-a", "uid": "r1"},
            "spec": {
                "appRef": {"name": "mobile"},
                "catalogueRef": {"name": "shop", "namespace": "apis"},
                "products": [
                    {"name": "orders", "namespace": "apis"},
                    {"name": "payments", "namespace": "apis"},
                ],
                "planRef": {"name": "gold", "namespace": "apis"},
            },
            "status": status,
        }
    )


def _product(name: str, *, provider: str = "prod", ready: bool = True, policy: bool = True) -> APIProduct:
    conditions = (
        READY
        if ready
        else [
            {
                "type": "Ready",
                "status": "False",
                "reason": "APINotFound",
                "message": "no API named orders",
                "lastTransitionTime": "t",
            }
        ]
    )
    return APIProduct.model_validate(
        {
            "metadata": {"name": name, "namespace": "apis"},
            "spec": {"displayName": name, "apis": [{"apiID": "a1"}]},
            "status": {
                "conditions": conditions,
                "provider": provider,
                **({"policyID": f"k8s.product.apis.{name}"} if policy else {}),
            },
        }
    )


def _plan(*, approval: str | None = None, provider: str = "prod", ready: bool = True) -> Plan:
    return Plan.model_validate(
        {
            "metadata": {"name": "gold", "namespace": "apis"},
            "spec": {"displayName": "Gold", **({"approval": approval} if approval else {})},
            "status": {
                "conditions": READY if ready else [],
                "provider": provider,
                "policyID": "k8s.plan.apis.gold",
            },
        }
    )


def _catalogue(**spec: Any) -> Catalogue:
    base = {
        "visibility": "Private",
        "audience": {"teams": ["team-a"]},
        "products": [{"name": "orders"}, {"name": "payments"}],
        "plans": [{"name": "gold"}],
    }
    return Catalogue.model_validate(
        {"metadata": {"name": "shop", "namespace": "apis"}, "spec": {**base, **spec}}
    )


APP = ConsumerApp.model_validate(
    {"metadata": {"name": "mobile", "namespace": "team-a"}, "spec": {"displayName": "Mobile"}}
)


def _inputs(**changes: Any) -> RequestInputs:
    base = RequestInputs(
        request=_request(),
        namespace_labels={TEAM: "team-a"},
        app=APP,
        catalogue=_catalogue(),
        products={("apis", "orders"): _product("orders"), ("apis", "payments"): _product("payments")},
        plan=_plan(),
    )
    return dataclasses.replace(base, **changes)


def test_reference_keys_default_to_the_request_namespace() -> None:
    request = ProvisioningRequest.model_validate(
        {
            "metadata": {"name": "r", "namespace": "team-a"},
            "spec": {
                "appRef": {"name": "app"},
                "catalogueRef": {"name": "c"},
                "products": [{"name": "p1"}, {"name": "p2", "namespace": "apis"}],
                "planRef": {"name": "gold"},
            },
        }
    )
    assert product_keys(request) == [("team-a", "p1"), ("apis", "p2")]
    assert plan_key(request) == ("team-a", "gold")


def test_eligible_request() -> None:
    assert check_eligibility(_inputs()) is None


def test_app_not_found() -> None:
    outcome = check_eligibility(_inputs(app=None))
    assert outcome is not None
    assert outcome.reason is Reason.APP_NOT_FOUND
    assert "ConsumerApp mobile not found in namespace team-a" in outcome.message


def test_catalogue_not_found() -> None:
    outcome = check_eligibility(_inputs(catalogue=None))
    assert outcome is not None
    assert outcome.reason is Reason.CATALOGUE_NOT_FOUND
    assert "Catalogue apis/shop not found" in outcome.message


def test_not_visible_names_the_namespace_labels() -> None:
    outcome = check_eligibility(_inputs(namespace_labels={TEAM: "team-b"}))
    assert outcome is not None
    assert outcome.reason is Reason.NOT_VISIBLE
    assert "Catalogue apis/shop is Private" in outcome.message
    assert "apiportal.dev/team=team-b" in outcome.message
    assert "apiportal.dev/organisation=<unset>" in outcome.message


def test_public_catalogue_is_eligible_without_labels() -> None:
    assert check_eligibility(_inputs(namespace_labels={}, catalogue=_catalogue(visibility="Public"))) is None


def test_product_not_in_catalogue_names_it() -> None:
    outcome = check_eligibility(_inputs(catalogue=_catalogue(products=[{"name": "orders"}])))
    assert outcome is not None
    assert outcome.reason is Reason.NOT_IN_CATALOGUE
    assert outcome.message.startswith("APIProduct apis/payments is not listed in Catalogue apis/shop")


def test_product_listed_in_another_namespace_does_not_count() -> None:
    catalogue = _catalogue(products=[{"name": "orders"}, {"name": "payments", "namespace": "other"}])
    outcome = check_eligibility(_inputs(catalogue=catalogue))
    assert outcome is not None
    assert outcome.reason is Reason.NOT_IN_CATALOGUE
    assert "APIProduct apis/payments" in outcome.message


def test_plan_not_in_catalogue_names_it() -> None:
    outcome = check_eligibility(_inputs(catalogue=_catalogue(plans=[{"name": "silver"}])))
    assert outcome is not None
    assert outcome.reason is Reason.NOT_IN_CATALOGUE
    assert outcome.message.startswith("Plan apis/gold is not listed in Catalogue apis/shop")


def test_missing_product_is_dependency_not_ready() -> None:
    outcome = check_eligibility(_inputs(products={("apis", "orders"): _product("orders")}))
    assert outcome is not None
    assert outcome.reason is Reason.DEPENDENCY_NOT_READY
    assert "APIProduct apis/payments not found" in outcome.message


def test_product_not_ready_carries_its_reason() -> None:
    products = {
        ("apis", "orders"): _product("orders", ready=False),
        ("apis", "payments"): _product("payments"),
    }
    outcome = check_eligibility(_inputs(products=products))
    assert outcome is not None
    assert outcome.reason is Reason.DEPENDENCY_NOT_READY
    assert outcome.message == "APIProduct apis/orders is not Ready (APINotFound: no API named orders)"


def test_product_ready_without_policy_id_is_not_ready() -> None:
    product = _product("orders", policy=False)
    assert not is_ready(product)
    products = {("apis", "orders"): product, ("apis", "payments"): _product("payments")}
    outcome = check_eligibility(_inputs(products=products))
    assert outcome is not None
    assert outcome.reason is Reason.DEPENDENCY_NOT_READY


def test_plan_missing_or_not_ready() -> None:
    missing = check_eligibility(_inputs(plan=None))
    assert missing is not None
    assert missing.reason is Reason.DEPENDENCY_NOT_READY
    assert "Plan apis/gold not found" in missing.message
    not_ready = check_eligibility(_inputs(plan=_plan(ready=False)))
    assert not_ready is not None
    assert not_ready.message == "Plan apis/gold is not Ready (no Ready condition yet)"


def test_provider_mismatch_lists_each_placement() -> None:
    outcome = check_eligibility(_inputs(plan=_plan(provider="staging")))
    assert outcome is not None
    assert outcome.reason is Reason.PROVIDER_MISMATCH
    assert "APIProduct apis/orders on prod" in outcome.message
    assert "Plan apis/gold on staging" in outcome.message


def test_first_failing_check_wins() -> None:
    outcome = check_eligibility(_inputs(app=None, catalogue=None, plan=None))
    assert outcome is not None
    assert outcome.reason is Reason.APP_NOT_FOUND
    assert len(ELIGIBILITY_CHAIN) == 9


def _with_apis(name: str, *apis: tuple[str, str]) -> APIProduct:
    product = _product(name)
    resolved = [{"apiID": f"{api}-id", "name": api, "authType": auth} for api, auth in apis]
    return product.model_copy(
        update={
            "status": product.status.model_copy(
                update={"apis": product.status.model_validate({"apis": resolved}).apis}
            )
        }
    )


def test_an_auth_token_is_not_issued_for_apis_of_another_auth_type() -> None:
    products = {
        ("apis", "orders"): _with_apis("orders", ("orders", "authToken")),
        ("apis", "payments"): _with_apis("payments", ("ledger", "jwt"), ("cards", "jwt")),
    }
    outcome = check_eligibility(_inputs(products=products))
    assert outcome is not None
    assert outcome.reason is Reason.AUTH_TYPE_MISMATCH
    assert outcome.message == (
        "AuthToken credentials authenticate only to APIs using authToken, but these APIs use another "
        "authentication: cards (jwt, in APIProduct apis/payments), ledger (jwt, in APIProduct apis/payments); "
        "create a new request for products whose APIs use authToken"
    )
    # Not eligible, so never approved automatically (and so never written to Tyk).
    assert decide_approval(_inputs(products=products, plan=_plan(approval="Automatic")), NOW) is None
    token_only = {key: _with_apis(key[1], (key[1], "authToken")) for key in products}
    assert check_eligibility(_inputs(products=token_only)) is None


def _jwt_product(name: str, *apis: tuple[str, dict[str, Any] | None]) -> APIProduct:
    product = _product(name)
    resolved = [
        {"apiID": f"{api}-id", "name": api, "authType": "jwt", **({"jwt": jwt} if jwt is not None else {})}
        for api, jwt in apis
    ]
    status = product.status.model_validate({"apis": resolved})
    return product.model_copy(update={"status": product.status.model_copy(update={"apis": status.apis})})


def _jwt_inputs(*products: APIProduct, approval: str | None = None) -> RequestInputs:
    request = _request()
    request = request.model_copy(update={"spec": request.spec.model_copy(update={"credential_type": "JWT"})})
    return _inputs(
        request=request,
        products={("apis", product.metadata["name"]): product for product in products},
        plan=_plan(approval=approval),
    )


def test_a_jwt_credential_is_not_issued_for_jwt_apis_it_cannot_sign_for() -> None:
    ecdsa = {"signingMethod": "ecdsa"}
    products = (
        _jwt_product("orders", ("orders-v2", {"signingMethod": "rsa"}), ("stock", ecdsa)),
        _jwt_product(
            "payments",
            ("ledger", {"signingMethod": "ecdsa", "centralSource": True}),
            ("cards", {"signingMethod": "ECDSA", "skipKid": True}),
            ("legacy", {}),
        ),
    )
    outcome = check_eligibility(_jwt_inputs(*products))
    assert outcome is not None and outcome.reason is Reason.AUTH_TYPE_MISMATCH
    assert outcome.message == (
        "JWT credentials cannot authenticate to every API of the request: "
        "API orders-v2 (in APIProduct apis/orders) validates JWTs with rsa; JWT credentials are signed "
        "with ecdsa (ES256); "
        "API ledger (in APIProduct apis/payments) uses a central jwt_source (one key for every token); "
        "JWT credentials need per-consumer keys (no jwt_source); "
        "API cards (in APIProduct apis/payments) sets jwt_skip_kid; JWT credentials name their key by "
        "the token's kid; and 1 more; "
        "create a new request for products whose APIs take JWT credentials"
    )
    # Not eligible, so never approved automatically (and so never written to Tyk).
    assert decide_approval(_jwt_inputs(*products, approval="Automatic"), NOW) is None
    # An unset signing method is Tyk's default, hmac.
    unset = check_eligibility(_jwt_inputs(_jwt_product("orders", ("legacy", {})), _jwt_product("payments")))
    assert unset is not None and "API legacy (in APIProduct apis/orders) validates JWTs with hmac " in (
        unset.message
    )
    assert "(jwt_signing_method unset)" in unset.message
    # ES256 with per-consumer keys named by the kid (the method's case aside) is what the type signs for;
    # an API resolved before the facts were recorded (no `jwt`) is not refused.
    fitting = (
        _jwt_product("orders", ("orders-v2", ecdsa), ("stock", {"signingMethod": "ECDSA"})),
        _jwt_product("payments", ("ledger", None)),
    )
    assert check_eligibility(_jwt_inputs(*fitting)) is None


def test_custom_chain_is_evaluated_in_order() -> None:
    assert check_eligibility(_inputs(app=None), chain=()) is None


def test_existing_decision_is_returned_unchanged() -> None:
    denied = {"decision": "Denied", "reason": "no", "by": "alice", "time": "2025-01-01T00:00:00Z"}
    inputs = _inputs(request=_request(approval=denied), plan=_plan(approval="Automatic"))
    assert decide_approval(inputs, NOW) == Approval.model_validate(denied)
    # ... even when the request is no longer eligible.
    assert decide_approval(dataclasses.replace(inputs, app=None), NOW) == Approval.model_validate(denied)


def test_automatic_plan_approves() -> None:
    approval = decide_approval(_inputs(plan=_plan(approval="Automatic")), NOW)
    assert approval == Approval(
        decision="Approved",
        reason="plan gold approves automatically",
        time="2025-03-01T12:00:00Z",
        by="tyk-portal-operator",
    )


def test_auto_approve_rule_approves_and_is_named() -> None:
    catalogue = _catalogue(autoApprove=[{"name": "team-a-gold", "audience": {"teams": ["team-a"]}}])
    approval = decide_approval(_inputs(catalogue=catalogue), NOW)
    assert approval is not None
    assert approval.decision == "Approved"
    assert approval.by == "tyk-portal-operator"
    assert approval.reason is not None
    assert "team-a-gold" in approval.reason
    assert "apis/shop" in approval.reason


def test_manual_plan_without_rule_awaits_a_person() -> None:
    assert decide_approval(_inputs(), NOW) is None
    assert decide_approval(_inputs(plan=_plan(approval="Manual")), NOW) is None
    other_team = _catalogue(autoApprove=[{"name": "b", "audience": {"teams": ["team-b"]}}])
    assert decide_approval(_inputs(catalogue=other_team), NOW) is None


def test_ineligible_request_is_never_approved_automatically() -> None:
    inputs = _inputs(plan=_plan(approval="Automatic"), namespace_labels={TEAM: "intruder"})
    assert decide_approval(inputs, NOW) is None


def test_approval_outcome_messages() -> None:
    waiting = approval_outcome(None, _request())
    assert waiting is not None
    assert waiting.reason is Reason.AWAITING_APPROVAL
    assert "kubectl portal approve orders-access -n team-a --reason" in waiting.message
    assert not waiting.ready
    generic = approval_outcome(None)
    assert generic is not None
    assert "kubectl portal approve NAME -n NAMESPACE" in generic.message
    denied = approval_outcome(Approval(decision="Denied", reason="no business case", by="bob"))
    assert denied is not None
    assert denied.reason is Reason.DENIED
    assert denied.message.startswith("denied by bob: no business case")
    assert approval_outcome(Approval(decision="Approved", by="alice")) is None


@pytest.mark.parametrize("decision", ["Approved", "Denied"])
def test_outcome_of_decisions_without_details(decision: str) -> None:
    outcome = approval_outcome(Approval.model_validate({"decision": decision}))
    if decision == "Approved":
        assert outcome is None
    else:
        assert outcome is not None
        assert outcome.message.startswith("denied by an approver")
