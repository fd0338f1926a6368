from __future__ import annotations

import httpx
import pytest

from tests.emulators.tyk import TykControl

from .conftest import plan_policy, product_policy, seed_shop
from .openapi import validate

pytestmark = pytest.mark.emulator

PEM = b"""-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVGb3JUZXN0czAKBggqhkjOPQQDAjAP
MQ0wCwYDVQQDDAR0ZXN0MB4XDTI1MDEwMTAwMDAwMFoXDTM1MDEwMTAwMDAwMFow
-----END CERTIFICATE-----
"""


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


def test_oauth_clients(dash: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    dash.post("/api/portal/policies", json=product_policy("apiprod.o", "o", "orders-api"))
    r = dash.post("/api/apis/oauth/unknown", json={"redirect_uri": "https://x/cb", "policy_id": "apiprod.o"})
    assert r.status_code == 400
    assert r.json()["Message"] == "API Reference not found."
    assert dash.get("/api/apis/oauth/unknown").status_code == 400

    r = dash.post("/api/apis/oauth/orders-api", json={"redirect_uri": "https://x/cb", "policy_id": "nope"})
    assert r.status_code == 500

    r = dash.post(
        "/api/apis/oauth/orders-api",
        json={"redirect_uri": "https://x/cb", "policy_id": "apiprod.o", "meta_data": {"a": "b"}},
    )
    assert r.status_code == 200
    client = r.json()
    validate(client, "OAuthClient")
    assert client["client_id"] and client["secret"] and client["redirect_uri"] == "https://x/cb"
    listed = dash.get("/api/apis/oauth/orders-api").json()
    validate(listed, "OAuthApps")
    assert [c["client_id"] for c in listed["apps"]] == [client["client_id"]]
    assert dash.get(f"/api/apis/oauth/orders-api/{client['client_id']}").json() == client
    r = dash.delete(f"/api/apis/oauth/orders-api/{client['client_id']}")
    assert r.json()["Message"] == "OAuth client deleted successfully."
    r = dash.get(f"/api/apis/oauth/orders-api/{client['client_id']}")
    assert r.status_code == 404
    assert r.json()["Message"] == "Could not retrieve app detail."


def test_certs(dash: httpx.Client) -> None:
    r = dash.post("/api/certs", files={"cert": ("cert.pem", PEM, "application/x-pem-file")})
    assert r.status_code == 200
    body = r.json()
    validate(body, "APICertificateStatusMessage")
    assert body["status"] == "ok" and body["message"] == "Certificate added."
    cert_id = body["id"]
    assert cert_id.startswith("org1") and len(cert_id) == len("org1") + 64

    dup = dash.post("/api/certs", files={"cert": ("cert.pem", PEM, "application/x-pem-file")})
    assert dup.status_code == 404
    assert "already exists" in dup.json()["Message"]

    listed = dash.get("/api/certs", params={"p": -1}).json()
    validate(listed, "CertificateList")
    assert listed["certs"] == [cert_id]
    detail = dash.get(f"/api/certs/{cert_id}").json()
    assert detail["id"] == cert_id and detail["has_private"] is False
    assert dash.delete(f"/api/certs/{cert_id}").json()["status"] == "ok"
    assert dash.get(f"/api/certs/{cert_id}").status_code == 404
    assert dash.delete(f"/api/certs/{cert_id}").status_code == 404


def test_plan_policy_for_oauth_must_exist_by_id(dash: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    dash.post("/api/portal/policies", json=plan_policy("plan.p", "p", 1, 1, 1))
    r = dash.post("/api/apis/oauth/orders-api", json={"redirect_uri": "https://x", "policy_id": "plan.p"})
    assert r.status_code == 200
