"""The adapters' OAuth client calls (Dashboard `/api/apis/oauth/...`, Gateway `/tyk/oauth/clients/...`):
paths, bodies, "already gone" answers, and the client secret kept out of errors."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from tyk_portal_operator.tyk import DashboardClient, GatewayClient, TykRejected

from .conftest import BASE_URL, Script, dashboard_error, gateway_error, ok_json

GW_URL = "http://tyk-gateway:8080"
SECRET = "s3cr3t-" + "x" * 40
CLIENT: dict[str, Any] = {
    "client_id": "apiportal-0123",
    "secret": SECRET,
    "redirect_uri": "http://localhost/unused-client-credentials",
    "policy_id": "oauth.apiportal-0123",
    "meta_data": {"apiportal.dev/request-uid": "u1"},
}


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


async def test_dashboard_registers_reads_and_deletes_a_client() -> None:
    script = Script(
        ok_json(CLIENT),
        ok_json(CLIENT),
        dashboard_error(400, "API Reference not found."),
        dashboard_error(404, "Could not retrieve app detail."),
        ok_json({"Status": "OK", "Message": "OAuth client deleted successfully.", "Meta": None}),
        dashboard_error(404, "Could not retrieve app detail."),
    )
    async with DashboardClient(BASE_URL, "key", transport=script.transport) as client:
        await client.create_oauth_client("billing-api", CLIENT)
        assert await client.get_oauth_client("billing-api", "apiportal-0123") == CLIENT
        assert await client.get_oauth_client("gone-api", "apiportal-0123") is None
        assert await client.get_oauth_client("billing-api", "other") is None
        assert await client.delete_oauth_client("billing-api", "apiportal-0123") is True
        assert await client.delete_oauth_client("billing-api", "apiportal-0123") is False
    assert script.calls == [
        "POST /api/apis/oauth/billing-api",
        "GET /api/apis/oauth/billing-api/apiportal-0123",
        "GET /api/apis/oauth/gone-api/apiportal-0123",
        "GET /api/apis/oauth/billing-api/other",
        "DELETE /api/apis/oauth/billing-api/apiportal-0123",
        "DELETE /api/apis/oauth/billing-api/apiportal-0123",
    ]
    assert (
        body_of(script.requests[0]) == CLIENT
    )  # the operator's id and secret, so a retry makes the same client


async def test_gateway_registers_with_the_api_id_in_the_body() -> None:
    script = Script(
        ok_json(CLIENT),
        gateway_error(404, "OAuth Client ID not found"),
        ok_json({"key": "apiportal-0123", "status": "ok", "action": "deleted"}),
    )
    async with GatewayClient(GW_URL, "secret", transport=script.transport) as client:
        await client.create_oauth_client("billing-api", CLIENT)
        assert await client.get_oauth_client("billing-api", "apiportal-0123") is None
        assert await client.delete_oauth_client("billing-api", "apiportal-0123") is True
    assert script.calls == [
        "POST /tyk/oauth/clients/create",
        "GET /tyk/oauth/clients/billing-api/apiportal-0123",
        "DELETE /tyk/oauth/clients/billing-api/apiportal-0123",
    ]
    assert body_of(script.requests[0]) == {**CLIENT, "api_id": "billing-api"}


async def test_a_refused_registration_never_shows_the_client_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(
        lambda request: dashboard_error(500, f"Could not retrieve policy details. {request.content.decode()}")
    )
    async with DashboardClient(BASE_URL, "key", transport=script.transport) as client:
        with pytest.raises(TykRejected) as refused:
            await client.create_oauth_client("billing-api", CLIENT)
    assert "Could not retrieve policy details." in str(refused.value)
    assert SECRET not in str(refused.value) and SECRET not in repr(refused.value)
    assert SECRET not in caplog.text
