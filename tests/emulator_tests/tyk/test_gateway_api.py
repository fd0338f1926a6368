"""The open-source Gateway's management API (``/tyk/*``) as the emulator serves it.

Each behaviour is the Gateway's own (gateway-swagger.yml; TykTechnologies/tyk gateway/api.go,
server.go, cert.go; API-NOTES.md Part B), and answers are validated against the Gateway OpenAPI
document where it has a schema for them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.emulators.tyk import TykControl, TykEmulator
from tests.emulators.tyk.gateway_api import add_gateway_api_routes

from .conftest import API_KEY, GATEWAY_SECRET, ORG, plan_policy, product_policy, seed_shop
from .openapi import gateway_spec, validate_gateway

pytestmark = pytest.mark.emulator

KEY = "k-2b9d7c4e6f1a3b5c7d9e0f1a2b3c4d5e"
PEM = b"""-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVGb3JUZXN0czAKBggqhkjOPQQDAjAP
MQ0wCwYDVQQDDAR0ZXN0MB4XDTI1MDEwMTAwMDAwMFoXDTM1MDEwMTAwMDAwMFow
-----END CERTIFICATE-----
"""
POLICY_LIST: dict[str, Any] = {"type": "array", "items": {"$ref": "#/components/schemas/Policy"}}


def reload_now(gwapi: httpx.Client) -> None:
    r = gwapi.get("/tyk/reload", params={"block": "true"})
    assert r.status_code == 200 and r.json() == {"status": "ok", "message": ""}


def shop(gwapi: httpx.Client, control: TykControl) -> None:
    """Seeded APIs plus a product and a plan policy written as files and loaded."""
    seed_shop(control)
    assert (
        gwapi.post("/tyk/policies", json=product_policy("prod.orders", "orders", "orders-api")).status_code
        == 200
    )
    assert (
        gwapi.post("/tyk/policies", json=plan_policy("plan.gold", "gold", 100, 60, 1000)).status_code == 200
    )
    reload_now(gwapi)


def eventually(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def data_plane(emu: TykEmulator, key: str, path: str = "/orders/items") -> int:
    return httpx.get(f"{emu.gateway_url}{path}", headers={"Authorization": key}).status_code


# --- routes and auth ----------------------------------------------------------------------------


def test_every_emulated_route_is_in_the_gateway_spec() -> None:
    from aiohttp import web

    app = web.Application()
    add_gateway_api_routes(app)
    documented = set(gateway_spec()["paths"])
    emulated = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method == "*" or path.endswith("/"):
            continue  # the catch-all answering 405, and the trailing-slash alias of /tyk/reload
        # our placeholder names -> the spec's (the spec names them per path, not consistently)
        emulated.add((route.method.lower(), re.sub(r"\{[^}]+\}", "{}", path)))
    spec_ops = {
        (method, re.sub(r"\{[^}]+\}", "{}", path))
        for path in documented
        for method in gateway_spec()["paths"][path]
        if method in ("get", "post", "put", "delete")
    }
    # POST/PUT/DELETE on /tyk/policies without an id are routed (the Gateway answers them) but
    # only documented with the id, as is POST /tyk/policies/{id}.
    undocumented = emulated - spec_ops
    assert undocumented <= {
        ("put", "/tyk/policies"),
        ("delete", "/tyk/policies"),
        ("post", "/tyk/policies/{}"),
    }, undocumented


def test_bad_or_missing_secret_is_403_lower_case(emu: TykEmulator, gwapi: httpx.Client) -> None:
    expected = {"status": "error", "message": "Attempted administrative access with invalid or missing key!"}
    for headers in ({}, {"x-tyk-authorization": "wrong"}, {"x-tyk-authorization": API_KEY}):
        r = httpx.get(f"{emu.gateway_url}/tyk/policies", headers=headers)
        assert r.status_code == 403
        assert r.json() == expected
        validate_gateway(r.json(), "ApiStatusMessage")
    # The Dashboard's header is not the Gateway's.
    assert (
        httpx.get(f"{emu.gateway_url}/tyk/keys", headers={"Authorization": GATEWAY_SECRET}).status_code == 403
    )
    assert gwapi.get("/tyk/policies").status_code == 200
    assert httpx.get(f"{emu.gateway_url}/hello").status_code == 200  # health needs no secret


def test_injected_errors_on_the_gateway_api_have_its_body(control: TykControl, gwapi: httpx.Client) -> None:
    control.fault("error", status=503, match="/tyk/policies", target="gateway", times=1, message="down")
    r = gwapi.get("/tyk/policies")
    assert r.status_code == 503 and r.json() == {"status": "error", "message": "down"}
    assert gwapi.get("/tyk/policies").status_code == 200
    assert control.count("GET", "/tyk/policies", server="gateway") == 2


# --- policies -----------------------------------------------------------------------------------


def test_policy_writes_are_files_invisible_until_a_reload(
    emu: TykEmulator, gwapi: httpx.Client, control: TykControl
) -> None:
    seed_shop(control)
    policy = product_policy("prod.orders", "orders", "orders-api")
    r = gwapi.post("/tyk/policies", json=policy)
    assert r.status_code == 200
    assert r.json() == {"key": "prod.orders", "status": "ok", "action": "added"}
    validate_gateway(r.json(), "ApiModifyKeySuccess")
    # Written, not loaded: neither the API nor the data plane knows it yet.
    assert gwapi.get("/tyk/policies").json() == []
    missing = gwapi.get("/tyk/policies/prod.orders")
    assert missing.status_code == 404 and missing.json() == {"status": "error", "message": "Policy not found"}
    create = gwapi.post(f"/tyk/keys/{KEY}", json={"org_id": ORG, "apply_policies": ["prod.orders"]})
    assert create.status_code == 500
    assert create.json()["message"] == "Failed to create key, ensure security settings are correct."

    reload_now(gwapi)
    listed = gwapi.get("/tyk/policies").json()
    validate_gateway(listed, POLICY_LIST)
    assert [p["id"] for p in listed] == ["prod.orders"]
    got = gwapi.get("/tyk/policies/prod.orders").json()
    validate_gateway(got, "Policy")
    assert got["access_rights"]["orders-api"]["api_id"] == "orders-api"
    assert control.state()["gateway"]["reloads"] == 1


def test_group_and_plain_reloads_are_queued_block_true_waits(
    gwapi: httpx.Client, control: TykControl
) -> None:
    control.config(reload_delay=0.5)
    gwapi.post("/tyk/policies", json=plan_policy("plan.a", "a", 1, 1, 1))
    r = gwapi.get("/tyk/reload/group")
    assert r.status_code == 200 and r.json() == {"status": "ok", "message": ""}
    validate_gateway(r.json(), "ApiStatusMessage")
    assert gwapi.get("/tyk/policies/plan.a").status_code == 404  # accepted, not done yet
    assert eventually(lambda: gwapi.get("/tyk/policies/plan.a").status_code == 200)

    gwapi.put("/tyk/policies/plan.a", json=plan_policy("plan.a", "a", 7, 1, 1))
    gwapi.get("/tyk/reload")
    gwapi.get("/tyk/reload/group")  # one queued reload covers both
    assert gwapi.get("/tyk/policies/plan.a").json()["rate"] == 1
    assert eventually(lambda: gwapi.get("/tyk/policies/plan.a").json()["rate"] == 7)
    assert control.state()["gateway"]["reloads"] == 2


def test_policy_update_and_delete(gwapi: httpx.Client, control: TykControl) -> None:
    gwapi.post("/tyk/policies", json=plan_policy("plan.b", "b", 1, 1, 1))
    r = gwapi.put("/tyk/policies/plan.b", json=plan_policy("plan.b", "b", 5, 1, 1))
    assert r.json() == {"key": "plan.b", "status": "ok", "action": "modified"}
    mismatch = gwapi.put("/tyk/policies/plan.b", json=plan_policy("plan.c", "c", 5, 1, 1))
    assert mismatch.status_code == 400
    assert mismatch.json()["message"] == (
        "Request ID does not match that in policy! For Update operations these must match."
    )
    reload_now(gwapi)
    assert gwapi.get("/tyk/policies/plan.b").json()["rate"] == 5

    deleted = gwapi.delete("/tyk/policies/plan.b")
    assert deleted.json() == {"key": "plan.b", "status": "ok", "action": "deleted"}
    validate_gateway(deleted.json(), "ApiModifyKeySuccess")
    assert gwapi.get("/tyk/policies/plan.b").status_code == 200  # still loaded until a reload
    again = gwapi.delete("/tyk/policies/plan.b")  # the file is gone: the Gateway's 500, not a 404
    assert again.status_code == 500 and again.json() == {"status": "error", "message": "Delete failed"}
    reload_now(gwapi)
    assert gwapi.get("/tyk/policies/plan.b").status_code == 404
    never = gwapi.delete("/tyk/policies/never-there")
    assert never.status_code == 500 and never.json()["message"] == "Delete failed"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "no id"}, "Unable to create policy without id."),
        ({"id": "bad id/with slash"}, "Invalid Policy ID: Allowed characters: a-z, A-Z, 0-9, ., _, -, ~"),
        ({"id": "p.float", "quota_max": 2.5}, "Request malformed"),
        ({"id": "p.kind", "tags": "not-a-list"}, "Request malformed"),
        ({"id": 42}, "Request malformed"),
    ],
)
def test_policy_bodies_the_gateway_refuses(gwapi: httpx.Client, body: dict[str, Any], message: str) -> None:
    r = gwapi.post("/tyk/policies", json=body)
    assert r.status_code == 400
    assert r.json() == {"status": "error", "message": message}
    assert gwapi.post("/tyk/policies", content=b"{not json").json()["message"] == "Request malformed"


def test_policy_without_id_takes_its_object_id(gwapi: httpx.Client) -> None:
    r = gwapi.post("/tyk/policies", json={"_id": "5ead7120575961000181867e", "name": "legacy"})
    assert r.json()["key"] == "5ead7120575961000181867e"
    reload_now(gwapi)
    assert gwapi.get("/tyk/policies/5ead7120575961000181867e").json()["name"] == "legacy"


def test_policy_source_service_refuses_policy_writes(gwapi: httpx.Client, control: TykControl) -> None:
    control.config(policy_source="service")
    refused = {
        "status": "error",
        "message": "Due to enabled service policy source, please use the Dashboard API",
    }
    for method, path in (("POST", "/tyk/policies"), ("PUT", "/tyk/policies/p.x")):
        r = gwapi.request(method, path, json=plan_policy("p.x", "x", 1, 1, 1))
        assert r.status_code == 500 and r.json() == refused
    # The check comes first: a body that would be refused anyway still gets this answer.
    assert gwapi.put("/tyk/policies/p.x", json={"id": "p.other"}).json() == refused
    assert gwapi.get("/tyk/policies").status_code == 200
    assert gwapi.delete("/tyk/policies/p.x").json()["message"] == "Delete failed"


def test_policy_list_includes_what_a_dashboard_published(
    gwapi: httpx.Client, dash: httpx.Client, control: TykControl
) -> None:
    """[choice] one emulator, one data plane: the Gateway loads the Dashboard's active policies too."""
    dash.post("/api/portal/policies", json=plan_policy("dash.plan", "dash", 1, 1, 1))
    assert [p["id"] for p in gwapi.get("/tyk/policies").json()] == ["dash.plan"]


# --- keys ---------------------------------------------------------------------------------------


def test_custom_key_create_read_by_token_org_or_hash(
    emu: TykEmulator, gwapi: httpx.Client, control: TykControl
) -> None:
    shop(gwapi, control)
    session = {
        "org_id": ORG,
        "alias": "shop/r1",
        "apply_policies": ["prod.orders", "plan.gold"],
        "access_rights": {},
    }
    r = gwapi.post(f"/tyk/keys/{KEY}", json=session)
    assert r.status_code == 200
    body = r.json()
    validate_gateway(body, "ApiModifyKeySuccess")
    assert body["action"] == "added" and body["status"] == "ok"
    token, key_hash = body["key"], body["key_hash"]
    assert token.startswith("eyJ") and KEY not in token  # the id wrapped in a token naming the org

    # The raw id needs the org (the Gateway rebuilds the token from it); the token does not.
    not_found = gwapi.get(f"/tyk/keys/{KEY}")
    assert not_found.status_code == 404 and not_found.json() == {
        "status": "error",
        "message": "Key not found",
    }
    by_raw = gwapi.get(f"/tyk/keys/{KEY}", params={"org_id": ORG})
    assert by_raw.status_code == 200
    validate_gateway(by_raw.json(), "SessionState")
    got = by_raw.json()
    assert got["apply_policies"] == ["prod.orders", "plan.gold"]
    assert set(got["access_rights"]) == {"orders-api"}  # applied from the loaded policies
    assert (got["rate"], got["per"], got["quota_max"]) == (100, 60, 1000)
    assert gwapi.get(f"/tyk/keys/{token}").json()["alias"] == "shop/r1"
    assert gwapi.get(f"/tyk/keys/{key_hash}", params={"hashed": "true"}).status_code == 200
    assert gwapi.get(f"/tyk/keys/{key_hash}", params={"hashed": "1"}).status_code == 200  # any value
    # The data plane takes the raw id.
    assert data_plane(emu, KEY) == 200


def test_key_overwrite_update_expiry_and_delete(
    emu: TykEmulator, gwapi: httpx.Client, control: TykControl
) -> None:
    shop(gwapi, control)
    session = {"org_id": ORG, "apply_policies": ["prod.orders", "plan.gold"]}
    gwapi.post(f"/tyk/keys/{KEY}", json=session)
    # POST of an existing id overwrites it (no existence check on the Gateway).
    again = gwapi.post(f"/tyk/keys/{KEY}", json={**session, "alias": "second"})
    assert again.status_code == 200 and again.json()["action"] == "added"
    assert gwapi.get(f"/tyk/keys/{KEY}", params={"org_id": ORG}).json()["alias"] == "second"

    missing = gwapi.put("/tyk/keys/nope-nope-nope", json=session)
    assert missing.status_code == 404 and missing.json()["message"] == "Key is not found"
    updated = gwapi.put(
        f"/tyk/keys/{KEY}", params={"suppress_reset": "1"}, json={**session, "alias": "third"}
    )
    assert updated.json()["action"] == "modified"
    assert gwapi.get(f"/tyk/keys/{KEY}", params={"org_id": ORG}).json()["alias"] == "third"

    # An expiry in the past is replaced by the original one, except 1 (what suspension sends).
    gwapi.put(f"/tyk/keys/{KEY}", json={**session, "expires": int(time.time()) - 100})
    assert gwapi.get(f"/tyk/keys/{KEY}", params={"org_id": ORG}).json().get("expires", 0) == 0
    assert data_plane(emu, KEY) == 200
    gwapi.put(f"/tyk/keys/{KEY}", json={**session, "expires": 1})
    assert gwapi.get(f"/tyk/keys/{KEY}", params={"org_id": ORG}).json()["expires"] == 1
    assert data_plane(emu, KEY) == 403

    gone = gwapi.delete(f"/tyk/keys/{KEY}")  # without the org the raw id is not found
    assert gone.status_code == 404 and gone.json()["message"] == "There is no such key found"
    deleted = gwapi.delete(f"/tyk/keys/{KEY}", params={"org_id": ORG})
    assert deleted.status_code == 200 and deleted.json()["action"] == "deleted"
    assert data_plane(emu, KEY) == 403


def test_key_with_a_policy_that_is_not_loaded_is_refused(gwapi: httpx.Client, control: TykControl) -> None:
    shop(gwapi, control)
    r = gwapi.post(f"/tyk/keys/{KEY}", json={"org_id": ORG, "apply_policies": ["nope"]})
    assert r.status_code == 500
    assert r.json() == {
        "status": "error",
        "message": "Failed to create key, ensure security settings are correct.",
    }
    malformed = gwapi.post(f"/tyk/keys/{KEY}", json={"org_id": ORG, "expires": 1.5})
    assert malformed.status_code == 400 and malformed.json()["message"] == "Request malformed"


def test_key_listing_and_hashing_switches(gwapi: httpx.Client, control: TykControl) -> None:
    shop(gwapi, control)
    created = gwapi.post(f"/tyk/keys/{KEY}", json={"org_id": ORG, "apply_policies": ["prod.orders"]}).json()
    listed = gwapi.get("/tyk/keys")
    validate_gateway(listed.json(), "ApiAllKeys")
    assert listed.json() == {"keys": [created["key_hash"]]}

    control.config(enable_hashed_keys_listing=False)
    refused = gwapi.get("/tyk/keys")
    assert refused.status_code == 404
    assert (
        refused.json()["message"] == "Hashed key listing is disabled in config (enable_hashed_keys_listing)"
    )

    control.config(hash_keys=False)
    plain = gwapi.post(
        "/tyk/keys/plain-key-0123456789", json={"org_id": ORG, "apply_policies": ["prod.orders"]}
    )
    assert plain.json()["key"] == "plain-key-0123456789" and "key_hash" not in plain.json()
    assert "plain-key-0123456789" in gwapi.get("/tyk/keys").json()["keys"]
    by_hash = gwapi.get("/tyk/keys/whatever", params={"hashed": "true"})
    assert by_hash.status_code == 400
    assert by_hash.json()["message"] == "Key requested by hash but key hashing is not enabled"


def test_generated_keys_and_policy_change_by_hash(
    emu: TykEmulator, gwapi: httpx.Client, control: TykControl
) -> None:
    shop(gwapi, control)
    created = gwapi.post("/tyk/keys/create", json={"org_id": ORG, "apply_policies": ["prod.orders"]})
    assert created.status_code == 200
    body = created.json()
    assert body["key"].startswith("eyJ") and body["key_hash"]
    assert data_plane(emu, body["key"]) == 200
    no_access = gwapi.post("/tyk/keys/create", json={"org_id": ORG, "apply_policies": ["plan.gold"]})
    assert no_access.status_code == 400
    assert (
        no_access.json()["message"]
        == "Failed to create key, keys must have at least one Access Rights record set."
    )

    changed = gwapi.post(f"/tyk/keys/policy/{body['key_hash']}", json={"apply_policies": ["plan.gold"]})
    assert changed.json() == {"key": body["key"], "status": "ok", "action": "updated"}
    assert data_plane(emu, body["key"]) == 403  # the plan alone grants no API
    unknown = gwapi.post("/tyk/keys/policy/feedfeed", json={"apply_policies": []})
    assert unknown.status_code == 404 and unknown.json()["message"] == "Key not found"


def test_deleting_a_loaded_policy_reaches_keys_only_after_the_reload(
    emu: TykEmulator, gwapi: httpx.Client, control: TykControl
) -> None:
    shop(gwapi, control)
    gwapi.post(f"/tyk/keys/{KEY}", json={"org_id": ORG, "apply_policies": ["prod.orders", "plan.gold"]})
    assert data_plane(emu, KEY) == 200
    gwapi.delete("/tyk/policies/prod.orders")
    assert data_plane(emu, KEY) == 200
    reload_now(gwapi)
    assert data_plane(emu, KEY) == 403


# --- APIs ---------------------------------------------------------------------------------------


def test_api_definitions_change_on_reload(emu: TykEmulator, gwapi: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    listed = gwapi.get("/tyk/apis").json()
    assert sorted(a["api_id"] for a in listed) == ["orders-api", "payments-api"]
    assert gwapi.get("/tyk/apis/orders-api").json()["proxy"]["listen_path"] == "/orders/"
    assert gwapi.get("/tyk/apis/nope").json() == {"status": "error", "message": "API not found"}

    new = {
        "api_id": "inventory-api",
        "name": "inventory",
        "use_standard_auth": True,
        "proxy": {"listen_path": "/inventory/"},
    }
    r = gwapi.post("/tyk/apis", json=new)
    assert r.json() == {"key": "inventory-api", "status": "ok", "action": "added"}
    assert gwapi.get("/tyk/apis/inventory-api").status_code == 404
    mismatch = gwapi.put("/tyk/apis/orders-api", json={"api_id": "other"})
    assert mismatch.status_code == 400
    assert gwapi.delete("/tyk/apis/payments-api").json()["action"] == "deleted"
    assert gwapi.delete("/tyk/apis/payments-api").json() == {"status": "error", "message": "Delete failed"}
    assert gwapi.get("/tyk/apis/payments-api").status_code == 200  # still loaded
    reload_now(gwapi)
    assert sorted(a["api_id"] for a in gwapi.get("/tyk/apis").json()) == ["inventory-api", "orders-api"]
    assert httpx.get(f"{emu.gateway_url}/payments/x", headers={"Authorization": "k"}).status_code == 404


# --- OAuth clients ------------------------------------------------------------------------------


def test_oauth_clients(gwapi: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    control.seed_api(api_id="oauth-api", name="oauthed", use_oauth2=True, proxy={"listen_path": "/oauthed/"})
    gwapi.post("/tyk/policies", json=product_policy("prod.oauth", "oauth", "oauth-api"))
    reload_now(gwapi)

    not_oauth = gwapi.post(
        "/tyk/oauth/clients/create", json={"api_id": "orders-api", "redirect_uri": "https://a"}
    )
    assert not_oauth.status_code == 400 and not_oauth.json()["message"] == "API is not OAuth2"
    no_api = gwapi.post("/tyk/oauth/clients/create", json={"api_id": "nope"})
    assert no_api.status_code == 400 and no_api.json()["message"] == "API doesn't exist"
    no_policy = gwapi.post("/tyk/oauth/clients/create", json={"policy_id": "nope"})
    assert no_policy.status_code == 400 and no_policy.json()["message"] == "Policy doesn't exist"

    created = gwapi.post(
        "/tyk/oauth/clients/create",
        json={
            "api_id": "oauth-api",
            "redirect_uri": "https://app/cb",
            "policy_id": "prod.oauth",
            "meta_data": {"team": "a"},
        },
    )
    assert created.status_code == 200
    client = created.json()
    validate_gateway(client, "NewClientRequest")
    assert client["redirect_uri"] == "https://app/cb" and client["secret"] and "api_id" not in client
    # Without api_id, every OAuth API the policy grants gets the client.
    by_policy = gwapi.post(
        "/tyk/oauth/clients/create", json={"policy_id": "prod.oauth", "client_id": "fixed"}
    )
    assert by_policy.json()["client_id"] == "fixed"

    listed = gwapi.get("/tyk/oauth/clients/oauth-api").json()
    validate_gateway(listed, {"type": "array", "items": {"$ref": "#/components/schemas/NewClientRequest"}})
    assert sorted(c["client_id"] for c in listed) == sorted([client["client_id"], "fixed"])
    assert gwapi.get("/tyk/oauth/clients/orders-api").json() == []
    assert gwapi.get("/tyk/oauth/clients/nope").json() == {
        "status": "error",
        "message": "OAuth client not found",
    }
    one = gwapi.get(f"/tyk/oauth/clients/oauth-api/{client['client_id']}")
    assert one.json() == client
    assert gwapi.get("/tyk/oauth/clients/oauth-api/nope").json()["message"] == "OAuth Client ID not found"

    wrong_policy = gwapi.put(
        f"/tyk/oauth/clients/oauth-api/{client['client_id']}", json={"policy_id": "plan.none"}
    )
    assert wrong_policy.status_code == 404 and wrong_policy.json()["message"] == "Policy doesn't exist"
    gwapi.post("/tyk/policies", json=plan_policy("plan.other", "other", 1, 1, 1))
    reload_now(gwapi)
    other = gwapi.put(f"/tyk/oauth/clients/oauth-api/{client['client_id']}", json={"policy_id": "plan.other"})
    assert other.status_code == 400
    assert other.json()["message"] == "Policy access rights doesn't contain API this OAuth client belongs to"
    updated = gwapi.put(
        f"/tyk/oauth/clients/oauth-api/{client['client_id']}",
        json={"policy_id": "prod.oauth", "redirect_uri": "https://app/new", "description": "d"},
    ).json()
    assert updated["redirect_uri"] == "https://app/new" and updated["secret"] == client["secret"]
    rotated = gwapi.put(f"/tyk/oauth/clients/oauth-api/{client['client_id']}/rotate").json()
    assert rotated["secret"] != client["secret"] and rotated["client_id"] == client["client_id"]
    assert gwapi.get(f"/tyk/oauth/clients/oauth-api/{client['client_id']}/tokens").json() == []

    deleted = gwapi.delete(f"/tyk/oauth/clients/oauth-api/{client['client_id']}")
    assert deleted.json() == {"key": client["client_id"], "status": "ok", "action": "deleted"}
    assert gwapi.get(f"/tyk/oauth/clients/oauth-api/{client['client_id']}").status_code == 404
    assert gwapi.delete("/tyk/oauth/clients/orders-api/x").json()["message"] == "OAuth Client ID not found"


# --- certificates -------------------------------------------------------------------------------


def test_certificates_raw_pem_body(gwapi: httpx.Client) -> None:
    r = gwapi.post("/tyk/certs", params={"org_id": ORG}, content=PEM, headers={"Content-Type": "text/plain"})
    assert r.status_code == 200
    body = r.json()
    validate_gateway(body, "APICertificateStatusMessage")
    assert body["status"] == "ok" and body["message"] == "Certificate added" and body["id"].startswith(ORG)
    duplicate = gwapi.post("/tyk/certs", params={"org_id": ORG}, content=PEM)
    assert duplicate.status_code == 403
    assert duplicate.json()["message"] == f"Certificate with {body['id']} id already exists"
    assert gwapi.post("/tyk/certs", content=b"not a certificate").status_code == 403

    listed = gwapi.get("/tyk/certs", params={"org_id": ORG}).json()
    validate_gateway(listed, "APIAllCertificates")
    assert listed == {"certs": [body["id"]]}
    detailed = gwapi.get("/tyk/certs", params={"mode": "detailed"}).json()
    assert [c["id"] for c in detailed["certs"]] == [body["id"]]
    meta = gwapi.get(f"/tyk/certs/{body['id']}").json()
    validate_gateway(meta, "CertsCertificateMeta")
    assert meta["fingerprint"] == body["id"][len(ORG) :] and meta["has_private"] is False
    assert gwapi.get("/tyk/certs/nope").json() == {
        "status": "error",
        "message": "Certificate with given SHA256 fingerprint not found",
    }
    assert gwapi.get(f"/tyk/certs/{body['id']},nope").json() == [meta, None]
    assert gwapi.delete(f"/tyk/certs/{body['id']}").json() == {"status": "ok", "message": "removed"}
    assert gwapi.delete("/tyk/certs/nope").json() == {"status": "ok", "message": "removed"}
    assert gwapi.get("/tyk/certs").json() == {"certs": []}
