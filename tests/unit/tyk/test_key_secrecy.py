"""The custom key id is the credential: it must never reach errors, logs or the metrics hook."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tyk_portal_operator.tyk import DashboardClient, KeyRecord, TykError

from .conftest import BASE_URL, Script, dashboard_error, ok_json

__all__: list[str] = []

SESSION: dict[str, Any] = {"apply_policies": ["dev.plan.shop.gold"]}


def key_ids() -> list[str]:
    return ["pk_" + secrets.token_urlsafe(32), "pk/" + secrets.token_hex(8) + "+x y=" + secrets.token_hex(8)]


def echoing_failures(key_id: str) -> list[Callable[[httpx.Request], httpx.Response] | Exception]:
    wrapped = base64.b64encode(json.dumps({"org": "o", "id": key_id, "h": "murmur64"}).encode()).decode()

    def echo_url(status: int) -> Callable[[httpx.Request], httpx.Response]:
        return lambda request: dashboard_error(status, f"Failed on {request.url}")

    return [
        lambda request: dashboard_error(500, f'Failed to create key - bad key "{key_id}"'),
        lambda request: dashboard_error(400, f"Key {quote(key_id, safe='')} is invalid"),
        lambda request: ok_json({"Status": "Error", "Message": "x", "key_id": key_id, "key": wrapped}, 400),
        lambda request: httpx.Response(503, text=f"upstream failed for {key_id}"),
        echo_url(502),
        echo_url(404),
        lambda request: httpx.Response(200, text=f"not json {key_id}"),
        httpx.ConnectError(f"cannot connect for {BASE_URL}/api/keys/{quote(key_id, safe='')} ({key_id})"),
        httpx.ReadTimeout(f"read timeout {key_id}"),
    ]


def assert_hidden(key_id: str, text: str) -> None:
    assert key_id not in text
    assert quote(key_id, safe="") not in text
    assert quote(key_id) not in text


@pytest.mark.parametrize("key_index", [0, 1])
async def test_key_id_never_leaks_from_errors_logs_or_hook(
    key_index: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key_id = key_ids()[key_index]
    hook_calls: list[tuple[str, int | None, float]] = []
    operations: list[Callable[[DashboardClient], Any]] = [
        lambda c: c.create_key(key_id, SESSION),
        lambda c: c.get_key(key_id),
        lambda c: c.update_key(key_id, SESSION),
        lambda c: c.delete_key(key_id),
    ]
    raised = 0
    for failure in echoing_failures(key_id):
        for operation in operations:
            script = Script(failure)
            client = DashboardClient(
                BASE_URL,
                "api-key",
                transport=script.transport,
                retries=1,
                on_request=lambda e, s, t: hook_calls.append((e, s, t)),
            )
            try:
                await operation(client)
            except TykError as exc:
                raised += 1
                assert_hidden(key_id, str(exc))
                assert_hidden(key_id, repr(exc))
                assert_hidden(key_id, exc.tyk_message)
                assert_hidden(key_id, "".join(traceback.format_exception(exc)))
                assert exc.endpoint.endswith("/api/keys/{id}")
            finally:
                await client.aclose()

    assert raised >= 30  # nearly every combination fails (404 on get/delete is a normal answer)
    assert hook_calls and all(endpoint.endswith("/api/keys/{id}") for endpoint, _, _ in hook_calls)
    messages = [record.getMessage() for record in caplog.records]
    assert any("Tyk request" in message for message in messages)
    # httpx logs every request URL at INFO; the adapter's filter must have rewritten it.
    httpx_lines = [m for r, m in zip(caplog.records, messages, strict=True) if r.name == "httpx"]
    assert httpx_lines and all("/api/keys/{id}" in line for line in httpx_lines)
    assert_hidden(key_id, caplog.text)
    assert_hidden(key_id, "\n".join(messages))


async def test_successful_key_calls_do_not_log_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key_id = key_ids()[0]
    script = Script(ok_json({"key_id": key_id, "key_hash": "h1", "data": SESSION}))
    async with DashboardClient(BASE_URL, "api-key", transport=script.transport) as client:
        record = await client.create_key(key_id, SESSION)
        await client.get_key(key_id)
        await client.update_key(key_id, SESSION)
        await client.delete_key(key_id)

    assert record.key_id == key_id
    assert_hidden(key_id, caplog.text)
    assert_hidden(key_id, repr(record))
    assert_hidden(key_id, str(record))
    assert_hidden(key_id, f"{record}")


def test_key_record_repr_is_safe() -> None:
    record = KeyRecord(key_hash="41c5cb1e", key_id="super-secret-key")

    assert repr(record) == "KeyRecord(key_hash='41c5cb1e', key_id=<redacted>)"
    assert "super-secret-key" not in str(record)
    assert "super-secret-key" not in str([record])
