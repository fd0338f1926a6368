from __future__ import annotations

import httpx
import pytest

from tests.emulators.tyk import TykControl

from .conftest import seed_shop
from .openapi import validate

pytestmark = pytest.mark.emulator


def test_seeded_apis_list_get_search(dash: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    body = dash.get("/api/apis", params={"p": -1}).json()
    validate(body, "ApiDefinitionsResponse")
    assert body["pages"] == 1
    assert [a["api_definition"]["api_id"] for a in body["apis"]] == ["orders-api", "payments-api"]
    first = body["apis"][0]
    assert set(first) >= {"api_definition", "api_model", "categories", "created_at"}
    d = first["api_definition"]
    assert d["proxy"]["listen_path"] == "/orders/"
    assert d["tags"] == ["shop"]
    assert d["use_standard_auth"] is True and d["use_keyless"] is False and d["active"] is True
    assert d["org_id"] == "org1"

    by_api_id = dash.get("/api/apis/orders-api")
    validate(by_api_id.json(), "ApiDefinitionWrapper")
    by_db_id = dash.get(f"/api/apis/{d['id']}")
    assert by_api_id.json() == by_db_id.json()

    r = dash.get("/api/apis/nope")
    assert r.status_code == 400
    assert r.json() == {"Status": "Error", "Message": "Could not retrieve API detail", "Meta": None}

    found = dash.get("/api/apis/search", params={"q": "pay"}).json()
    assert [a["api_definition"]["name"] for a in found["apis"]] == ["payments"]


def test_create_api_through_dashboard_api(dash: httpx.Client) -> None:
    definition = {
        "api_id": "inventory-api",
        "name": "inventory",
        "proxy": {"listen_path": "/inventory/", "target_url": "http://inv", "strip_listen_path": True},
        "use_standard_auth": True,
    }
    r = dash.post("/api/apis", json={"api_definition": definition})
    assert r.status_code == 200
    body = r.json()
    validate(body, "ApiResponse")
    assert body["Status"] == "OK" and body["Message"] == "API created" and body["ID"] == "inventory-api"
    assert dash.get("/api/apis/inventory-api").json()["api_definition"]["id"] == body["Meta"]
    assert dash.post("/api/apis", json={"api_definition": definition}).status_code == 409


def test_api_pagination_without_p_is_first_page(dash: httpx.Client, control: TykControl) -> None:
    control.seed_apis([{"api_id": f"api-{i:02d}", "name": f"api{i:02d}"} for i in range(11)])
    assert len(dash.get("/api/apis").json()["apis"]) == 10
    assert len(dash.get("/api/apis", params={"p": -2}).json()["apis"]) == 11
