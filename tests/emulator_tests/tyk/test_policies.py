from __future__ import annotations

import re

import httpx
import pytest

from tests.emulators.tyk import TykControl, TykEmulator

from .conftest import API_KEY, plan_policy, product_policy
from .openapi import validate

pytestmark = pytest.mark.emulator

HEX24 = re.compile(r"^[0-9a-f]{24}$")
NOT_AUTHORISED = {"Status": "Error", "Message": "Not authorised", "Meta": None}


def create(dash: httpx.Client, body: dict[str, object]) -> str:
    r = dash.post("/api/portal/policies", json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["Message"])


def test_auth_raw_and_bearer_accepted_missing_or_wrong_rejected(emu: TykEmulator) -> None:
    url = f"{emu.url}/api/portal/policies?p=-1"
    assert httpx.get(url, headers={"Authorization": API_KEY}).status_code == 200
    assert httpx.get(url, headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 200
    for headers in ({}, {"Authorization": "wrong"}, {"Authorization": "Bearer wrong"}):
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401
        assert r.json() == NOT_AUTHORISED


def test_create_returns_db_id_in_message_and_sets_server_fields(dash: httpx.Client) -> None:
    r = dash.post(
        "/api/portal/policies", json=product_policy("apiprod.shop.orders", "[k8s] shop/orders", "a1")
    )
    assert r.status_code == 200
    body = r.json()
    validate(body, "ApiResponse")
    assert body["Status"] == "OK" and body["Meta"] is None
    oid = body["Message"]
    assert HEX24.match(oid)

    got = dash.get(f"/api/portal/policies/{oid}")
    assert got.status_code == 200
    pol = got.json()
    validate(pol, "Policy")
    assert pol["_id"] == oid
    assert pol["id"] == "apiprod.shop.orders"
    assert pol["state"] == "active"
    assert pol["org_id"] == "org1"
    assert pol["last_updated"].isdigit()
    assert pol["date_created"]
    assert pol["access_rights"]["a1"]["versions"] == ["Default"]


def test_missing_id_defaults_to_db_id(dash: httpx.Client) -> None:
    body = plan_policy("", "gold", 10, 60, 100)
    del body["id"]
    oid = create(dash, body)
    assert dash.get(f"/api/portal/policies/{oid}").json()["id"] == oid


def test_get_put_delete_by_id_or_db_id(dash: httpx.Client) -> None:
    oid = create(dash, plan_policy("plan.shop.gold", "gold", 10, 60, 100))
    assert dash.get("/api/portal/policies/plan.shop.gold").json()["_id"] == oid

    replacement = plan_policy("plan.shop.gold", "gold", 20, 60, 100)
    r = dash.put("/api/portal/policies/plan.shop.gold", json=replacement)
    assert r.status_code == 200
    assert r.json() == {"Status": "OK", "Message": "Data updated", "Meta": None}
    pol = dash.get(f"/api/portal/policies/{oid}").json()
    assert pol["rate"] == 20
    assert pol["_id"] == oid

    # PUT is a full replace: fields left out are gone
    replacement.pop("meta_data")
    assert dash.put(f"/api/portal/policies/{oid}", json=replacement).status_code == 200
    assert "meta_data" not in dash.get(f"/api/portal/policies/{oid}").json()

    r = dash.delete("/api/portal/policies/plan.shop.gold")
    assert r.json() == {"Status": "OK", "Message": "Data deleted", "Meta": None}
    assert dash.get(f"/api/portal/policies/{oid}").status_code == 404

    oid2 = create(dash, plan_policy("plan.x", "x", 1, 1, 1))
    assert dash.delete(f"/api/portal/policies/{oid2}").status_code == 200


def test_missing_policy_errors(dash: httpx.Client) -> None:
    r = dash.get("/api/portal/policies/nope")
    assert r.status_code == 404
    assert r.json() == {"Status": "Error", "Message": "Could not retrieve portal object.", "Meta": None}
    r = dash.put("/api/portal/policies/nope", json=plan_policy("nope", "n", 1, 1, 1))
    assert r.status_code == 404
    assert r.json()["Message"] == "Could not retrieve portal object."
    r = dash.delete("/api/portal/policies/nope")
    assert r.status_code == 404
    assert r.json()["Message"] == "Could not retrieve object for deletion"


def test_duplicate_name_rejected_duplicate_id_accepted(dash: httpx.Client) -> None:
    create(dash, plan_policy("p1", "same", 1, 1, 1))
    r = dash.post("/api/portal/policies", json=plan_policy("p2", "same", 1, 1, 1))
    assert r.status_code == 400
    assert r.json()["Message"] == "This policy name has already been used. Enter a unique policy name."

    other = create(
        dash, plan_policy("p1", "different", 1, 1, 1)
    )  # duplicate id: the real Dashboard allows it
    listed = dash.get("/api/portal/policies", params={"p": -1}).json()["Data"]
    assert [p["id"] for p in listed] == ["p1", "p1"]
    # renaming onto an existing name is rejected too
    r = dash.put(f"/api/portal/policies/{other}", json=plan_policy("p1", "same", 1, 1, 1))
    assert r.status_code == 400


@pytest.mark.parametrize("bad_id", ["has space", "slash/inside", "plus+", "eq=", "ümlaut"])
def test_policy_id_charset_enforced(dash: httpx.Client, bad_id: str) -> None:
    r = dash.post("/api/portal/policies", json=plan_policy(bad_id, "n", 1, 1, 1))
    assert r.status_code == 400
    assert r.json()["Status"] == "Error"
    assert r.json()["Message"].startswith("Invalid policy ID.")
    oid = create(dash, plan_policy("ok-id_1.2~3", "n", 1, 1, 1))
    r = dash.put(f"/api/portal/policies/{oid}", json=plan_policy(bad_id, "n", 1, 1, 1))
    assert r.status_code == 400


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"name": "x", "quota_max": 1.5}',
        b'{"name": "x", "quota_renewal_rate": 2.592e+06}',
        b'{"name": "x", "key_expires_in": "10"}',
        b'{"name": "x", "active": "yes"}',
        b'{"name": "x", "access_rights": []}',
        b'{"name": 5}',
    ],
)
def test_malformed_body_is_403(dash: httpx.Client, content: bytes) -> None:
    r = dash.post("/api/portal/policies", content=content, headers={"Content-Type": "application/json"})
    assert r.status_code == 403
    assert r.json() == {"Status": "Error", "Message": "Request body malformed.", "Meta": None}


def test_malformed_body_on_put_is_403(dash: httpx.Client) -> None:
    oid = create(dash, plan_policy("p", "n", 1, 1, 1))
    r = dash.put(f"/api/portal/policies/{oid}", json={**plan_policy("p", "n", 1, 1, 1), "quota_max": 2.5})
    assert r.status_code == 403


def test_float_rate_is_fine(dash: httpx.Client) -> None:
    oid = create(dash, plan_policy("p", "n", 1.5, 0.5, 3))
    assert dash.get(f"/api/portal/policies/{oid}").json()["rate"] == 1.5


def test_pagination(dash: httpx.Client) -> None:
    for i in range(12):
        create(dash, plan_policy(f"p{i:02d}", f"name{i:02d}", 1, 1, 1))
    first = dash.get("/api/portal/policies").json()
    validate(first, "ReturnDataStruct")
    assert len(first["Data"]) == 10 and first["Pages"] == 2
    second = dash.get("/api/portal/policies", params={"p": 2}).json()
    assert [p["id"] for p in second["Data"]] == ["p10", "p11"]
    for p in (-1, -2):
        everything = dash.get("/api/portal/policies", params={"p": p}).json()
        assert len(everything["Data"]) == 12 and everything["Pages"] == 2


def test_empty_list(dash: httpx.Client) -> None:
    body = dash.get("/api/portal/policies", params={"p": -1}).json()
    validate(body, "ReturnDataStruct")
    assert body == {"Data": [], "Pages": 0}


def test_search(dash: httpx.Client) -> None:
    oid = create(dash, product_policy("apiprod.a", "[k8s] shop/orders", "orders-api"))
    create(dash, plan_policy("plan.b", "[k8s] shop/gold", 1, 1, 1, state="draft"))
    by_name = dash.get("/api/portal/policies/search", params={"q": "orders", "p": -1}).json()
    assert [p["id"] for p in by_name["Data"]] == ["apiprod.a"]
    by_id = dash.get("/api/portal/policies/search", params={"q": "plan.b"}).json()
    assert [p["id"] for p in by_id["Data"]] == ["plan.b"]
    by_api = dash.get("/api/portal/policies/search", params={"api_id": "orders-api"}).json()
    assert [p["id"] for p in by_api["Data"]] == ["apiprod.a"]
    by_state = dash.get("/api/portal/policies/search", params={"state": "draft"}).json()
    assert [p["id"] for p in by_state["Data"]] == ["plan.b"]
    by_oid = dash.get("/api/portal/policies/search", params={"policy_ids": oid}).json()
    assert [p["_id"] for p in by_oid["Data"]] == [oid]
    r = dash.get("/api/portal/policies/search", params={"policy_ids": "not-hex"})
    assert r.status_code == 400
    assert r.json()["Message"] == "Policy ID is not in hex format."


def test_unknown_api_in_access_rights_is_accepted(dash: httpx.Client, control: TykControl) -> None:
    # [choice] the real Dashboard's check is unverified; the emulator accepts it.
    oid = create(dash, product_policy("apiprod.ghost", "ghost", "no-such-api"))
    assert "no-such-api" in dash.get(f"/api/portal/policies/{oid}").json()["access_rights"]
    assert control.state()["policies"][0]["id"] == "apiprod.ghost"
