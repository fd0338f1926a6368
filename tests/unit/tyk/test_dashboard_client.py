"""DashboardClient against MockTransport handlers that answer like a real Tyk Dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tyk_portal_operator.tyk import (
    DashboardClient,
    KeyRecord,
    TykAuthError,
    TykBackend,
    TykConflict,
    TykInfo,
    TykNotFound,
    TykRejected,
    TykUnavailable,
)

from .conftest import BASE_URL, Script, dashboard_error, ok_json

__all__: list[str] = []

API_KEY = "dashboard-user-secret"
ORG = "5e9d9544a1dcd60001d0ed20"
PRODUCT_POLICY: dict[str, Any] = {
    "id": "dev.apiproduct.shop.orders",
    "name": "[k8s] shop/orders",
    "active": True,
    "partitions": {"acl": True, "rate_limit": False, "quota": False, "complexity": False, "per_api": False},
    "access_rights": {
        "a1": {"api_id": "a1", "api_name": "Orders", "versions": ["Default"], "allowed_urls": []}
    },
}
SESSION: dict[str, Any] = {
    "apply_policies": ["dev.apiproduct.shop.orders", "dev.plan.shop.gold"],
    "expires": 0,
}

Factory = Callable[..., DashboardClient]


@pytest.fixture
async def make_client() -> AsyncIterator[Factory]:
    clients: list[DashboardClient] = []

    def factory(script: Script, **kwargs: Any) -> DashboardClient:
        kwargs.setdefault("org_id", ORG)
        client = DashboardClient(BASE_URL, API_KEY, transport=script.transport, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


def api_item(api_id: str, **definition: Any) -> dict[str, Any]:
    return {"api_definition": {"api_id": api_id, **definition}, "api_model": {}, "categories": []}


# --- happy paths ------------------------------------------------------------------------------


async def test_check_sends_raw_authorization_and_reads_one_page(make_client: Factory) -> None:
    script = Script(ok_json({"Data": [], "Pages": 0}))
    client = make_client(script)

    info = await client.check()

    assert info == TykInfo(backend="dashboard", version=None)
    assert script.calls == ["GET /api/portal/policies?p=1"]
    assert script.requests[0].headers["Authorization"] == API_KEY


async def test_list_apis_reads_envelope_and_derives_fields(make_client: Factory) -> None:
    apis = {
        "apis": [
            api_item(
                "a1",
                name="Orders",
                slug="orders",
                proxy={"listen_path": "/orders/"},
                tags=["edge"],
                use_standard_auth=True,
                active=True,
                version_data={"not_versioned": True, "versions": {"Default": {}, "v2": {}}},
            ),
            api_item("a2", name="Open", use_keyless=True, use_standard_auth=True, active=False),
            api_item("a3", name="Mixed", use_standard_auth=True, use_mutual_tls_auth=True),
            api_item("a4", name="Jwt", enable_jwt=True),
        ],
        "pages": 1,
    }
    script = Script(ok_json(apis))
    client = make_client(script)

    result = await client.list_apis()

    assert script.calls == ["GET /api/apis?p=-1"]
    assert [(a.api_id, a.auth_type, a.active) for a in result] == [
        ("a1", "authToken", True),
        ("a2", "keyless", False),
        ("a3", "multiple", True),
        ("a4", "jwt", True),
    ]
    first = result[0]
    assert (first.name, first.slug, first.listen_path, first.tags, first.versions) == (
        "Orders",
        "orders",
        "/orders/",
        ["edge"],
        ["Default", "v2"],
    )


async def test_list_apis_reads_how_jwt_apis_validate_tokens(make_client: Factory) -> None:
    shared = "c2hhcmVkLWhtYWMtc2VjcmV0"  # a central jwt_source may be an HMAC secret: never kept
    apis = {
        "apis": [
            api_item("j1", name="Maps", enable_jwt=True, jwt_signing_method="ecdsa"),
            api_item("j2", name="Orders", enable_jwt=True, jwt_signing_method="rsa", jwt_source=shared),
            api_item("j3", name="Cards", enable_jwt=True, jwt_skip_kid=True),
            api_item("t1", name="Token", use_standard_auth=True, jwt_signing_method="rsa", jwt_skip_kid=True),
        ],
        "pages": 1,
    }
    result = await make_client(Script(ok_json(apis))).list_apis()

    assert [(a.api_id, a.jwt_signing_method, a.jwt_central, a.jwt_skip_kid) for a in result] == [
        ("j1", "ecdsa", False, False),
        ("j2", "rsa", True, False),
        ("j3", None, False, True),
        ("t1", None, False, False),  # JWT settings of an API that does not use JWT are ignored
    ]
    assert shared not in repr(result) and shared not in str([a.model_dump() for a in result])


async def test_list_policies_reads_capitalised_envelope(make_client: Factory) -> None:
    script = Script(ok_json({"Data": [PRODUCT_POLICY], "Pages": 1}))
    client = make_client(script)

    assert await client.list_policies() == [PRODUCT_POLICY]
    assert script.calls == ["GET /api/portal/policies?p=-1"]


async def test_get_policy_found_and_missing(make_client: Factory) -> None:
    script = Script(ok_json(PRODUCT_POLICY), dashboard_error(404, "Could not retrieve portal object."))
    client = make_client(script)

    assert await client.get_policy("dev.apiproduct.shop.orders") == PRODUCT_POLICY
    assert await client.get_policy("dev.apiproduct.shop.gone") is None
    assert script.calls == [
        "GET /api/portal/policies/dev.apiproduct.shop.orders",
        "GET /api/portal/policies/dev.apiproduct.shop.gone",
    ]


async def test_create_policy_returns_underscore_id_and_sets_org(make_client: Factory) -> None:
    script = Script(ok_json({"Status": "OK", "Message": "66570989d98dd00001da17f1", "Meta": None}))
    client = make_client(script)

    assert await client.create_policy(PRODUCT_POLICY) == "66570989d98dd00001da17f1"
    assert script.calls == ["POST /api/portal/policies"]
    assert script.body() == {**PRODUCT_POLICY, "org_id": ORG}
    assert "org_id" not in PRODUCT_POLICY  # the caller's dict is not mutated


async def test_update_policy_puts_full_body(make_client: Factory) -> None:
    script = Script(ok_json({"Status": "OK", "Message": "Data updated", "Meta": None}))
    client = make_client(script)

    await client.update_policy("dev.apiproduct.shop.orders", PRODUCT_POLICY)

    assert script.calls == ["PUT /api/portal/policies/dev.apiproduct.shop.orders"]
    assert script.body() == {**PRODUCT_POLICY, "org_id": ORG}


async def test_delete_policy_deleted_and_already_gone(make_client: Factory) -> None:
    script = Script(
        ok_json({"Status": "OK", "Message": "Data deleted", "Meta": None}),
        dashboard_error(404, "Could not retrieve object for deletion"),
    )
    client = make_client(script)

    assert await client.delete_policy("p.1") is True
    assert await client.delete_policy("p.1") is False
    assert script.calls == ["DELETE /api/portal/policies/p.1"] * 2


async def test_create_key_posts_custom_id_and_returns_record(make_client: Factory) -> None:
    answer = {"key_id": "eyJvcmciOiJvIiwiaWQiOiJ4In0=", "key_hash": "41c5cb1e", "data": SESSION}
    script = Script(ok_json(answer))
    client = make_client(script)

    record = await client.create_key("custom-key-1", SESSION)

    assert record == KeyRecord(key_hash="41c5cb1e", key_id="eyJvcmciOiJvIiwiaWQiOiJ4In0=")
    assert script.calls == ["POST /api/keys/custom-key-1"]
    assert script.body()["apply_policies"] == ["dev.apiproduct.shop.orders", "dev.plan.shop.gold"]
    assert script.body()["org_id"] == ORG


async def test_create_key_without_returned_id_falls_back_to_sent_id(make_client: Factory) -> None:
    script = Script(ok_json({"data": SESSION}))
    client = make_client(script)

    assert await client.create_key("custom-key-1", SESSION) == KeyRecord(key_hash=None, key_id="custom-key-1")


async def test_key_ids_are_percent_encoded_as_one_segment(make_client: Factory) -> None:
    script = Script(ok_json({"key_id": "x", "key_hash": "h"}))
    client = make_client(script)

    await client.create_key("a/b c?d#e%", SESSION)

    assert script.calls == ["POST /api/keys/a%2Fb%20c%3Fd%23e%25"]


@pytest.mark.parametrize("bad_id", ["", ".", ".."])
async def test_ids_that_would_change_the_endpoint_are_refused(make_client: Factory, bad_id: str) -> None:
    script = Script(ok_json({}))
    client = make_client(script)

    with pytest.raises(ValueError):
        await client.delete_key(bad_id)
    assert script.requests == []


async def test_get_key_returns_session_or_none(make_client: Factory) -> None:
    script = Script(
        ok_json({"key_id": "k", "key_hash": "h", "data": SESSION, "api_model": {}}),
        dashboard_error(404, "Could not retrieve key detail."),
    )
    client = make_client(script)

    assert await client.get_key("k1") == SESSION
    assert await client.get_key("k2") is None


async def test_update_key_puts_with_suppress_reset(make_client: Factory) -> None:
    script = Script(ok_json({"key_id": "k", "key_hash": "h", "data": SESSION}))
    client = make_client(script)

    await client.update_key("k1", SESSION)

    assert script.calls == ["PUT /api/keys/k1?suppress_reset=1"]
    assert script.body() == {**SESSION, "org_id": ORG}


async def test_delete_key_deleted_and_already_gone(make_client: Factory) -> None:
    script = Script(
        ok_json({"Status": "OK", "Message": "Key deleted successfully.", "Meta": None}),
        dashboard_error(404, "Could not retrieve key detail."),
    )
    client = make_client(script)

    assert await client.delete_key("k1") is True
    assert await client.delete_key("k1") is False


async def test_client_satisfies_the_port_and_hides_api_key(make_client: Factory) -> None:
    client = make_client(Script(ok_json({})))

    assert isinstance(client, TykBackend)
    assert API_KEY not in repr(client)


async def test_async_context_manager_closes() -> None:
    async with DashboardClient(
        BASE_URL, API_KEY, transport=Script(ok_json({"Data": []})).transport
    ) as client:
        await client.check()
    with pytest.raises(RuntimeError):
        await client.check()


# --- error mapping through the client ---------------------------------------------------------


async def test_401_is_auth_error(make_client: Factory) -> None:
    client = make_client(Script(dashboard_error(401, "Not authorised")))

    with pytest.raises(TykAuthError) as caught:
        await client.check()
    assert (caught.value.status_code, caught.value.endpoint) == (401, "GET /api/portal/policies")


async def test_403_access_denied_with_double_space_is_auth_error(make_client: Factory) -> None:
    message = "access denied: You do not have permission to access  /api/portal/policies"
    script = Script(dashboard_error(403, message))
    client = make_client(script)

    with pytest.raises(TykAuthError):
        await client.list_policies()
    assert len(script.requests) == 1


async def test_403_malformed_body_is_rejected_not_auth(make_client: Factory) -> None:
    client = make_client(Script(dashboard_error(403, "Request body malformed.")))

    with pytest.raises(TykRejected) as caught:
        await client.update_policy("p.1", {"rate": 1.5})
    assert not isinstance(caught.value, TykAuthError)
    assert caught.value.tyk_message == "Request body malformed."


async def test_400_duplicate_name_is_conflict(make_client: Factory) -> None:
    msg = "This policy name has already been used. Enter a unique policy name."
    script = Script(dashboard_error(400, msg))
    client = make_client(script)

    with pytest.raises(TykConflict) as caught:
        await client.create_policy(PRODUCT_POLICY)
    assert isinstance(caught.value, TykRejected)
    assert caught.value.endpoint == "POST /api/portal/policies"
    assert len(script.requests) == 1


async def test_update_missing_policy_is_not_found(make_client: Factory) -> None:
    client = make_client(Script(dashboard_error(404, "Could not retrieve portal object.")))

    with pytest.raises(TykNotFound):
        await client.update_policy("p.1", PRODUCT_POLICY)


async def test_update_missing_key_is_not_found(make_client: Factory) -> None:
    client = make_client(Script(dashboard_error(404, "Could not retrieve key detail.")))

    with pytest.raises(TykNotFound) as caught:
        await client.update_key("k1", SESSION)
    assert caught.value.endpoint == "PUT /api/keys/{id}"


async def test_create_key_with_missing_policy_is_rejected_without_retry(make_client: Factory) -> None:
    script = Script(dashboard_error(500, 'Failed to create key - policy not found: "dev.plan.shop.gold"'))
    client = make_client(script)

    with pytest.raises(TykRejected) as caught:
        await client.create_key("k1", SESSION)
    assert caught.value.status_code == 500
    assert "dev.plan.shop.gold" in caught.value.tyk_message
    assert len(script.requests) == 1


async def test_create_policy_status_error_in_200_is_rejected(make_client: Factory) -> None:
    client = make_client(Script(ok_json({"Status": "Error", "Message": "nope", "Meta": None})))

    with pytest.raises(TykRejected):
        await client.create_policy(PRODUCT_POLICY)


async def test_delete_failed_500_is_gone_after_get_404(make_client: Factory) -> None:
    script = Script(
        dashboard_error(500, "Delete failed"),
        dashboard_error(404, "Could not retrieve portal object."),
    )
    client = make_client(script)

    assert await client.delete_policy("p.1") is False
    assert script.calls == ["DELETE /api/portal/policies/p.1", "GET /api/portal/policies/p.1"]


async def test_delete_failed_500_with_policy_still_there_raises(make_client: Factory) -> None:
    script = Script(dashboard_error(500, "Delete failed"), ok_json(PRODUCT_POLICY))
    client = make_client(script)

    with pytest.raises(TykRejected):
        await client.delete_policy("p.1")
    assert len(script.requests) == 2


# --- retries ----------------------------------------------------------------------------------


async def test_503_is_retried_then_unavailable(make_client: Factory, pauses: list[float]) -> None:
    script = Script(httpx.Response(503, text="Service Unavailable"))
    client = make_client(script, retries=3, backoff=0.2)

    with pytest.raises(TykUnavailable) as caught:
        await client.list_policies()
    assert len(script.requests) == 4
    assert caught.value.status_code == 503
    assert caught.value.transient is True
    assert len(pauses) == 3
    # exponential with jitter in [0.5, 1.0] of 0.2, 0.4, 0.8
    for pause, base in zip(pauses, (0.2, 0.4, 0.8), strict=True):
        assert base * 0.5 <= pause <= base


async def test_transient_5xx_then_success(make_client: Factory) -> None:
    script = Script(
        httpx.Response(502, text="bad gateway"),
        dashboard_error(500, "Failed to marshal data"),
        ok_json({"Data": [PRODUCT_POLICY], "Pages": 1}),
    )
    client = make_client(script)

    assert await client.list_policies() == [PRODUCT_POLICY]
    assert len(script.requests) == 3


async def test_connect_error_is_retried(make_client: Factory) -> None:
    script = Script(httpx.ConnectError("connection refused"), ok_json({"Data": [], "Pages": 0}))
    client = make_client(script)

    assert await client.list_policies() == []
    assert len(script.requests) == 2


async def test_connect_error_exhausted_is_unavailable(make_client: Factory) -> None:
    script = Script(httpx.ConnectError("connection refused"))
    client = make_client(script, retries=2)

    with pytest.raises(TykUnavailable) as caught:
        await client.check()
    assert caught.value.status_code is None
    assert "ConnectError" in caught.value.tyk_message
    assert len(script.requests) == 3


async def test_4xx_is_never_retried(make_client: Factory) -> None:
    script = Script(dashboard_error(400, "Invalid policy ID."))
    client = make_client(script)

    with pytest.raises(TykRejected):
        await client.get_policy("p.1")
    assert len(script.requests) == 1


async def test_policy_create_not_retried_on_ambiguous_failures(make_client: Factory) -> None:
    for failure in (httpx.Response(503, text="unavailable"), httpx.ReadTimeout("timed out")):
        script = Script(failure)
        client = make_client(script)
        with pytest.raises(TykUnavailable):
            await client.create_policy(PRODUCT_POLICY)
        assert len(script.requests) == 1


async def test_policy_create_retried_when_request_never_sent(make_client: Factory) -> None:
    script = Script(httpx.ConnectError("refused"), ok_json({"Status": "OK", "Message": "abc", "Meta": None}))
    client = make_client(script)

    assert await client.create_policy(PRODUCT_POLICY) == "abc"
    assert len(script.requests) == 2


async def test_key_create_is_retried_on_read_timeout(make_client: Factory) -> None:
    script = Script(httpx.ReadTimeout("timed out"), ok_json({"key_id": "k", "key_hash": "h"}))
    client = make_client(script)

    assert (await client.create_key("k1", SESSION)).key_hash == "h"
    assert len(script.requests) == 2


async def test_on_request_hook_sees_every_attempt(make_client: Factory) -> None:
    seen: list[tuple[str, int | None, float]] = []
    script = Script(httpx.ConnectError("refused"), httpx.Response(503), ok_json({"Data": []}))
    client = make_client(script, on_request=lambda e, s, t: seen.append((e, s, t)))

    await client.list_policies()

    assert [(e, s) for e, s, _ in seen] == [
        ("GET /api/portal/policies", None),
        ("GET /api/portal/policies", 503),
        ("GET /api/portal/policies", 200),
    ]
    assert all(t >= 0 for _, _, t in seen)


async def test_failing_hook_does_not_break_the_call(make_client: Factory) -> None:
    def hook(endpoint: str, status: int | None, seconds: float) -> None:
        raise RuntimeError("metrics down")

    client = make_client(Script(ok_json({"Data": []})), on_request=hook)

    assert await client.list_policies() == []


async def test_unexpected_body_is_typed(make_client: Factory) -> None:
    from tyk_portal_operator.tyk import TykUnexpectedResponse

    client = make_client(Script(httpx.Response(200, text="<html>login</html>")))

    with pytest.raises(TykUnexpectedResponse):
        await client.list_policies()


# --- finding a request's keys (a lost Secret) --------------------------------------------------------


def _detailed(*items: tuple[str, str, str]) -> httpx.Response:
    return ok_json(
        {
            "keys": [
                {
                    "key_id": key_id,
                    "key_hash": key_hash,
                    "data": {"meta_data": {"apiportal.dev/request-uid": uid}},
                }
                for key_id, key_hash, uid in items
            ],
            "pages": 1,
        }
    )


async def test_find_keys_without_hashing_returns_the_keys_themselves(make_client: Factory) -> None:
    script = Script(_detailed(("plain-key-1", "", "uid-1"), ("plain-key-2", "", "uid-2")))
    found = await make_client(script).find_keys("apiportal.dev/request-uid", "uid-1")
    assert [(k.key_id, k.key_hash) for k in found or []] == [("plain-key-1", None)]
    assert script.calls == ["GET /api/keys/detailed?p=-1"]
    assert "plain-key-1" not in repr(found)  # a key is credential material


async def test_find_keys_with_hashing_returns_hashes_only(make_client: Factory) -> None:
    script = Script(_detailed(("h1", "h1", "uid-1"), ("h2", "h2", "uid-1"), ("h3", "h3", "uid-3")))
    found = await make_client(script).find_keys("apiportal.dev/request-uid", "uid-1")
    assert [(k.key_id, k.key_hash) for k in found or []] == [(None, "h1"), (None, "h2")]


async def test_find_keys_is_none_where_the_dashboard_cannot_list(make_client: Factory) -> None:
    script = Script(dashboard_error(404, "Could not retrieve keys."))
    assert await make_client(script).find_keys("apiportal.dev/request-uid", "uid-1") is None


async def test_a_key_listing_keeps_of_each_session_only_its_metadata_and_policies(
    make_client: Factory,
) -> None:
    session = {
        "meta_data": {"apiportal.dev/request-uid": "uid-1"},
        "apply_policies": ["p1"],
        "access_rights": {
            "orders-api": {"api_id": "orders-api", "versions": ["Default"], "limit": {"rate": 5}}
        },
        "rate": 5,
    }
    script = Script(ok_json({"keys": [{"key_id": "k1", "key_hash": "h1", "data": session}], "pages": 1}))
    assert await make_client(script).list_key_sessions() == [
        {"meta_data": {"apiportal.dev/request-uid": "uid-1"}, "apply_policies": ["p1"]}
    ]
