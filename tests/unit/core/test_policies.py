"""Desired policies, diffs and ownership: specs in, Tyk JSON out."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tyk_portal_operator.core.policies import (
    ProviderConfig,
    merge_for_update,
    ownership_of,
    plan_policy,
    policy_changes,
    product_policy,
)
from tyk_portal_operator.core.resolve import ResolutionError, resolve_apis
from tyk_portal_operator.models import APIProduct, Plan
from tyk_portal_operator.tyk import TykAPI

PROVIDER = ProviderConfig(name="prod", policy_id_prefix="eu1", org_id="org1")
META = {"name": "orders", "namespace": "shop", "uid": "uid-1", "generation": 1}


def _product(**spec: Any) -> APIProduct:
    return APIProduct.model_validate({"metadata": META, "spec": {"displayName": "Orders", **spec}})


def _plan(**spec: Any) -> Plan:
    return Plan.model_validate(
        {"metadata": {**META, "name": "gold"}, "spec": {"displayName": "Gold", **spec}}
    )


APIS = [
    TykAPI(api_id="a1", name="orders", auth_type="authToken", tags=["shop"]),
    TykAPI(api_id="a2", name="payments", auth_type="authToken", tags=["shop", "finance"]),
    TykAPI(api_id="a3", name="open", auth_type="keyless"),
    TykAPI(api_id="a4", name="jwt-api", auth_type="jwt", tags=["finance"]),
]


def test_product_policy_is_acl_only_with_deterministic_id_and_marks() -> None:
    product = _product(
        apis=[{"apiID": "a1", "allowedURLs": [{"url": "/o/.*", "methods": ["GET", "POST"]}]}],
        owner={"team": "shop"},
        lifecycle="production",
    )
    policy = product_policy(product, resolve_apis(product.spec.apis, APIS), PROVIDER)
    assert policy["id"] == "eu1.product.shop.orders"
    assert policy["name"] == "Orders [eu1:product:shop/orders]"
    assert policy["partitions"] == {
        "acl": True,
        "rate_limit": False,
        "quota": False,
        "complexity": False,
        "per_api": False,
    }
    assert policy["access_rights"] == {
        "a1": {
            "api_id": "a1",
            "api_name": "orders",
            "versions": ["Default"],
            "allowed_urls": [{"url": "/o/.*", "methods": ["GET", "POST"]}],
        }
    }
    assert policy["meta_data"]["apiportal.dev/policy-uid"] == "uid-1"
    assert policy["meta_data"]["apiportal.dev/owner-team"] == "shop"
    assert policy["org_id"] == "org1" and policy["active"] is True


def test_plan_policy_has_limits_and_no_access_rights() -> None:
    policy = plan_policy(
        _plan(
            rateLimit={"requests": 10, "per": "1m"}, quota={"max": 500, "renewalPeriod": "1d"}, keyExpiry="1h"
        ),
        PROVIDER,
    )
    assert policy["access_rights"] == {}
    assert (
        policy["partitions"]["rate_limit"]
        and policy["partitions"]["quota"]
        and not policy["partitions"]["acl"]
    )
    assert (policy["rate"], policy["per"], policy["quota_max"], policy["quota_renewal_rate"]) == (
        10,
        60,
        500,
        86400,
    )
    assert policy["key_expires_in"] == 3600
    unlimited = plan_policy(_plan(quota={"unlimited": True}), PROVIDER)
    assert (unlimited["quota_max"], unlimited["rate"]) == (-1, -1)


def test_a_plan_renewing_credentials_no_earlier_than_they_expire_is_invalid() -> None:
    assert plan_policy(_plan(keyExpiry="1h", renewBefore="20m"), PROVIDER)["key_expires_in"] == 3600
    with pytest.raises(ValueError, match=r"renewBefore \(1h\) must be shorter than keyExpiry \(1h\)"):
        plan_policy(_plan(keyExpiry="1h", renewBefore="1h"), PROVIDER)


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        ([{"apiID": "a2"}], {"a2"}),
        ([{"name": "orders"}], {"a1"}),
        ([{"tags": ["shop"]}], {"a1", "a2"}),
        ([{"tags": ["shop", "finance"]}], {"a2"}),
        ([{"apiID": "a1"}, {"tags": ["shop"]}], {"a1", "a2"}),
    ],
)
def test_resolution_by_id_name_and_tags(selectors: list[dict[str, Any]], expected: set[str]) -> None:
    product = _product(apis=selectors)
    assert {api.api_id for api in resolve_apis(product.spec.apis, APIS)} == expected


def test_resolution_records_how_jwt_apis_validate_tokens_in_status() -> None:
    rsa = TykAPI(api_id="a5", name="rsa-api", auth_type="jwt", jwt_signing_method="rsa", jwt_central=True)
    resolved = resolve_apis(_product(apis=[{"apiID": "a4"}, {"apiID": "a5"}]).spec.apis, [*APIS, rsa])
    assert [api.model_dump(by_alias=True)["jwt"] for api in resolved] == [
        {"signingMethod": None, "centralSource": False, "skipKid": False},
        {"signingMethod": "rsa", "centralSource": True, "skipKid": False},
    ]
    assert resolve_apis(_product(apis=[{"apiID": "a1"}]).spec.apis, APIS)[0].jwt is None


@pytest.mark.parametrize(
    ("selectors", "reason", "text"),
    [
        ([{"apiID": "nope"}], "APINotFound", 'apiID "nope"'),
        ([{"tags": ["missing"]}], "APINotFound", "tags [missing]"),
        ([{"name": "open"}], "AuthTypeMismatch", "keyless"),
        ([{"apiID": "a1"}, {"apiID": "a4"}], "AuthTypeMismatch", "authToken, jwt"),
    ],
)
def test_resolution_failures_name_the_problem(
    selectors: list[dict[str, Any]], reason: str, text: str
) -> None:
    with pytest.raises(ResolutionError) as info:
        resolve_apis(_product(apis=selectors).spec.apis, APIS)
    assert info.value.reason == reason
    assert text in info.value.message


def test_diff_ignores_server_fields_and_names_changed_ones() -> None:
    desired = plan_policy(_plan(rateLimit={"requests": 10, "per": "1s"}), PROVIDER)
    actual = {
        **desired,
        "_id": "abc",
        "date_created": "x",
        "last_updated": "1",
        "rate": 10.0,
        "tags": list(reversed(desired["tags"])),
        "access_rights_array": [],
    }
    assert policy_changes(desired, actual) == []
    actual["rate"] = 99
    actual["meta_data"] = {}
    assert policy_changes(desired, actual) == ["meta_data", "rate"]
    merged = merge_for_update(desired, actual)
    assert merged["_id"] == "abc" and merged["rate"] == 10


def test_ownership() -> None:
    assert ownership_of({"meta_data": {"apiportal.dev/policy-uid": "uid-1"}}, "uid-1") == "ours"
    assert ownership_of({"meta_data": {}}, "uid-1") == "unmarked"
    assert ownership_of({"meta_data": {"apiportal.dev/policy-uid": "other"}}, "uid-1") == "foreign"


def test_policy_shapes_match_the_dashboard_openapi_document() -> None:
    from tests.emulator_tests.tyk.openapi import require_spec, validate

    require_spec()
    product = _product(apis=[{"tags": ["shop"], "allowedURLs": [{"url": "/x", "methods": ["GET"]}]}])
    validate(product_policy(product, resolve_apis(product.spec.apis, APIS), PROVIDER), "Policy")
    validate(
        plan_policy(
            _plan(
                rateLimit={"requests": 1, "per": "1s"},
                quota={"max": 5, "renewalPeriod": "1h"},
                throttle={"interval": "1s", "retryLimit": 2},
                keyExpiry="1d",
            ),
            PROVIDER,
        ),
        "Policy",
    )


def test_product_ownership_goes_to_tags_as_well_as_meta_data() -> None:
    product = _product(
        apis=[{"apiID": "a1"}],
        owner={"team": "shop", "contact": "#shop team"},
        lifecycle="deprecated",
        tags=["checkout", "eu, us", "checkout"],
    )
    policy = product_policy(product, resolve_apis(product.spec.apis, APIS), PROVIDER)
    assert policy["tags"] == [
        "managed-by:tyk-portal-operator",
        "apiportal:product",
        "apiportal.dev/team:shop",
        "apiportal.dev/contact:#shop-team",
        "apiportal.dev/lifecycle:deprecated",
        "apiportal.dev/tag:checkout",
        "apiportal.dev/tag:eu-us",
    ]
    assert policy["meta_data"]["apiportal.dev/owner-contact"] == "#shop team"
    assert policy["meta_data"]["apiportal.dev/lifecycle"] == "deprecated"
    bare = product_policy(_product(apis=[{"apiID": "a1"}]), resolve_apis([], APIS), PROVIDER)
    assert bare["tags"] == ["managed-by:tyk-portal-operator", "apiportal:product"]


def test_plan_owner_is_propagated() -> None:
    policy = plan_policy(_plan(owner={"team": "payments", "contact": "pay@example.com"}), PROVIDER)
    assert "apiportal.dev/team:payments" in policy["tags"]
    assert "apiportal.dev/contact:pay@example.com" in policy["tags"]
    assert policy["meta_data"]["apiportal.dev/owner-team"] == "payments"
    assert policy["meta_data"]["apiportal.dev/owner-contact"] == "pay@example.com"


def test_drift_includes_ownership_tags() -> None:
    product = _product(apis=[{"apiID": "a1"}], owner={"team": "shop"})
    desired = product_policy(product, resolve_apis(product.spec.apis, APIS), PROVIDER)
    before_this_release = {**desired, "tags": ["managed-by:tyk-portal-operator", "apiportal:product"]}
    assert policy_changes(desired, before_this_release) == ["tags"]
    renamed_team = {**desired, "tags": [*desired["tags"][:-1], "apiportal.dev/team:other"]}
    assert policy_changes(desired, renamed_team) == ["tags"]


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20)


@given(
    team=st.none() | _TEXT,
    contact=st.none() | _TEXT,
    lifecycle=st.none() | st.sampled_from(["experimental", "production", "deprecated"]),
    tags=st.lists(_TEXT, max_size=5),
    seed=st.randoms(use_true_random=False),
)
def test_a_policy_as_tyk_returns_it_needs_no_write(
    team: str | None, contact: str | None, lifecycle: str | None, tags: list[str], seed: Any
) -> None:
    """Steady state: whatever the ownership, Tyk's copy (tags in any order) differs in nothing."""
    owner = {k: v for k, v in {"team": team, "contact": contact}.items() if v is not None}
    product = _product(apis=[{"apiID": "a1"}], owner=owner or None, lifecycle=lifecycle, tags=tags or None)
    desired = product_policy(product, resolve_apis(product.spec.apis, APIS), PROVIDER)
    returned = {**desired, "_id": "x", "tags": seed.sample(desired["tags"], len(desired["tags"]))}
    assert policy_changes(desired, returned) == []
    assert all("," not in tag and not any(c.isspace() for c in tag) for tag in desired["tags"])
    assert len(desired["tags"]) == len(set(desired["tags"]))
