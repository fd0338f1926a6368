"""Drift: policies edited or deleted in Tyk are repaired on the provider's resync; steady state is cheap.

Both on a Dashboard and on an open-source Gateway (where a hand edit counts once the Gateway has
reloaded it, and a repair is itself followed by a reload).
"""

from __future__ import annotations

import time

from kopf.testing import KopfRunner

from tests.emulators.tyk import TykControl

from .backends import TykAdmin
from .cluster import Cluster, wait_for
from .test_policies import plan, product


def test_edited_and_deleted_policies_are_repaired(
    operator: KopfRunner, cluster: Cluster, namespace: str, admin: TykAdmin
) -> None:
    provider = admin.make_provider(cluster, namespace, prefix="dr")
    cluster.create("apiproducts", product("shop", provider, [{"apiID": "orders-api"}]), namespace)
    cluster.create("plans", plan("gold", provider, rateLimit={"requests": 10, "per": "1s"}), namespace)
    cluster.wait_condition("apiproducts", "shop", namespace, reason="PolicySynced")
    cluster.wait_condition("plans", "gold", namespace, reason="PolicySynced")
    product_id, plan_id = f"dr.product.{namespace}.shop", f"dr.plan.{namespace}.gold"

    admin.edit_policy(plan_id, rate=100000)
    admin.delete_policy(product_id)

    wait_for(lambda: (admin.policy(plan_id) or {}).get("rate") == 10, what="plan rate restored")
    wait_for(lambda: admin.policy(product_id) is not None, what="product policy recreated")
    assert set(admin.policy(product_id)["access_rights"]) == {"orders-api"}  # type: ignore[index]
    # Each repair is reported on its object. Events are posted after the repair (asynchronously), so
    # wait for them; a repair may legitimately be reported more than once, hence "at least".
    cluster.wait_event(namespace, "gold", "DriftRepaired")
    cluster.wait_event(namespace, "shop", "DriftRepaired")


def test_steady_state_costs_one_list_per_resync_and_no_writes(
    operator: KopfRunner, cluster: Cluster, namespace: str, admin: TykAdmin, control: TykControl
) -> None:
    provider = admin.make_provider(cluster, namespace, prefix="scale")
    cluster.wait_condition("tykproviders", provider, reason="Connected")
    # At scale once (the Dashboard: 100 products and 100 plans); on a Gateway, where a resync makes the
    # same single list request whatever the count, 25 of each prove the cost and keep the suite fast.
    count = 25 if admin.gateway else 100
    for index in range(count):
        cluster.create("apiproducts", product(f"p{index}", provider, [{"apiID": "weather-api"}]), namespace)
        cluster.create(
            "plans", plan(f"t{index}", provider, rateLimit={"requests": index + 1, "per": "1s"}), namespace
        )

    def all_ready() -> bool:
        items = [
            *cluster.custom.list_namespaced_custom_object(
                "apiportal.dev", "v1alpha1", namespace, "apiproducts"
            )["items"],
            *cluster.custom.list_namespaced_custom_object("apiportal.dev", "v1alpha1", namespace, "plans")[
                "items"
            ],
        ]
        ready = [
            i
            for i in items
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (i.get("status") or {}).get("conditions", [])
            )
        ]
        return len(ready) == 2 * count

    wait_for(all_ready, what=f"{2 * count} products and plans Ready", timeout=120, interval=1.0)

    def settled() -> bool:
        # Until every object's last reconcile is done, single GETs may still show up; wait them out:
        # steady means a whole 3 s window (more than one resync of 2 s) with nothing but policy lists.
        control.clear_requests()
        time.sleep(3)
        return all(r["path"] == admin.policies_path for r in admin.requests(control))

    wait_for(settled, what="steady state", timeout=90, interval=0)
    control.clear_requests()
    # A measurement window, not a wait: what the operator sends to Tyk during several resync
    # intervals of 2 s once nothing changes.
    time.sleep(7)
    requests = admin.requests(control)
    lists = [r for r in requests if r["method"] == "GET" and r["path"] == admin.policies_path]
    writes = [r for r in requests if r["method"] in ("POST", "PUT", "DELETE")]
    reloads = [r for r in requests if r["path"].startswith("/tyk/reload")]
    others = [r for r in requests if r not in lists]
    assert writes == []
    assert reloads == []  # a Gateway is reloaded only after a write
    assert others == [], others[:5]
    assert 2 <= len(lists) <= 5, len(lists)
