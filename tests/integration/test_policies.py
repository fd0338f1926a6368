"""APIProduct and Plan become Tyk partitioned policies, and stay that way (round trips: both modes)."""

from __future__ import annotations

import time
from typing import Any

import httpx
from kopf.testing import KopfRunner

from tests.emulators.tyk import TykControl, TykEmulator

from .backends import TykAdmin
from .cluster import Cluster, wait_for
from .conftest import make_provider, run_name

AUTH = {"Authorization": "dash-secret"}


def tyk_policy(tyk: TykEmulator, pid: str) -> dict[str, Any] | None:
    response = httpx.get(f"{tyk.url}/api/portal/policies/{pid}", headers=AUTH)
    return response.json() if response.status_code == 200 else None


def product(name: str, provider: str, apis: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "kind": "APIProduct",
        "metadata": {"name": name},
        "spec": {"providerRef": {"name": provider}, "displayName": name.title(), "apis": apis, **spec},
    }


def plan(name: str, provider: str, **spec: Any) -> dict[str, Any]:
    return {
        "kind": "Plan",
        "metadata": {"name": name},
        "spec": {"providerRef": {"name": provider}, "displayName": name.title(), **spec},
    }


def test_product_round_trip(
    operator: KopfRunner, cluster: Cluster, namespace: str, admin: TykAdmin, control: TykControl
) -> None:
    provider = admin.make_provider(cluster, namespace, prefix="rt")
    apis = [
        {"apiID": "orders-api", "allowedURLs": [{"url": "/orders/.*", "methods": ["GET"]}]},
        {"name": "weather", "versions": ["v1"]},
    ]
    cluster.create(
        "apiproducts",
        product("shop", provider, apis, owner={"team": "shop", "contact": "a@b.c"}, lifecycle="production"),
        namespace,
    )
    obj = cluster.wait_condition("apiproducts", "shop", namespace, reason="PolicySynced")
    pid = f"rt.product.{namespace}.shop"
    assert obj["status"]["policyID"] == pid
    assert {a["apiID"]: a["authType"] for a in obj["status"]["apis"]} == {
        "orders-api": "authToken",
        "weather-api": "authToken",
    }
    policy = admin.policy(pid)  # on a Gateway: loaded, so in force when the product is Ready
    assert policy is not None
    assert policy["partitions"]["acl"] is True
    assert policy["partitions"]["rate_limit"] is False and policy["partitions"]["quota"] is False
    assert set(policy["access_rights"]) == {"orders-api", "weather-api"}
    assert policy["access_rights"]["orders-api"]["allowed_urls"] == [
        {"url": "/orders/.*", "methods": ["GET"]}
    ]
    assert policy["access_rights"]["weather-api"]["versions"] == ["v1"]
    assert policy["meta_data"]["apiportal.dev/policy-uid"] == obj["metadata"]["uid"]
    assert policy["meta_data"]["apiportal.dev/owner-team"] == "shop"
    assert policy["active"] is True

    # A spec change updates the policy in place.
    cluster.patch("apiproducts", "shop", {"spec": {"apis": [{"tags": ["finance"]}]}}, namespace)
    wait_for(
        lambda: set((admin.policy(pid) or {}).get("access_rights", {})) == {"payments-api"},
        what="policy updated to tag-selected API",
    )
    wait_for(
        lambda: (
            {"PolicyCreated", "PolicyUpdated"} <= {e["reason"] for e in cluster.events_for(namespace, "shop")}
        ),
        what="created and updated events",
    )

    # Deleting the product deletes the policy.
    cluster.delete("apiproducts", "shop", namespace)
    wait_for(lambda: admin.policy(pid) is None, what="policy deleted")
    wait_for(lambda: cluster.get("apiproducts", "shop", namespace) is None, what="product gone")
    if admin.gateway:
        # Every write (create, update, delete) was followed by a reload of this node, then the group.
        calls = [
            (r["method"], r["path"], r["query"].get("block"))
            for r in admin.requests(control)
            if (r["method"] != "GET" or r["path"].startswith("/tyk/reload"))
            and "write-check" not in r["path"]
        ]
        reload = [("GET", "/tyk/reload", "true"), ("GET", "/tyk/reload/group", None)]
        assert calls == [
            ("POST", "/tyk/policies", None),
            *reload,
            ("PUT", f"/tyk/policies/{pid}", None),
            *reload,
            ("DELETE", f"/tyk/policies/{pid}", None),
            *reload,
        ]


def test_plan_round_trip(operator: KopfRunner, cluster: Cluster, namespace: str, admin: TykAdmin) -> None:
    provider = admin.make_provider(cluster, namespace, prefix="pl")
    cluster.create(
        "plans",
        plan(
            "gold",
            provider,
            rateLimit={"requests": 100, "per": "1m"},
            quota={"max": 10000, "renewalPeriod": "30d"},
            keyExpiry="90d",
            throttle={"interval": "2s", "retryLimit": 3},
            approval="Automatic",
        ),
        namespace,
    )
    cluster.wait_condition("plans", "gold", namespace, reason="PolicySynced")
    policy = admin.policy(f"pl.plan.{namespace}.gold")
    assert policy is not None
    assert policy["access_rights"] == {}
    assert policy["partitions"]["rate_limit"] is True and policy["partitions"]["quota"] is True
    assert policy["partitions"]["acl"] is False
    assert (policy["rate"], policy["per"]) == (100, 60)
    assert (policy["quota_max"], policy["quota_renewal_rate"]) == (10000, 30 * 86400)
    assert (policy["throttle_interval"], policy["throttle_retry_limit"]) == (2, 3)
    assert policy["key_expires_in"] == 90 * 86400

    cluster.patch(
        "plans",
        "gold",
        {"spec": {"quota": {"max": None, "renewalPeriod": None, "unlimited": True}}},
        namespace,
    )
    wait_for(
        lambda: (admin.policy(f"pl.plan.{namespace}.gold") or {}).get("quota_max") == -1,
        what="quota unlimited",
    )

    cluster.patch("plans", "gold", {"spec": {"deletionPolicy": "Orphan"}}, namespace)
    wait_for(
        lambda: (
            cluster.condition("plans", "gold", namespace)
            and cluster.get("plans", "gold", namespace)["status"].get("observedGeneration")
            == cluster.get("plans", "gold", namespace)["metadata"]["generation"]
        ),
        what="orphan policy observed",
    )
    cluster.delete("plans", "gold", namespace)
    wait_for(lambda: cluster.get("plans", "gold", namespace) is None, what="plan gone")
    assert admin.policy(f"pl.plan.{namespace}.gold") is not None


def test_missing_api_then_fixed(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    provider = make_provider(cluster, namespace, tyk.url, prefix="mi")
    cluster.create("apiproducts", product("later", provider, [{"apiID": "inventory-api"}]), namespace)
    obj = cluster.wait_condition("apiproducts", "later", namespace, status="False", reason="APINotFound")
    assert 'apiID "inventory-api"' in obj["status"]["conditions"][0]["message"]
    control.seed_api(
        api_id="inventory-api", name="inventory", use_standard_auth=True, proxy={"listen_path": "/inventory/"}
    )
    cluster.wait_condition("apiproducts", "later", namespace, reason="PolicySynced")


def test_missing_provider_then_created(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator
) -> None:
    provider = run_name("late")
    cluster.create("apiproducts", product("early", provider, [{"apiID": "orders-api"}]), namespace)
    obj = cluster.wait_condition("apiproducts", "early", namespace, status="False", reason="ProviderNotReady")
    assert provider in obj["status"]["conditions"][0]["message"]
    make_provider(cluster, namespace, tyk.url, name=provider, prefix="late")
    cluster.wait_condition("apiproducts", "early", namespace, reason="PolicySynced")


def test_outage_and_rejection(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    provider = make_provider(cluster, namespace, tyk.url, prefix="out")
    cluster.wait_condition("tykproviders", provider, reason="Connected")
    control.error(status=503, match="/api/portal/policies/out.plan", times=None)
    cluster.create("plans", plan("silver", provider, rateLimit={"requests": 5, "per": "1s"}), namespace)
    cluster.wait_condition("plans", "silver", namespace, status="False", reason="TykUnavailable")
    control.clear_faults()
    cluster.wait_condition("plans", "silver", namespace, reason="PolicySynced")

    # Tyk rejects the write (as for a malformed body): TykRejected with Tyk's message, no tight loop.
    control.error(
        status=400, match="PUT /api/portal/policies/out.plan", times=None, message="Nope, not today."
    )
    cluster.patch("plans", "silver", {"spec": {"rateLimit": {"requests": 6, "per": "1s"}}}, namespace)
    obj = cluster.wait_condition("plans", "silver", namespace, status="False", reason="TykRejected")
    assert "Nope, not today." in obj["status"]["conditions"][0]["message"]
    control.clear_requests()
    # Proving an absence needs a window: 2 s would hold several retries of a tight loop (retry delay
    # 0.5 s), while the slow retry of a rejected write comes at most once.
    time.sleep(2)
    assert control.count("PUT") <= 1  # not hammered: at most one slow retry in two seconds
    control.clear_faults()
    cluster.wait_condition("plans", "silver", namespace, reason="PolicySynced")


def test_ownership_conflict_and_adoption(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator
) -> None:
    provider = make_provider(cluster, namespace, tyk.url, prefix="own")
    pid = f"own.plan.{namespace}.bronze"
    foreign = {
        "id": pid,
        "name": "hand made",
        "org_id": "org1",
        "active": True,
        "access_rights": {},
        "rate": 1,
        "per": 1,
        "quota_max": -1,
        "quota_renewal_rate": -1,
        "meta_data": {},
    }
    assert httpx.post(f"{tyk.url}/api/portal/policies", json=foreign, headers=AUTH).status_code == 200
    cluster.create("plans", plan("bronze", provider, rateLimit={"requests": 2, "per": "1s"}), namespace)
    obj = cluster.wait_condition("plans", "bronze", namespace, status="False", reason="OwnershipConflict")
    assert "apiportal.dev/adopt-policy-id" in obj["status"]["conditions"][0]["message"]
    assert tyk_policy(tyk, pid)["name"] == "hand made"  # untouched

    cluster.patch(
        "plans", "bronze", {"metadata": {"annotations": {"apiportal.dev/adopt-policy-id": pid}}}, namespace
    )
    cluster.wait_condition("plans", "bronze", namespace, reason="PolicySynced")
    adopted = tyk_policy(tyk, pid)
    assert adopted["rate"] == 2
    assert adopted["meta_data"]["apiportal.dev/policy-uid"] == obj["metadata"]["uid"]


def test_in_use_blocks_deletion_until_catalogue_goes(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator
) -> None:
    provider = make_provider(cluster, namespace, tyk.url, prefix="use")
    cluster.create("apiproducts", product("p1", provider, [{"apiID": "orders-api"}]), namespace)
    cluster.create("plans", plan("free", provider), namespace)
    cluster.wait_condition("apiproducts", "p1", namespace, reason="PolicySynced")
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "cat"},
            "spec": {"visibility": "Public", "products": [{"name": "p1"}], "plans": [{"name": "free"}]},
        },
        namespace,
    )
    # The catalogue's status is written by the operator: it has seen the catalogue (and indexed it).
    cluster.wait_condition("catalogues", "cat", namespace, reason="Resolved")
    cluster.delete("apiproducts", "p1", namespace)
    obj = cluster.wait_condition("apiproducts", "p1", namespace, status="False", reason="InUse")
    assert f"Catalogue {namespace}/cat" in obj["status"]["conditions"][0]["message"]
    assert tyk_policy(tyk, f"use.product.{namespace}.p1") is not None
    cluster.delete("catalogues", "cat", namespace)
    wait_for(lambda: cluster.get("apiproducts", "p1", namespace) is None, what="product deleted")
    assert tyk_policy(tyk, f"use.product.{namespace}.p1") is None
