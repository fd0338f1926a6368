"""GatewayClient against MockTransport handlers that answer like a real OSS Tyk Gateway."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tyk_portal_operator.tyk import (
    GatewayClient,
    KeyRecord,
    TykAuthError,
    TykBackend,
    TykInfo,
    TykNotFound,
    TykPolicyWritesRefused,
    TykRejected,
    TykUnavailable,
)

from .conftest import Script, gateway_error, ok_json

__all__: list[str] = []

GW_URL = "http://tyk-gateway:8080"
SECRET = "gateway-secret"
POLICY: dict[str, Any] = {"id": "dev.plan.shop.gold", "name": "gold", "rate": 100, "per": 60, "active": True}
SESSION: dict[str, Any] = {"apply_policies": ["dev.plan.shop.gold"]}
RELOADED = ok_json({"status": "ok", "message": ""})
ADMIN_DENIED = "Attempted administrative access with invalid or missing key!"
SERVICE_SOURCE = "Due to enabled service policy source, please use the Dashboard API"
# The answer to the write check where policy writes are allowed: refused for the id mismatch.
WRITES_ALLOWED = gateway_error(
    400, "Request ID does not match that in policy! For Update operations these must match."
)
WRITE_CHECK = "PUT /tyk/policies/tyk-portal-operator.write-check"
RELOAD_CALLS = ["GET /tyk/reload?block=true", "GET /tyk/reload/group"]

Factory = Callable[..., GatewayClient]


@pytest.fixture
async def make_client() -> AsyncIterator[Factory]:
    clients: list[GatewayClient] = []

    def factory(script: Script, **kwargs: Any) -> GatewayClient:
        client = GatewayClient(GW_URL, SECRET, transport=script.transport, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


async def test_check_authenticates_and_reads_version(make_client: Factory) -> None:
    hello = {"status": "pass", "version": "v5.8.2", "description": "Tyk GW", "details": {}}
    script = Script(ok_json([POLICY]), WRITES_ALLOWED, ok_json(hello))
    client = make_client(script)

    assert await client.check() == TykInfo(backend="gateway", version="v5.8.2")
    assert script.calls == ["GET /tyk/policies", WRITE_CHECK, "GET /hello"]
    assert script.requests[0].headers["x-tyk-authorization"] == SECRET
    assert "authorization" not in script.requests[0].headers
    # The write check can write nothing: its body names another policy than its path.
    assert script.body(1) == {"id": "tyk-portal-operator.write-check.mismatch"}


async def test_check_without_hello_has_no_version(make_client: Factory) -> None:
    client = make_client(Script(ok_json([]), WRITES_ALLOWED, httpx.Response(404, text="404 page not found")))

    assert await client.check() == TykInfo(backend="gateway", version=None)


async def test_check_finds_a_gateway_whose_policies_come_from_a_dashboard(make_client: Factory) -> None:
    script = Script(ok_json([POLICY]), gateway_error(500, SERVICE_SOURCE))
    client = make_client(script)

    with pytest.raises(TykPolicyWritesRefused) as caught:
        await client.check()
    assert isinstance(caught.value, TykRejected)
    assert script.calls == ["GET /tyk/policies", WRITE_CHECK]  # a refusal, not retried


async def test_check_ignores_other_answers_to_the_write_check(make_client: Factory) -> None:
    script = Script(ok_json([]), httpx.Response(404, text="404 page not found"), ok_json({"version": "v4.3"}))
    client = make_client(script)

    assert await client.check() == TykInfo(backend="gateway", version="v4.3")


async def test_bad_secret_is_auth_error(make_client: Factory) -> None:
    client = make_client(Script(gateway_error(403, ADMIN_DENIED)))

    with pytest.raises(TykAuthError) as caught:
        await client.check()
    assert caught.value.endpoint == "GET /tyk/policies"


async def test_lists_are_bare_arrays(make_client: Factory) -> None:
    api = {"api_id": "a1", "name": "Orders", "proxy": {"listen_path": "/o/"}, "use_standard_auth": True}
    script = Script(ok_json([api]), ok_json([POLICY]))
    client = make_client(script)

    apis = await client.list_apis()
    policies = await client.list_policies()

    assert [(a.api_id, a.listen_path, a.auth_type) for a in apis] == [("a1", "/o/", "authToken")]
    assert policies == [POLICY]
    assert script.calls == ["GET /tyk/apis", "GET /tyk/policies"]


async def test_list_apis_reads_how_jwt_apis_validate_tokens(make_client: Factory) -> None:
    apis = [
        {"api_id": "j1", "name": "Maps", "enable_jwt": True, "jwt_signing_method": "ecdsa"},
        {"api_id": "j2", "name": "Orders", "enable_jwt": True, "jwt_source": "aHR0cHM6Ly9pZHAvandrcw=="},
        {
            "api_id": "j3",
            "name": "Cards",
            "enable_jwt": True,
            "jwt_signing_method": "hmac",
            "jwt_skip_kid": True,
        },
    ]
    result = await make_client(Script(ok_json(apis))).list_apis()

    assert [(a.auth_type, a.jwt_signing_method, a.jwt_central, a.jwt_skip_kid) for a in result] == [
        ("jwt", "ecdsa", False, False),
        ("jwt", None, True, False),
        ("jwt", "hmac", False, True),
    ]


async def test_get_policy_found_and_missing(make_client: Factory) -> None:
    client = make_client(Script(ok_json(POLICY), gateway_error(404, "Policy not found")))

    assert await client.get_policy("dev.plan.shop.gold") == POLICY
    assert await client.get_policy("dev.plan.shop.gone") is None


async def test_policy_writes_reload_this_node_then_the_group(make_client: Factory) -> None:
    script = Script(
        ok_json({"key": "dev.plan.shop.gold", "status": "ok", "action": "added"}),
        RELOADED,
        RELOADED,
        ok_json({"key": "dev.plan.shop.gold", "status": "ok", "action": "modified"}),
        RELOADED,
        RELOADED,
        ok_json({"key": "dev.plan.shop.gold", "status": "ok", "action": "deleted"}),
        RELOADED,
        RELOADED,
    )
    client = make_client(script, org_id="org1")

    assert await client.create_policy(POLICY) == "dev.plan.shop.gold"
    assert script.body(0) == {**POLICY, "org_id": "org1"}
    await client.update_policy("dev.plan.shop.gold", {"name": "gold"})
    assert script.body(3)["id"] == "dev.plan.shop.gold"
    assert await client.delete_policy("dev.plan.shop.gold") is True

    assert script.calls == [
        "POST /tyk/policies",
        *RELOAD_CALLS,
        "PUT /tyk/policies/dev.plan.shop.gold",
        *RELOAD_CALLS,
        "DELETE /tyk/policies/dev.plan.shop.gold",
        *RELOAD_CALLS,
    ]


async def test_create_policy_without_id_is_refused_locally(make_client: Factory) -> None:
    script = Script(ok_json({}))
    client = make_client(script)

    with pytest.raises(ValueError):
        await client.create_policy({"name": "no id"})
    assert script.requests == []


async def test_delete_failed_500_means_gone(make_client: Factory) -> None:
    script = Script(gateway_error(500, "Delete failed"), gateway_error(404, "Policy not found"))
    client = make_client(script)

    assert await client.delete_policy("dev.plan.shop.gone") is False
    assert script.calls == ["DELETE /tyk/policies/dev.plan.shop.gone", "GET /tyk/policies/dev.plan.shop.gone"]


async def test_delete_failed_while_still_loaded_reloads(make_client: Factory) -> None:
    """A delete whose reload never happened (a crash in between): the file is gone but the Gateway
    still has the policy loaded; deleting again reloads instead of leaving it in force."""
    script = Script(gateway_error(500, "Delete failed"), ok_json(POLICY), RELOADED)
    client = make_client(script)

    assert await client.delete_policy("dev.plan.shop.gold") is False
    assert script.calls == [
        "DELETE /tyk/policies/dev.plan.shop.gold",
        "GET /tyk/policies/dev.plan.shop.gold",
        *RELOAD_CALLS,
    ]


async def test_service_policy_source_is_rejected(make_client: Factory) -> None:
    script = Script(gateway_error(500, SERVICE_SOURCE))
    client = make_client(script)

    with pytest.raises(TykPolicyWritesRefused):
        await client.create_policy(POLICY)
    assert len(script.requests) == 1


async def test_key_lifecycle(make_client: Factory) -> None:
    script = Script(
        ok_json({"key": "eyJvcmciOiJvIn0=", "status": "ok", "action": "added", "key_hash": "h1"}),
        ok_json(SESSION),
        ok_json({"key": "eyJvcmciOiJvIn0=", "status": "ok", "action": "modified"}),
        ok_json({"key": "eyJvcmciOiJvIn0=", "status": "ok", "action": "deleted"}),
        gateway_error(404, "There is no such key found"),
    )
    client = make_client(script)

    record = await client.create_key("k/1", SESSION)
    assert record == KeyRecord(key_hash="h1", key_id="eyJvcmciOiJvIn0=")
    assert await client.get_key("k/1") == SESSION
    await client.update_key("k/1", SESSION)
    assert await client.delete_key("k/1") is True
    assert await client.delete_key("k/1") is False
    assert script.calls == [
        "POST /tyk/keys/k%2F1",
        "GET /tyk/keys/k%2F1",
        "PUT /tyk/keys/k%2F1?suppress_reset=1",
        "DELETE /tyk/keys/k%2F1",
        "DELETE /tyk/keys/k%2F1",
    ]


async def test_key_calls_name_the_org_so_the_gateway_finds_a_custom_id(make_client: Factory) -> None:
    """The Gateway stores a custom id under a token naming the org and rebuilds it from ?org_id=."""
    script = Script(
        ok_json(SESSION), ok_json({"status": "ok", "action": "modified"}), ok_json({"action": "deleted"})
    )
    client = make_client(script, org_id="org1")

    await client.get_key("k1")
    await client.update_key("k1", SESSION)
    await client.delete_key("k1")
    assert script.calls == [
        "GET /tyk/keys/k1?org_id=org1",
        "PUT /tyk/keys/k1?org_id=org1&suppress_reset=1",
        "DELETE /tyk/keys/k1?org_id=org1",
    ]


async def test_missing_key(make_client: Factory) -> None:
    client = make_client(Script(gateway_error(404, "Key not found")))

    assert await client.get_key("k1") is None
    with pytest.raises(TykNotFound):
        await client.update_key("k1", SESSION)


async def test_retries_and_secrecy(make_client: Factory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key_id = "gk_" + secrets.token_urlsafe(24)
    script = Script(lambda request: gateway_error(503, f"overloaded {request.url}"))
    client = make_client(script, retries=2)

    with pytest.raises(TykUnavailable) as caught:
        await client.create_key(key_id, SESSION)

    assert len(script.requests) == 3
    for text in (str(caught.value), repr(caught.value), caplog.text):
        assert key_id not in text


async def test_client_satisfies_the_port(make_client: Factory) -> None:
    client = make_client(Script(ok_json([])))

    assert isinstance(client, TykBackend)
    assert SECRET not in repr(client)


# --- finding a request's keys (a lost Secret) --------------------------------------------------------


def _session(uid: str) -> httpx.Response:
    return ok_json({"apply_policies": ["p"], "meta_data": {"apiportal.dev/request-uid": uid}})


async def test_find_keys_without_hashing_reads_each_listed_key(make_client: Factory) -> None:
    hashing_off = gateway_error(400, "Key requested by hash but key hashing is not enabled")
    script = Script(ok_json({"keys": ["key-a", "key-b"]}), hashing_off, _session("uid-1"), _session("uid-2"))
    found = await make_client(script).find_keys("apiportal.dev/request-uid", "uid-1")
    assert [(k.key_id, k.key_hash) for k in found or []] == [("key-a", None)]
    assert script.calls == [
        "GET /tyk/keys",
        "GET /tyk/keys/key-a?hashed=true",
        "GET /tyk/keys/key-a",
        "GET /tyk/keys/key-b",
    ]


async def test_find_keys_with_hashing_reads_by_hash(make_client: Factory) -> None:
    script = Script(
        ok_json({"keys": ["h1", "h2"]}),
        _session("uid-1"),
        _session("uid-1"),
        gateway_error(404, "Key not found"),
    )
    found = await make_client(script).find_keys("apiportal.dev/request-uid", "uid-1")
    assert [(k.key_id, k.key_hash) for k in found or []] == [(None, "h1")]
    assert script.calls[-2:] == ["GET /tyk/keys/h1?hashed=true", "GET /tyk/keys/h2?hashed=true"]


async def test_find_keys_is_none_where_the_gateway_cannot_list(make_client: Factory) -> None:
    script = Script(
        gateway_error(404, "Hashed key listing is disabled in config (enable_hashed_keys_listing)")
    )
    assert await make_client(script).find_keys("apiportal.dev/request-uid", "uid-1") is None
    empty = Script(ok_json({"keys": []}))
    assert await make_client(empty).find_keys("apiportal.dev/request-uid", "uid-1") == []
    assert empty.calls == ["GET /tyk/keys"]


async def test_find_keys_probes_past_a_key_deleted_since_the_listing(make_client: Factory) -> None:
    script = Script(
        ok_json({"keys": ["gone", "key-b"]}),
        gateway_error(404, "Key not found"),  # "gone" was deleted meanwhile: no answer about hashing
        gateway_error(400, "Key requested by hash but key hashing is not enabled"),
        gateway_error(404, "Key not found"),
        _session("uid-1"),
    )
    found = await make_client(script).find_keys("apiportal.dev/request-uid", "uid-1")
    assert [(k.key_id, k.key_hash) for k in found or []] == [("key-b", None)]
    assert script.calls[1:3] == ["GET /tyk/keys/gone?hashed=true", "GET /tyk/keys/key-b?hashed=true"]
