"""Tyk as OAuth 2.0 authorization server: Dashboard clients, the token endpoint, bearer tokens.

Facts from dashboard-swagger.yml (/api/apis/oauth/...), Tyk's OAuth 2.0 docs (token endpoint,
revoke endpoints) and the Gateway's code (oauth_manager.go, mw_oauth2_key_exists.go, osin).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.emulators.tyk import TykControl

from .conftest import plan_policy, product_policy, seed_shop
from .openapi import validate

pytestmark = pytest.mark.emulator

OAUTH_META = {"allowed_access_types": ["client_credentials"], "allowed_authorize_types": []}


def seed_oauth_apis(control: TykControl) -> None:
    seed_shop(control)  # orders-api and payments-api: auth token
    control.seed_apis(
        [
            {
                "api_id": "billing-api",
                "name": "billing",
                "proxy": {"listen_path": "/billing/"},
                "use_oauth2": True,
                "oauth_meta": OAUTH_META,
            },
            {
                "api_id": "reports-api",
                "name": "reports",
                "proxy": {"listen_path": "/reports/"},
                "use_oauth2": True,
                "oauth_meta": OAUTH_META,
            },
            {
                "api_id": "legacy-api",
                "name": "legacy",
                "proxy": {"listen_path": "/legacy/"},
                "use_oauth2": True,
                "oauth_meta": {"allowed_access_types": ["authorization_code"]},
            },
        ]
    )


def oauth_policy(pid: str, *api_ids: str, **extra: Any) -> dict[str, Any]:
    """An ACL + limits policy (not partitioned): what one OAuth client's single policy_id must carry."""
    pol = product_policy(pid, pid, *api_ids, **extra)
    pol["partitions"] = dict.fromkeys(("acl", "rate_limit", "quota", "complexity", "per_api"), False)
    return pol


@pytest.fixture
def client(dash: httpx.Client, control: TykControl) -> dict[str, Any]:
    """A client on billing-api whose policy grants billing-api and orders-api."""
    seed_oauth_apis(control)
    assert dash.post(
        "/api/portal/policies", json=oauth_policy("cred.app1", "billing-api", "orders-api")
    ).is_success
    r = dash.post(
        "/api/apis/oauth/billing-api",
        json={
            "redirect_uri": "https://app.example/cb",
            "policy_id": "cred.app1",
            "meta_data": {"app": "app1"},
        },
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def token_request(
    gw: httpx.Client, client: dict[str, Any], path: str = "/billing/oauth/token", **form: str
) -> httpx.Response:
    data = {"grant_type": "client_credentials", **form}
    return gw.post(path, data=data, auth=(client["client_id"], client["secret"]))


def bearer(gw: httpx.Client, path: str, token: str) -> httpx.Response:
    return gw.get(path, headers={"Authorization": f"Bearer {token}"})


def issue(gw: httpx.Client, client: dict[str, Any]) -> str:
    r = token_request(gw, client)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_client_crud(dash: httpx.Client, control: TykControl) -> None:
    seed_oauth_apis(control)
    dash.post("/api/portal/policies", json=oauth_policy("cred.o", "billing-api"))
    r = dash.post("/api/apis/oauth/unknown", json={"redirect_uri": "https://x/cb", "policy_id": "cred.o"})
    assert (r.status_code, r.json()["Message"]) == (400, "API Reference not found.")
    assert dash.get("/api/apis/oauth/unknown").status_code == 400
    r = dash.post("/api/apis/oauth/billing-api", json={"redirect_uri": "https://x/cb", "policy_id": "nope"})
    assert (r.status_code, r.json()["Message"]) == (500, "Could not retrieve policy details.")
    r = dash.post("/api/apis/oauth/orders-api", json={"redirect_uri": "https://x/cb", "policy_id": "cred.o"})
    assert (r.status_code, r.json()["Message"]) == (400, "API is not OAuth2")
    r = dash.post("/api/apis/oauth/billing-api", content=b"{not json")
    assert (r.status_code, r.json()["Message"]) == (403, "Request body malformed.")

    r = dash.post(
        "/api/apis/oauth/billing-api",
        json={"redirect_uri": "https://x/cb", "policy_id": "cred.o", "meta_data": {"a": "b"}},
    )
    assert r.status_code == 200
    created = r.json()
    validate(created, "OAuthClient")
    assert created["client_id"] and created["secret"] and created["redirect_uri"] == "https://x/cb"
    assert created["policy_id"] == "cred.o" and created["meta_data"] == {"a": "b"}
    listed = dash.get("/api/apis/oauth/billing-api").json()
    validate(listed, "OAuthApps")
    assert [c["client_id"] for c in listed["apps"]] == [created["client_id"]]
    # the internal id of the API is accepted as well as its api_id
    internal = dash.get("/api/apis/billing-api").json()["api_definition"]["id"]
    assert dash.get(f"/api/apis/oauth/{internal}/{created['client_id']}").json() == created

    chosen = dash.post(
        "/api/apis/oauth/billing-api",
        json={
            "redirect_uri": "https://x/cb",
            "policy_id": "cred.o",
            "client_id": "app-7",
            "secret": "s3cret",
        },
    ).json()
    assert (chosen["client_id"], chosen["secret"]) == ("app-7", "s3cret")

    r = dash.delete(f"/api/apis/oauth/billing-api/{created['client_id']}")
    assert r.json() == {"Status": "OK", "Message": "OAuth client deleted successfully.", "Meta": None}
    r = dash.get(f"/api/apis/oauth/billing-api/{created['client_id']}")
    assert (r.status_code, r.json()["Message"]) == (404, "Could not retrieve app detail.")
    assert dash.delete(f"/api/apis/oauth/billing-api/{created['client_id']}").status_code == 404


def test_client_credentials_token_grants_the_policy_apis(gw: httpx.Client, client: dict[str, Any]) -> None:
    r = token_request(gw, client)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["expires_in"] == 3600 and body["token_type"] == "bearer"
    token = body["access_token"]

    r = bearer(gw, "/billing/invoices", token)
    assert r.status_code == 200, r.text
    assert r.json()["api_id"] == "billing-api"
    assert r.json()["policies"] == ["cred.app1"]
    assert r.json()["meta_data"] == {"app": "app1"}  # the client's metadata is merged into the session
    # an auth-token API the policy grants accepts the token too (Tyk's multi-API access)
    assert bearer(gw, "/orders/items", token).status_code == 200
    r = bearer(gw, "/payments/charge", token)
    assert (r.status_code, r.json()) == (403, {"error": "Access to this API has been disallowed"})
    # another OAuth API: the client is not registered there, so the Gateway treats it as revoked
    r = bearer(gw, "/reports/daily", token)
    assert (r.status_code, r.json()) == (
        403,
        {"error": "Key not authorised. OAuth client access was revoked"},
    )
    # each request for a token issues a new one; both work
    assert issue(gw, client) != token
    assert bearer(gw, "/billing/", token).status_code == 200


def test_token_endpoint_refusals(dash: httpx.Client, gw: httpx.Client, client: dict[str, Any]) -> None:
    def error(r: httpx.Response) -> tuple[int, str]:
        return r.status_code, r.json()["error"]

    form = {"grant_type": "client_credentials"}
    assert error(gw.post("/billing/oauth/token", data=form)) == (403, "invalid_request")
    # credentials in the form only: Tyk's OAuth server takes them from HTTP Basic only
    only_form = {**form, "client_id": client["client_id"], "client_secret": client["secret"]}
    assert error(gw.post("/billing/oauth/token", data=only_form)) == (403, "invalid_request")
    assert error(gw.post("/billing/oauth/token", data=form, auth=(client["client_id"], "wrong"))) == (
        403,
        "unauthorized_client",
    )
    assert error(gw.post("/billing/oauth/token", data=form, auth=("nobody", "x"))) == (403, "server_error")
    assert error(token_request(gw, client, grant_type="password")) == (403, "unsupported_grant_type")
    assert error(
        gw.get("/billing/oauth/token", params=form, auth=(client["client_id"], client["secret"]))
    ) == (
        403,
        "invalid_request",
    )
    # the grant must be allowed by the API; the client is unknown on other APIs
    assert error(token_request(gw, client, path="/reports/oauth/token")) == (403, "server_error")
    dash.post("/api/portal/policies", json=oauth_policy("cred.legacy", "legacy-api"))
    legacy = dash.post(
        "/api/apis/oauth/legacy-api", json={"redirect_uri": "https://x/cb", "policy_id": "cred.legacy"}
    ).json()
    assert error(token_request(gw, legacy, path="/legacy/oauth/token")) == (403, "unsupported_grant_type")
    # a client needs a redirect URI and a policy to get tokens
    no_redirect = dash.post("/api/apis/oauth/billing-api", json={"policy_id": "cred.app1"}).json()
    assert error(token_request(gw, no_redirect)) == (403, "unauthorized_client")
    no_policy = dash.post("/api/apis/oauth/billing-api", json={"redirect_uri": "https://x/cb"}).json()
    r = token_request(gw, no_policy)
    assert error(r) == (403, "server_error")
    assert r.json()["error_description"].startswith("The authorization server encountered")


def test_bearer_refusals(dash: httpx.Client, gw: httpx.Client, client: dict[str, Any]) -> None:
    r = gw.get("/billing/")
    assert (r.status_code, r.json()) == (400, {"error": "Authorization field missing"})
    r = gw.get("/billing/", headers={"Authorization": "Token abc"})
    assert (r.status_code, r.json()) == (400, {"error": "Bearer token malformed"})
    r = bearer(gw, "/billing/", "not-a-token")
    assert (r.status_code, r.json()) == (403, {"error": "Key not authorised"})
    # an API key is a session too, but it belongs to no OAuth client
    key = dash.post("/api/keys", json={"apply_policies": ["cred.app1"]}).json()["key_id"]
    assert gw.get("/orders/", headers={"Authorization": key}).status_code == 200
    r = bearer(gw, "/billing/", key)
    assert (r.status_code, r.json()["error"]) == (403, "Key not authorised. OAuth client access was revoked")


def test_deleting_the_client_revokes_its_tokens_on_oauth_apis(
    dash: httpx.Client, gw: httpx.Client, client: dict[str, Any]
) -> None:
    token = issue(gw, client)
    assert dash.delete(f"/api/apis/oauth/billing-api/{client['client_id']}").status_code == 200
    r = bearer(gw, "/billing/", token)
    assert (r.status_code, r.json()["error"]) == (403, "Key not authorised. OAuth client access was revoked")
    # the session itself lives on: an auth-token API does not check the client (Gateway behaviour)
    assert bearer(gw, "/orders/", token).status_code == 200
    assert token_request(gw, client).json()["error"] == "server_error"


def test_inactive_or_deleted_policy_stops_tokens(
    dash: httpx.Client, gw: httpx.Client, client: dict[str, Any]
) -> None:
    token = issue(gw, client)
    off = oauth_policy("cred.app1", "billing-api", "orders-api", active=False)
    assert dash.put("/api/portal/policies/cred.app1", json=off).status_code == 200
    r = bearer(gw, "/billing/", token)
    assert (r.status_code, r.json()["error"]) == (403, "Access to this API has been disallowed")
    assert token_request(gw, client).json()["error"] == "server_error"
    on = oauth_policy("cred.app1", "billing-api", "orders-api")
    assert dash.put("/api/portal/policies/cred.app1", json=on).status_code == 200
    assert bearer(gw, "/billing/", token).status_code == 200
    # is_inactive on the policy deactivates the sessions using it
    dash.put("/api/portal/policies/cred.app1", json={**on, "is_inactive": True})
    assert bearer(gw, "/billing/", token).status_code == 403
    dash.delete("/api/portal/policies/cred.app1")
    assert bearer(gw, "/billing/", token).status_code == 403


def test_policy_limits_apply_to_tokens(dash: httpx.Client, gw: httpx.Client, client: dict[str, Any]) -> None:
    limited = oauth_policy("cred.app1", "billing-api", "orders-api", rate=2, per=60, quota_max=100)
    dash.put("/api/portal/policies/cred.app1", json=limited)
    token = issue(gw, client)
    assert [bearer(gw, "/billing/", token).status_code for _ in range(3)] == [200, 200, 429]
    # counters are per token: a second token of the same client has its own
    assert bearer(gw, "/billing/", issue(gw, client)).status_code == 200
    # a partitioned plan policy cannot be a client's only policy: it grants no API
    dash.post("/api/portal/policies", json=plan_policy("plan.p", "p", 1, 1, 1))
    planned = dash.post(
        "/api/apis/oauth/billing-api", json={"redirect_uri": "https://x/cb", "policy_id": "plan.p"}
    ).json()
    r = bearer(gw, "/billing/", issue(gw, planned))
    assert (r.status_code, r.json()["error"]) == (403, "Access to this API has been disallowed")


def test_token_expiry(control: TykControl, gw: httpx.Client, client: dict[str, Any]) -> None:
    control.config(oauth_token_expire=-1)  # tokens born expired, so no test waits for a clock
    r = token_request(gw, client)
    assert r.json()["expires_in"] == -1
    r = bearer(gw, "/billing/", r.json()["access_token"])
    assert (r.status_code, r.json()["error"]) == (403, "Key has expired, please renew")


def test_token_listing_and_revocation(
    dash: httpx.Client, gw: httpx.Client, control: TykControl, client: dict[str, Any]
) -> None:
    first, second = issue(gw, client), issue(gw, client)
    listed = dash.get(f"/api/apis/oauth/billing-api/{client['client_id']}/tokens").json()
    codes = [t["code"] for t in listed]
    assert len(codes) == 2 and first not in codes and second not in codes  # hashed keys: hashes only
    assert all(isinstance(t["expires"], int) for t in listed)
    control.config(hash_keys=False)
    codes = [t["code"] for t in dash.get(f"/api/apis/oauth/billing-api/{client['client_id']}/tokens").json()]
    assert sorted(codes) == sorted([first, second])
    control.config(hash_keys=True)

    r = dash.post(f"/api/apis/oauth/{client['client_id']}/revoke", json={"token": first})
    assert r.json() == {"Status": "OK", "Message": "token revoked successfully", "Meta": None}
    assert bearer(gw, "/billing/", first).json()["error"] == "Key not authorised"
    assert bearer(gw, "/billing/", second).status_code == 200

    r = dash.post(f"/api/apis/oauth/{client['client_id']}/revoke_all", json={"client_secret": "wrong"})
    assert (r.status_code, r.json()["Message"]) == (401, "client secret is wrong")
    r = dash.post("/api/apis/oauth/nobody/revoke_all", json={"client_secret": "x"})
    assert (r.status_code, r.json()["Message"]) == (404, "oauth client doesn't exist")
    r = dash.post(
        f"/api/apis/oauth/{client['client_id']}/revoke_all", json={"client_secret": client["secret"]}
    )
    assert r.json()["Message"] == "tokens revoked successfully"
    assert bearer(gw, "/billing/", second).json()["error"] == "Key not authorised"
    assert dash.get(f"/api/apis/oauth/billing-api/{client['client_id']}/tokens").json() == []
    assert issue(gw, client)  # the client itself still works
