"""Mapping of Tyk answers to the adapter's error tree, and message sanitising."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tyk_portal_operator.tyk.errors import (
    MAX_MESSAGE_CHARS,
    TykAuthError,
    TykConflict,
    TykError,
    TykNotFound,
    TykPolicyWritesRefused,
    TykRejected,
    TykUnavailable,
    error_for_response,
    sanitise,
)

from .conftest import dashboard_error, gateway_error

__all__: list[str] = []

ACCESS_DENIED = "access denied: You do not have permission to access  /api/portal/policies"


@pytest.mark.parametrize(
    ("response", "expected", "not_expected"),
    [
        (dashboard_error(401, "Not authorised"), TykAuthError, TykRejected),
        (dashboard_error(403, ACCESS_DENIED), TykAuthError, TykRejected),
        (
            gateway_error(403, "Attempted administrative access with invalid or missing key!"),
            TykAuthError,
            TykRejected,
        ),
        (dashboard_error(403, "Request body malformed."), TykRejected, TykAuthError),
        (
            dashboard_error(400, "This policy name has already been used. Enter a unique policy name."),
            TykConflict,
            TykAuthError,
        ),
        (dashboard_error(400, "Invalid policy ID."), TykRejected, TykConflict),
        (dashboard_error(400, "Attempted access to non-owned key."), TykRejected, TykConflict),
        (dashboard_error(404, "Could not retrieve portal object."), TykNotFound, TykRejected),
        (gateway_error(404, "Policy not found"), TykNotFound, TykRejected),
        (dashboard_error(409, "Found API with the same ID"), TykConflict, TykUnavailable),
        (
            dashboard_error(500, 'Failed to create key - policy not found: "plan.shop.gold"'),
            TykRejected,
            TykUnavailable,
        ),
        (dashboard_error(500, "Could not retrieve policy details."), TykRejected, TykUnavailable),
        (gateway_error(500, "Delete failed"), TykRejected, TykUnavailable),
        (
            gateway_error(500, "Due to enabled service policy source, please use the Dashboard API"),
            TykPolicyWritesRefused,
            TykUnavailable,
        ),
        (dashboard_error(500, "Could not retrieve policy details."), TykRejected, TykPolicyWritesRefused),
        (dashboard_error(500, "Could not delete key."), TykUnavailable, TykRejected),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), TykUnavailable, TykRejected),
        (httpx.Response(503, text="upstream connect error"), TykUnavailable, TykRejected),
        (httpx.Response(429, text="slow down"), TykUnavailable, TykRejected),
    ],
)
def test_error_for_response_picks_the_class(
    response: httpx.Response, expected: type[TykError], not_expected: type[TykError]
) -> None:
    error = error_for_response(response, "GET /api/portal/policies/{id}")

    assert isinstance(error, expected)
    assert not isinstance(error, not_expected)
    assert error.status_code == response.status_code
    assert error.endpoint == "GET /api/portal/policies/{id}"
    assert error.transient is isinstance(error, TykUnavailable)


def test_error_keeps_tyk_message_including_double_space() -> None:
    error = error_for_response(dashboard_error(403, ACCESS_DENIED), "GET /api/portal/policies")

    assert error.tyk_message == "access denied: You do not have permission to access /api/portal/policies"
    assert str(error) == (
        "TykAuthError on GET /api/portal/policies (HTTP 403): "
        "access denied: You do not have permission to access /api/portal/policies"
    )
    assert "TykAuthError(endpoint='GET /api/portal/policies', status_code=403" in repr(error)


def test_non_json_body_is_truncated() -> None:
    error = error_for_response(httpx.Response(502, text="x" * 5000), "GET /api/apis")

    assert len(error.tyk_message) == MAX_MESSAGE_CHARS
    assert error.tyk_message.endswith("\u2026")


def test_sanitise_removes_known_secret_and_its_encodings() -> None:
    secret = "k3y/with space+plus"
    text = f"raw {secret} and encoded k3y%2Fwith%20space%2Bplus"

    cleaned = sanitise(text, [secret])

    assert "k3y" not in cleaned
    assert cleaned.count("<redacted>") == 2


def test_sanitise_removes_token_shapes() -> None:
    token = base64.b64encode(json.dumps({"org": "o1", "id": "abc", "h": "murmur64"}).encode()).decode()
    legacy = "5e9d9544a1dcd60001d0ed20" + "e7f75f9e03534825b7aef9df749582e5"
    text = f'{{"key_id": "whatever", "token": "{token}", "legacy": "{legacy}", "key":"zzz"}}'

    cleaned = sanitise(text)

    for leaked in (token, legacy, "whatever", "zzz"):
        assert leaked not in cleaned
    assert '"key_id": "<redacted>"' in cleaned


def test_sanitise_keeps_policy_ids_readable() -> None:
    message = 'Failed to create key - policy not found: "prod.plan.shop.gold"'

    assert sanitise(message) == message
