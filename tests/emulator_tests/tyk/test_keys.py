from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from tests.emulators.tyk import TykControl

from .conftest import plan_policy, product_policy, seed_shop
from .openapi import validate

pytestmark = pytest.mark.emulator


@pytest.fixture
def policies(dash: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    for body in (
        product_policy("apiprod.shop.orders", "orders", "orders-api"),
        product_policy("apiprod.shop.payments", "payments", "payments-api"),
        plan_policy("plan.shop.gold", "gold", 100, 60, 100000, key_expires_in=7776000),
        plan_policy("plan.shop.silver", "silver", 10, 60, 1000),
    ):
        assert dash.post("/api/portal/policies", json=body).status_code == 200


def session(*policy_ids: str, **extra: Any) -> dict[str, Any]:
    return {
        "org_id": "org1",
        "alias": "shop/orders-app-1",
        "apply_policies": list(policy_ids),
        "meta_data": {"k8s_namespace": "shop"},
        "tags": ["k8s-operator"],
        **extra,
    }


def test_generated_key_create(dash: httpx.Client, policies: None) -> None:
    r = dash.post("/api/keys", json=session("apiprod.shop.orders", "plan.shop.gold"))
    assert r.status_code == 200, r.text
    body = r.json()
    validate(body, "KeyData")
    assert body["key_id"].startswith("ey")  # token format with hash_key_function
    token = json.loads(base64.b64decode(body["key_id"]))
    assert token["org"] == "org1" and len(token["id"]) == 32
    assert body["key_hash"]
    assert body["api_model"] == {}
    data = body["data"]
    assert data["apply_policies"] == ["apiprod.shop.orders", "plan.shop.gold"]
    assert list(data["access_rights"]) == ["orders-api"]
    assert (data["rate"], data["per"], data["quota_max"]) == (100, 60, 100000)
    assert set(data["tags"]) == {"k8s-operator", "product", "plan"}
    assert data["meta_data"] == {"k8s_namespace": "shop", "plan_tier": "gold"}


def test_custom_id_create_with_hashing(dash: httpx.Client, policies: None) -> None:
    custom = "kAbc_DEF-123456789"
    r = dash.post(f"/api/keys/{custom}", json=session("apiprod.shop.orders", "plan.shop.gold"))
    assert r.status_code == 200
    created = r.json()
    validate(created, "KeyData")
    # returned key_id is the token form wrapping the custom id, never assume key_id == custom
    assert created["key_id"] != custom
    assert json.loads(base64.b64decode(created["key_id"]))["id"] == custom
    key_hash = created["key_hash"]

    got = dash.get(f"/api/keys/{custom}")
    assert got.status_code == 200
    validate(got.json(), "KeyData")
    assert got.json()["key_id"] == key_hash  # later reads expose the hash only
    assert custom not in got.text and created["key_id"] not in got.text
    by_hash = dash.get(f"/api/keys/{key_hash}", params={"hashed": 1})
    assert by_hash.status_code == 200
    assert by_hash.json()["data"]["alias"] == "shop/orders-app-1"

    dup = dash.post(f"/api/keys/{custom}", json=session("apiprod.shop.orders"))
    assert dup.status_code == 400


def test_custom_id_without_hashing(dash: httpx.Client, control: TykControl, policies: None) -> None:
    control.config(hash_keys=False)
    r = dash.post("/api/keys/plain-key-1", json=session("apiprod.shop.orders"))
    assert r.json()["key_id"] == "plain-key-1"
    assert r.json()["key_hash"] == ""  # no hash to address the key by later
    assert dash.get("/api/keys/plain-key-1").json()["key_id"] == "plain-key-1"
    generated = dash.post("/api/keys", json=session("apiprod.shop.orders")).json()["key_id"]
    assert generated.startswith("org1")
    # Without hashing the listing shows each key itself: that is how a key can still be found.
    listed = dash.get("/api/keys/detailed", params={"p": -1}).json()["keys"]
    assert {k["key_id"] for k in listed} == {"plain-key-1", generated}
    assert all(k["key_hash"] == "" for k in listed)


def test_operations_by_hash_are_refused_without_hashing(
    dash: httpx.Client, control: TykControl, policies: None
) -> None:
    """The Gateway answers 400 "Key requested by hash but key hashing is not enabled" to a lookup by
    hash while it does not hash keys (the Gateway OpenAPI's example for GET /tyk/keys/{keyID}); not
    even the key itself passed as its "hash" is found that way."""
    control.config(hash_keys=False)
    dash.post("/api/keys/plain-key-2", json=session("apiprod.shop.orders"))
    for method in ("GET", "PUT", "DELETE"):
        r = dash.request(
            method,
            "/api/keys/plain-key-2",
            params={"hashed": 1},
            json=session("apiprod.shop.orders") if method == "PUT" else None,
        )
        assert r.status_code == 400, method
        assert r.json() == {
            "Status": "Error",
            "Message": "Key requested by hash but key hashing is not enabled",
            "Meta": None,
        }
        validate(r.json(), "ApiResponse")
    assert dash.get("/api/keys/plain-key-2").status_code == 200  # nothing was deleted
    assert dash.delete("/api/keys/plain-key-2").status_code == 200  # by the key itself it works


def test_delete_and_update_by_hash_need_the_dashboard_options(
    dash: httpx.Client, control: TykControl, policies: None
) -> None:
    """`enable_delete_key_by_hash` / `enable_update_key_by_hash` (both false by default in Tyk)."""
    key_hash = dash.post("/api/keys/k-opt", json=session("apiprod.shop.orders")).json()["key_hash"]
    control.config(enable_delete_key_by_hash=False, enable_update_key_by_hash=False)
    assert dash.get(f"/api/keys/{key_hash}", params={"hashed": 1}).status_code == 200  # reads are allowed
    r = dash.delete(f"/api/keys/{key_hash}", params={"hashed": 1})
    assert r.status_code == 400
    assert "enable_delete_key_by_hash" in r.json()["Message"]
    r = dash.put(f"/api/keys/{key_hash}", params={"hashed": 1}, json=session("apiprod.shop.payments"))
    assert r.status_code == 400
    assert "enable_update_key_by_hash" in r.json()["Message"]
    assert list(dash.get("/api/keys/k-opt").json()["data"]["access_rights"]) == ["orders-api"]
    assert dash.delete("/api/keys/k-opt").status_code == 200  # by the key itself it works
    control.config(enable_delete_key_by_hash=True)
    key_hash = dash.post("/api/keys/k-opt2", json=session("apiprod.shop.orders")).json()["key_hash"]
    assert dash.delete(f"/api/keys/{key_hash}", params={"hashed": 1}).status_code == 200


def test_get_missing_key(dash: httpx.Client) -> None:
    r = dash.get("/api/keys/nope")
    assert r.status_code == 404
    assert r.json() == {"Status": "Error", "Message": "Could not retrieve key detail.", "Meta": None}


def test_put_is_full_replace_and_needs_existing_key(dash: httpx.Client, policies: None) -> None:
    dash.post("/api/keys/k1", json=session("apiprod.shop.orders", "plan.shop.gold"))
    replacement = session("apiprod.shop.orders", "apiprod.shop.payments", "plan.shop.silver", alias="renamed")
    del replacement["meta_data"]
    r = dash.put("/api/keys/k1", json=replacement)
    assert r.status_code == 200
    validate(r.json(), "KeyData")
    data = dash.get("/api/keys/k1").json()["data"]
    assert data["alias"] == "renamed"
    assert set(data["access_rights"]) == {"orders-api", "payments-api"}
    assert data["rate"] == 10
    assert data["meta_data"] == {"plan_tier": "silver"}  # the old session meta_data is gone
    assert "expires" not in data  # key_expires_in only applies at creation

    r = dash.put("/api/keys/missing", json=replacement)
    assert r.status_code == 404
    assert r.json()["Message"] == "Could not retrieve key detail."


def test_put_and_delete_by_hash(dash: httpx.Client, policies: None) -> None:
    key_hash = dash.post("/api/keys/k2", json=session("apiprod.shop.orders")).json()["key_hash"]
    r = dash.put(f"/api/keys/{key_hash}", params={"hashed": 1}, json=session("apiprod.shop.payments"))
    assert r.status_code == 200
    assert list(dash.get("/api/keys/k2").json()["data"]["access_rights"]) == ["payments-api"]
    r = dash.delete(f"/api/keys/{key_hash}", params={"hashed": 1})
    assert r.json() == {"Status": "OK", "Message": "Key deleted successfully.", "Meta": None}
    assert dash.get("/api/keys/k2").status_code == 404


def test_delete(dash: httpx.Client, policies: None) -> None:
    dash.post("/api/keys/k3", json=session("apiprod.shop.orders"))
    r = dash.delete("/api/keys/k3")
    assert r.status_code == 200
    assert r.json()["Message"] == "Key deleted successfully."
    assert dash.get("/api/keys/k3").status_code == 404
    assert dash.delete("/api/keys/k3").status_code == 404


def test_single_missing_policy_is_500(dash: httpx.Client, policies: None) -> None:
    r = dash.post("/api/keys/k4", json=session("no-such-policy"))
    assert r.status_code == 500
    assert r.json()["Message"] == 'Failed to create key - policy not found: "no-such-policy"'
    assert dash.get("/api/keys/k4").status_code == 404


def test_inactive_policy_counts_as_missing(dash: httpx.Client, policies: None) -> None:
    body = product_policy("apiprod.off", "off", "orders-api", active=False)
    assert dash.post("/api/portal/policies", json=body).status_code == 200
    r = dash.post("/api/keys/k5", json=session("apiprod.off"))
    assert r.status_code == 500
    assert r.json()["Message"] == 'Failed to create key - policy not found: "apiprod.off"'


def test_policy_referenced_by_id_not_db_id(dash: httpx.Client, policies: None) -> None:
    oid = dash.get("/api/portal/policies/apiprod.shop.orders").json()["_id"]
    r = dash.post("/api/keys/k6", json=session(oid))
    assert r.status_code == 500


def test_several_policies_skip_missing(dash: httpx.Client, policies: None) -> None:
    r = dash.post("/api/keys/k7", json=session("apiprod.shop.orders", "gone", "plan.shop.gold"))
    assert r.status_code == 200
    assert list(r.json()["data"]["access_rights"]) == ["orders-api"]


def test_no_access_rights_is_400(dash: httpx.Client, policies: None) -> None:
    r = dash.post("/api/keys/k8", json=session("plan.shop.gold"))
    assert r.status_code == 400
    assert (
        r.json()["Message"] == "Failed to create key, keys must have at least one Access Rights record set."
    )
    r = dash.post("/api/keys", json={"org_id": "org1"})
    assert r.status_code == 400


def test_key_with_own_access_rights_and_no_policies(dash: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    rights = {"orders-api": {"api_id": "orders-api", "versions": ["Default"]}}
    r = dash.post("/api/keys/raw", json={"access_rights": rights, "rate": 5, "per": 1, "quota_max": -1})
    assert r.status_code == 200
    assert r.json()["data"]["rate"] == 5


def test_most_permissive_plan_wins(dash: httpx.Client, policies: None) -> None:
    r = dash.post("/api/keys/k9", json=session("apiprod.shop.orders", "plan.shop.silver", "plan.shop.gold"))
    data = r.json()["data"]
    assert (data["rate"], data["quota_max"]) == (100, 100000)
    unlimited = plan_policy("plan.unlimited", "unlimited", -1, -1, -1)
    dash.post("/api/portal/policies", json=unlimited)
    r = dash.post("/api/keys/k10", json=session("apiprod.shop.orders", "plan.shop.gold", "plan.unlimited"))
    assert r.json()["data"]["quota_max"] == -1
    assert r.json()["data"]["rate"] == -1


def test_acl_union_across_products(dash: httpx.Client, policies: None) -> None:
    r = dash.post("/api/keys/k11", json=session("apiprod.shop.orders", "apiprod.shop.payments"))
    assert set(r.json()["data"]["access_rights"]) == {"orders-api", "payments-api"}


def test_key_expires_in_only_without_explicit_expires(dash: httpx.Client, policies: None) -> None:
    before = int(time.time())
    data = dash.post("/api/keys/k12", json=session("apiprod.shop.orders", "plan.shop.gold")).json()["data"]
    assert before + 7776000 <= data["expires"] <= int(time.time()) + 7776000
    explicit = before + 3600
    data = dash.post(
        "/api/keys/k13", json=session("apiprod.shop.orders", "plan.shop.gold", expires=explicit)
    ).json()["data"]
    assert data["expires"] == explicit


def test_zero_values_omitted(dash: httpx.Client, policies: None) -> None:
    data = dash.post(
        "/api/keys/k14", json=session("apiprod.shop.orders", is_inactive=False, expires=0)
    ).json()["data"]
    for absent in ("is_inactive", "expires", "quota_renews", "hmac_enabled", "rate"):
        assert absent not in data
    assert dash.get("/api/keys/k14").json()["data"].get("is_inactive") is None


def test_float_for_integer_field_is_403(dash: httpx.Client, policies: None) -> None:
    r = dash.post("/api/keys/k15", json=session("apiprod.shop.orders", quota_max=1.5))
    assert r.status_code == 403
    assert r.json()["Message"] == "Request body malformed."
    r = dash.post("/api/keys/k15", content=b"{", headers={"Content-Type": "application/json"})
    assert r.status_code == 403


def test_draft_policy_blocks_new_keys(dash: httpx.Client, policies: None) -> None:
    body = product_policy("apiprod.draft", "draft", "orders-api", state="draft")
    dash.post("/api/portal/policies", json=body)
    assert dash.post("/api/keys/k16", json=session("apiprod.draft")).status_code == 400


def test_listing(dash: httpx.Client, policies: None) -> None:
    hashes = [
        dash.post(f"/api/keys/list-{i}", json=session("apiprod.shop.orders")).json()["key_hash"]
        for i in range(3)
    ]
    dash.post("/api/keys/list-pay", json=session("apiprod.shop.payments"))
    detailed = dash.get("/api/keys/detailed", params={"p": -1}).json()
    validate(detailed, "KeysDetailed")
    assert detailed["pages"] == 1
    assert [k["key_id"] for k in detailed["keys"]][:3] == hashes
    assert all(k["data"]["apply_policies"] for k in detailed["keys"])

    ids = dash.get("/api/apis/keys", params={"p": -1}).json()
    validate(ids, "Keys")
    assert ids["data"]["keys"][:3] == hashes and len(ids["data"]["keys"]) == 4
    per_api = dash.get("/api/apis/orders-api/keys", params={"p": -1}).json()
    assert per_api["data"]["keys"] == hashes


def test_hashed_listing_can_be_disabled(dash: httpx.Client, control: TykControl, policies: None) -> None:
    control.config(enable_hashed_keys_listing=False)
    assert dash.get("/api/keys/detailed", params={"p": -1}).status_code == 404
    assert dash.get("/api/apis/keys", params={"p": -1}).status_code == 404
