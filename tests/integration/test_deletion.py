"""Deletion always completes, and says what it left in Tyk when it could not clean up.

Each rule of docs/operations.md ("Deleting when Tyk is unreachable") against the real operator:
a namespace deleted after its provider is gone, a namespace deleted while Tyk is unreachable (the
grace period), a TykProvider deleted while still used, and the Orphan escape hatch on an object
already being deleted. Everything is waited for on state; Events may arrive late.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from kopf.testing import KopfRunner

from tests.emulators.tyk import TykControl, TykEmulator

from .cluster import Cluster, wait_for
from .conftest import Created, make_provider
from .test_policies import AUTH, plan, product
from .test_provisioning import request

GONE_TIMEOUT = 90.0


def _publish(cluster: Cluster, namespace: str, provider: str) -> tuple[str, str]:
    cluster.create("apiproducts", product("orders", provider, [{"apiID": "orders-api"}]), namespace)
    cluster.create(
        "plans",
        plan("free", provider, rateLimit={"requests": 5, "per": "1s"}, approval="Automatic"),
        namespace,
    )
    product_id = cluster.wait_condition("apiproducts", "orders", namespace, reason="PolicySynced")["status"][
        "policyID"
    ]
    plan_id = cluster.wait_condition("plans", "free", namespace, reason="PolicySynced")["status"]["policyID"]
    return product_id, plan_id


def _policy_in_tyk(tyk: TykEmulator, pid: str) -> bool:
    return httpx.get(f"{tyk.url}/api/portal/policies/{pid}", headers=AUTH).status_code == 200


def _events_in_default(cluster: Cluster, kind: str, name: str, reason: str) -> list[dict[str, Any]]:
    """Events about a cluster-scoped object (they live in `default`, as client-go puts them)."""
    found = []
    for event in cluster.core.list_namespaced_event("default").items:
        ref = event.involved_object
        if ref.kind == kind and ref.name == name and event.reason == reason:
            found.append(cluster.api_client.sanitize_for_serialization(event))
    return found


def _left_in_tyk_total() -> float:
    """The operator's tyk_portal_left_in_tyk_total, summed (the operator runs in this process)."""
    port = os.environ.get("TYK_PORTAL_METRICS_PORT")
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("tyk_portal_left_in_tyk_total{")
    )


def _delete_namespace_and_wait(cluster: Cluster, namespace: str) -> None:
    cluster.delete_namespace(namespace)
    wait_for(
        lambda: not cluster.namespace_exists(namespace),
        timeout=GONE_TIMEOUT,
        what=f"namespace {namespace} gone",
    )


def test_namespace_deletion_completes_when_the_provider_is_gone(
    operator: KopfRunner, cluster: Cluster, created: Created, tyk: TykEmulator
) -> None:
    namespace = created.namespace()
    # The provider's key Secret lives in the namespace that is deleted, as in the field report.
    provider = make_provider(cluster, namespace, tyk.url)
    product_id, plan_id = _publish(cluster, namespace, provider)
    # Someone forces the provider away (its finalizer removed by hand): it no longer exists.
    cluster.delete("tykproviders", provider)
    cluster.patch("tykproviders", provider, {"metadata": {"finalizers": None}})
    wait_for(lambda: cluster.get("tykproviders", provider) is None, what="provider gone")

    _delete_namespace_and_wait(cluster, namespace)

    # What was left is named in an Event on the Namespace (Events inside it are refused).
    events = wait_for(
        lambda: _events_in_default(cluster, "Namespace", namespace, "PolicyOrphaned"),
        timeout=60,
        what="PolicyOrphaned events about the namespace",
    )
    wait_for(
        lambda: (
            {product_id, plan_id}
            <= {
                pid
                for e in _events_in_default(cluster, "Namespace", namespace, "PolicyOrphaned")
                for pid in (product_id, plan_id)
                if pid in e["message"]
            }
        ),
        timeout=60,
        what="both policies named",
    )
    assert all("left in Tyk" in e["message"] for e in events)
    assert _policy_in_tyk(tyk, product_id) and _policy_in_tyk(tyk, plan_id)


def test_namespace_deletion_with_tyk_unreachable_completes_after_the_grace_period(
    operator: KopfRunner, cluster: Cluster, created: Created, tyk: TykEmulator, control: TykControl
) -> None:
    home = created.namespace("home")  # the provider's Secret stays readable
    namespace = created.namespace()
    provider = make_provider(cluster, home, tyk.url)
    product_id, _ = _publish(cluster, namespace, provider)
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "public"},
            "spec": {"visibility": "Public", "products": [{"name": "orders"}], "plans": [{"name": "free"}]},
        },
        namespace,
    )
    cluster.create(
        "consumerapps",
        {"kind": "ConsumerApp", "metadata": {"name": "mobile"}, "spec": {"displayName": "M"}},
        namespace,
    )
    cluster.create("provisioningrequests", request("r1"), namespace)
    issued = cluster.wait_condition("provisioningrequests", "r1", namespace, reason="CredentialIssued")
    key_hash = issued["status"].get("keyHash")
    before = _left_in_tyk_total()

    control.outage("dashboard")
    try:
        _delete_namespace_and_wait(cluster, namespace)
        # Reported on the provider, which still exists: the key (by hash) and the policies.
        events = wait_for(
            lambda: (
                (
                    found := [
                        e["message"]
                        for reason in ("KeyOrphaned", "PolicyOrphaned")
                        for e in _events_in_default(cluster, "TykProvider", provider, reason)
                    ]
                )
                and any(product_id in m for m in found)
                and any("r1" in m for m in found)
                and found
            ),
            timeout=60,
            what="KeyOrphaned and PolicyOrphaned events about the provider",
        )
        assert all("was deleted with its namespace" in m for m in events)
        if key_hash:
            assert any(key_hash in m for m in events)
        wait_for(lambda: _left_in_tyk_total() >= before + 3, what="left-in-Tyk counter")
    finally:
        control.clear_faults()
    # Nothing was cleaned in Tyk: the policy is still there, as the Event said.
    assert _policy_in_tyk(tyk, product_id)


def test_provider_deletion_waits_while_products_use_it(
    operator: KopfRunner, cluster: Cluster, created: Created, tyk: TykEmulator
) -> None:
    namespace = created.namespace()
    provider = make_provider(cluster, namespace, tyk.url)
    product_id, plan_id = _publish(cluster, namespace, provider)

    cluster.delete("tykproviders", provider)
    cluster.wait_condition("tykproviders", provider, status="False", reason="InUse")
    message = (cluster.condition("tykproviders", provider) or {}).get("message") or ""
    assert f"APIProduct {namespace}/orders" in message and f"Plan {namespace}/free" in message
    assert cluster.get("tykproviders", provider) is not None

    cluster.delete("apiproducts", "orders", namespace)
    cluster.delete("plans", "free", namespace)
    wait_for(
        lambda: cluster.get("tykproviders", provider) is None, timeout=GONE_TIMEOUT, what="provider gone"
    )
    # The products and plans cleaned up through the provider before it went.
    assert not _policy_in_tyk(tyk, product_id) and not _policy_in_tyk(tyk, plan_id)


def test_orphan_on_an_object_being_deleted_lets_it_go_without_tyk(
    operator: KopfRunner, cluster: Cluster, namespace: str, tyk: TykEmulator, control: TykControl
) -> None:
    provider = make_provider(cluster, namespace, tyk.url)
    product_id, _ = _publish(cluster, namespace, provider)
    control.outage("dashboard")
    try:
        cluster.delete("apiproducts", "orders", namespace)
        wait_for(
            lambda: (
                "set spec.deletionPolicy: Orphan"
                in ((cluster.condition("apiproducts", "orders", namespace) or {}).get("message") or "")
            ),
            what="deletion waiting, naming the escape hatch",
        )
        cluster.patch("apiproducts", "orders", {"spec": {"deletionPolicy": "Orphan"}}, namespace)
        wait_for(
            lambda: cluster.get("apiproducts", "orders", namespace) is None,
            timeout=GONE_TIMEOUT,
            what="product gone",
        )
    finally:
        control.clear_faults()
    assert _policy_in_tyk(tyk, product_id)  # Orphan: left in Tyk on purpose
