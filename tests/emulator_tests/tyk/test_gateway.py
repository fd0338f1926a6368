from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.emulators.tyk import TykControl

from .conftest import plan_policy, product_policy, seed_shop

pytestmark = pytest.mark.emulator

KEY = "k-7f3a9c2e41d84b6b8e0f5a1c2d3e4f50"


@pytest.fixture
def issued(dash: httpx.Client, control: TykControl) -> dict[str, Any]:
    """A product (orders only) + gold plan key created with a custom id, as the operator does."""
    seed_shop(control)
    dash.post("/api/portal/policies", json=product_policy("apiprod.orders", "orders", "orders-api"))
    dash.post("/api/portal/policies", json=plan_policy("plan.gold", "gold", 100, 60, 100000))
    r = dash.post(
        f"/api/keys/{KEY}", json={"alias": "shop/req-1", "apply_policies": ["apiprod.orders", "plan.gold"]}
    )
    assert r.status_code == 200
    return dict(r.json())


def call(gw: httpx.Client, path: str, key: str | None = KEY) -> httpx.Response:
    return gw.get(path, headers={"Authorization": key} if key is not None else {})


def test_product_plus_plan_key_gets_plan_limits(gw: httpx.Client, issued: dict[str, Any]) -> None:
    r = call(gw, "/orders/items/1")
    assert r.status_code == 200
    body = r.json()
    assert body["api_id"] == "orders-api"
    assert body["key_alias"] == "shop/req-1"
    assert (body["rate"], body["per"], body["quota_max"]) == (100, 60, 100000)
    assert body["policies"] == ["apiprod.orders", "plan.gold"]
    # token form returned at creation and the Bearer prefix are accepted too
    assert call(gw, "/orders/", issued["key_id"]).status_code == 200
    assert call(gw, "/orders", f"Bearer {KEY}").status_code == 200


def test_missing_and_unknown_key(gw: httpx.Client, issued: dict[str, Any]) -> None:
    r = call(gw, "/orders/", None)
    assert r.status_code == 401
    assert r.json() == {"error": "Authorization field missing"}
    r = call(gw, "/orders/", "not-a-key")
    assert r.status_code == 403
    assert r.json() == {"error": "Access to this API has been disallowed"}
    assert call(gw, "/nothing-here/").status_code == 404


def test_api_not_in_acl_is_403(gw: httpx.Client, issued: dict[str, Any]) -> None:
    r = call(gw, "/payments/charge")
    assert r.status_code == 403
    assert r.json() == {"error": "Access to this API has been disallowed"}


def test_acl_evaluated_at_request_time(dash: httpx.Client, gw: httpx.Client, issued: dict[str, Any]) -> None:
    both = product_policy("apiprod.orders", "orders", "orders-api", "payments-api")
    assert dash.put("/api/portal/policies/apiprod.orders", json=both).status_code == 200
    assert call(gw, "/payments/charge").status_code == 200
    faster = plan_policy("plan.gold", "gold", 500, 60, 100000)
    dash.put("/api/portal/policies/plan.gold", json=faster)
    assert call(gw, "/orders/").json()["rate"] == 500
    # product policy deleted: the key is left with the plan only, no ACL -> 403
    dash.delete("/api/portal/policies/apiprod.orders")
    assert call(gw, "/orders/").status_code == 403


def test_deleted_key_is_403(dash: httpx.Client, gw: httpx.Client, issued: dict[str, Any]) -> None:
    assert call(gw, "/orders/").status_code == 200
    dash.delete(f"/api/keys/{KEY}")
    assert call(gw, "/orders/").status_code == 403


def test_expired_key_is_403(dash: httpx.Client, gw: httpx.Client, issued: dict[str, Any]) -> None:
    body = {"alias": "x", "apply_policies": ["apiprod.orders", "plan.gold"], "expires": int(time.time()) - 10}
    assert dash.put(f"/api/keys/{KEY}", json=body).status_code == 200
    assert call(gw, "/orders/").status_code == 403


def test_inactive_policy_or_deny_state_disables_key(
    dash: httpx.Client, gw: httpx.Client, issued: dict[str, Any]
) -> None:
    dash.put(
        "/api/portal/policies/plan.gold", json=plan_policy("plan.gold", "gold", 1, 1, 1, is_inactive=True)
    )
    assert call(gw, "/orders/").status_code == 403
    dash.put(
        "/api/portal/policies/plan.gold", json=plan_policy("plan.gold", "gold", 100, 60, 10, state="deny")
    )
    assert call(gw, "/orders/").status_code == 403
    dash.put("/api/portal/policies/plan.gold", json=plan_policy("plan.gold", "gold", 100, 60, 10))
    assert call(gw, "/orders/").status_code == 200


def test_session_is_inactive_ignored_with_policies(
    dash: httpx.Client, gw: httpx.Client, issued: dict[str, Any]
) -> None:
    body = {"alias": "x", "apply_policies": ["apiprod.orders", "plan.gold"], "is_inactive": True}
    dash.put(f"/api/keys/{KEY}", json=body)
    assert call(gw, "/orders/").status_code == 200


def test_session_is_inactive_without_policies(
    dash: httpx.Client, gw: httpx.Client, control: TykControl
) -> None:
    seed_shop(control)
    rights = {"orders-api": {"api_id": "orders-api", "versions": ["Default"]}}
    dash.post("/api/keys/raw-key", json={"access_rights": rights, "is_inactive": True})
    assert call(gw, "/orders/", "raw-key").status_code == 403


def test_rate_limit_enforced(dash: httpx.Client, gw: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    dash.post("/api/portal/policies", json=product_policy("apiprod.orders", "orders", "orders-api"))
    dash.post("/api/portal/policies", json=plan_policy("plan.tiny", "tiny", 2, 3600, -1))
    dash.post("/api/keys/tiny-key", json={"apply_policies": ["apiprod.orders", "plan.tiny"]})
    assert [call(gw, "/orders/", "tiny-key").status_code for _ in range(3)] == [200, 200, 429]


def test_quota_enforced(dash: httpx.Client, gw: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    dash.post("/api/portal/policies", json=product_policy("apiprod.orders", "orders", "orders-api"))
    dash.post("/api/portal/policies", json=plan_policy("plan.q", "q", -1, -1, 2))
    dash.post("/api/keys/q-key", json={"apply_policies": ["apiprod.orders", "plan.q"]})
    assert [call(gw, "/orders/", "q-key").status_code for _ in range(3)] == [200, 200, 403]


def test_allowed_urls(dash: httpx.Client, gw: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    pol = product_policy("apiprod.ro", "ro", "orders-api")
    pol["access_rights"]["orders-api"]["allowed_urls"] = [{"url": "/items.*", "methods": ["GET"]}]
    dash.post("/api/portal/policies", json=pol)
    dash.post("/api/keys/ro-key", json={"apply_policies": ["apiprod.ro"]})
    assert call(gw, "/orders/items/1", "ro-key").status_code == 200
    assert call(gw, "/orders/admin", "ro-key").status_code == 403
    assert gw.post("/orders/items/1", headers={"Authorization": "ro-key"}).status_code == 403


def test_keyless_api(gw: httpx.Client, control: TykControl) -> None:
    control.seed_api(api_id="open-api", name="open", proxy={"listen_path": "/open/"}, use_keyless=True)
    assert gw.get("/open/anything").status_code == 200


def test_gateway_hello_reports_version(gw: httpx.Client, control: TykControl) -> None:
    body = gw.get("/hello").json()
    assert body["status"] == "pass"
    assert body["version"] == "v5.13.0"
    control.config(version="5.12.1")
    assert gw.get("/hello").json()["version"] == "v5.12.1"
    control.config(version="5.13.0")
