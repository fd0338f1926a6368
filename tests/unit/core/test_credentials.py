"""Tyk sessions, credential Secrets, durations of rotation and renewal, fingerprints."""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import re
from typing import Any

import pytest

from tyk_portal_operator.core.credentials import (
    credential_fingerprint,
    decode_secret_data,
    expiry_for,
    format_time,
    key_from_entropy,
    key_session,
    label_value,
    merge_session_for_update,
    overlap_seconds,
    parse_time,
    render_secret,
    renew_before_seconds,
    rotation_interval_seconds,
    secret_owned_by,
    session_differs,
    session_ownership,
)
from tyk_portal_operator.models import ConsumerApp, Plan, ProvisioningRequest

UTC = datetime.UTC
T0 = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY = "k" * 64
OLD_KEY = "o" * 64
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _request(name: str = "orders-access", **spec: Any) -> ProvisioningRequest:
    return ProvisioningRequest.model_validate(
        {
            "metadata": {"name": name, "namespace": "team-a", "uid": "uid-r1"},
            "spec": {
                "appRef": {"name": "mobile"},
                "catalogueRef": {"name": "shop", "namespace": "apis"},
                "products": [{"name": "orders", "namespace": "apis"}],
                "planRef": {"name": "gold", "namespace": "apis"},
                **spec,
            },
        }
    )


def _app(**spec: Any) -> ConsumerApp:
    return ConsumerApp.model_validate(
        {"metadata": {"name": "mobile", "namespace": "team-a"}, "spec": {"displayName": "Mobile", **spec}}
    )


# ----- times, keys, fingerprints ------------------------------------------------------------------


def test_time_round_trip() -> None:
    assert format_time(T0) == "2025-03-01T12:00:00Z"
    assert format_time(datetime.datetime(2025, 3, 1, 12, 0, 0)) == "2025-03-01T12:00:00Z"
    cet = datetime.timezone(datetime.timedelta(hours=1))
    assert format_time(datetime.datetime(2025, 3, 1, 13, 0, 0, tzinfo=cet)) == "2025-03-01T12:00:00Z"
    assert parse_time("2025-03-01T12:00:00Z") == T0
    assert parse_time("2025-03-01T13:00:00.5+01:00") == T0 + datetime.timedelta(microseconds=500000)
    assert parse_time(None) is None
    assert parse_time("") is None
    assert parse_time("yesterday") is None


def test_key_from_entropy_requires_256_bits() -> None:
    assert key_from_entropy(bytes(range(32))) == bytes(range(32)).hex()
    assert len(key_from_entropy(b"\xff" * 48)) == 96
    with pytest.raises(ValueError, match="at least 32 random bytes"):
        key_from_entropy(b"\x00" * 31)


def test_fingerprint_is_short_stable_and_not_the_key() -> None:
    fingerprint = credential_fingerprint(KEY)
    assert fingerprint == hashlib.sha256(KEY.encode()).hexdigest()[:12]
    assert len(fingerprint) == 12
    assert KEY not in fingerprint
    assert credential_fingerprint(KEY) != credential_fingerprint(OLD_KEY)


def test_expiry_for() -> None:
    assert expiry_for(None, T0) == 0
    assert expiry_for(0, T0) == 0
    assert expiry_for(-5, T0) == 0
    assert expiry_for(3600, T0) == int(T0.timestamp()) + 3600


# ----- sessions -----------------------------------------------------------------------------------


def test_key_session_body() -> None:
    session = key_session(_request(), ["p.orders", "p.pay"], "p.gold", "org1", 1_800_000_000)
    assert session == {
        "apply_policies": ["p.orders", "p.pay", "p.gold"],
        "alias": "team-a/orders-access",
        "org_id": "org1",
        "expires": 1_800_000_000,
        "meta_data": {
            "apiportal.dev/managed-by": "tyk-portal-operator",
            "apiportal.dev/request": "team-a/orders-access",
            "apiportal.dev/request-uid": "uid-r1",
            "apiportal.dev/app": "mobile",
        },
        "tags": ["managed-by:tyk-portal-operator", "apiportal:credential"],
        "access_rights": {},
        "is_inactive": False,
    }


def test_key_session_without_org_and_never_expiring() -> None:
    session = key_session(_request(), ["p.orders"], "p.gold", None, 0)
    assert "org_id" not in session
    assert session["expires"] == 0


def test_suspended_session_expires_in_the_past_and_is_stable() -> None:
    suspended = key_session(_request(), ["p.orders"], "p.gold", None, 1_800_000_000, suspended=True)
    assert suspended["expires"] == 1
    # Tyk ignores is_inactive with policies, so it is not the suspension mechanism.
    assert suspended["is_inactive"] is False
    assert suspended == key_session(_request(), ["p.orders"], "p.gold", None, 0, suspended=True)


def _as_tyk_returns(session: dict[str, Any]) -> dict[str, Any]:
    """What a Gateway gives back: zero fields omitted, policy meta_data and tags merged in."""
    actual = copy.deepcopy(session)
    actual["meta_data"].update({"apiportal.dev/policy-of": "Plan/apis/gold", "owner": "shop"})
    actual["tags"] = ["apiportal:plan", *actual["tags"], "apiportal:product"]
    actual["access_rights"] = {"a1": {"api_id": "a1"}}
    actual["rate"] = 10
    for field in [k for k, v in actual.items() if v in (0, False)]:
        del actual[field]
    return actual


def test_session_in_sync_despite_tyk_merges_and_omissions() -> None:
    desired = key_session(_request(), ["p.orders"], "p.gold", "org1", 0)
    assert session_differs(desired, _as_tyk_returns(desired)) == []
    assert "expires" not in _as_tyk_returns(desired)
    assert "is_inactive" not in _as_tyk_returns(desired)


def test_session_policy_order_does_not_matter_but_membership_does() -> None:
    desired = key_session(_request(), ["p.a", "p.b"], "p.gold", None, 0)
    actual = {**desired, "apply_policies": ["p.gold", "p.b", "p.a"]}
    assert session_differs(desired, actual) == []
    assert session_differs(desired, {**desired, "apply_policies": ["p.a", "p.gold"]}) == ["apply_policies"]


def test_session_negative_expiry_means_never() -> None:
    desired = key_session(_request(), ["p.a"], "p.gold", None, 0)
    assert session_differs(desired, {**desired, "expires": -1}) == []
    assert session_differs(desired, {**desired, "expires": 5}) == ["expires"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"alias": "someone/else"}, "alias"),
        ({"org_id": "other-org"}, "org_id"),
        ({"expires": 1}, "expires"),
        ({"is_inactive": True}, "is_inactive"),
        ({"tags": ["managed-by:tyk-portal-operator"]}, "tags"),
        ({"meta_data": {"apiportal.dev/managed-by": "tyk-portal-operator"}}, "meta_data"),
        ({"apply_policies": []}, "apply_policies"),
    ],
)
def test_session_drift_in_each_managed_field(change: dict[str, Any], field: str) -> None:
    desired = key_session(_request(), ["p.a"], "p.gold", "org1", 0)
    assert session_differs(desired, {**desired, **change}) == [field]


def test_session_org_not_compared_when_unset() -> None:
    desired = key_session(_request(), ["p.a"], "p.gold", None, 0)
    assert session_differs(desired, {**desired, "org_id": "whatever"}) == []


def test_merge_session_for_update_keeps_tyk_fields_and_merges_marks() -> None:
    desired = key_session(_request(), ["p.a"], "p.gold", None, 0)
    actual = {
        "org_id": "org1",
        "alias": "old",
        "apply_policies": ["p.a"],
        "meta_data": {"from-policy": "x", "apiportal.dev/app": "old-app"},
        "tags": ["extra"],
        "quota_remaining": 7,
    }
    merged = merge_session_for_update(desired, actual)
    assert merged["org_id"] == "org1"
    assert merged["quota_remaining"] == 7
    assert merged["alias"] == "team-a/orders-access"
    assert merged["apply_policies"] == ["p.a", "p.gold"]
    assert merged["meta_data"]["from-policy"] == "x"
    assert merged["meta_data"]["apiportal.dev/app"] == "mobile"
    assert merged["tags"] == ["extra", "managed-by:tyk-portal-operator", "apiportal:credential"]
    assert session_differs(desired, merged) == []


def test_session_ownership() -> None:
    ours = key_session(_request(), ["p.a"], "p.gold", None, 0)
    assert session_ownership(ours, "uid-r1") == "ours"
    assert session_ownership(ours, "uid-other") == "foreign"
    assert (
        session_ownership({"meta_data": {"apiportal.dev/managed-by": "tyk-portal-operator"}}, "u")
        == "unmarked"
    )
    assert session_ownership({}, "u") == "unmarked"


# ----- Secret -------------------------------------------------------------------------------------


def _render(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "secret_name": "orders-access-credentials",
        "data": {"api-key": KEY, "gateway-url": "https://gw.example.com"},
        "annotations": {
            "apiportal.dev/issued-at": format_time(T0),
            "apiportal.dev/key-fingerprint": credential_fingerprint(KEY),
        },
        "products": ["apis/orders"],
        "plan": "apis/gold",
    }
    args.update(overrides)
    request = args.pop("request", _request())
    app = args.pop("app", _app())
    return render_secret(request, app, **args)


def _decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_render_secret_manifest() -> None:
    secret = _render()
    assert secret["apiVersion"] == "v1"
    assert secret["kind"] == "Secret"
    assert secret["type"] == "Opaque"
    assert "stringData" not in secret
    meta = secret["metadata"]
    assert meta["name"] == "orders-access-credentials"
    assert meta["namespace"] == "team-a"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "apiportal.dev/v1alpha1",
            "kind": "ProvisioningRequest",
            "name": "orders-access",
            "uid": "uid-r1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert meta["labels"] == {
        "app.kubernetes.io/managed-by": "tyk-portal-operator",
        "apiportal.dev/app": "mobile",
        "apiportal.dev/request": "orders-access",
        "apiportal.dev/plan": "gold",
        "product.apiportal.dev/orders": "true",
    }
    assert meta["annotations"] == {
        "apiportal.dev/products": "apis/orders",
        "apiportal.dev/plan-ref": "apis/gold",
        "apiportal.dev/issued-at": "2025-03-01T12:00:00Z",
        "apiportal.dev/key-fingerprint": credential_fingerprint(KEY),
    }
    assert _decoded(secret) == {"api-key": KEY, "gateway-url": "https://gw.example.com"}
    # Plain JSON for any client.
    assert json.loads(json.dumps(secret)) == secret


def test_secret_repr_never_shows_key_material() -> None:
    secret = _render(data={"api-key": KEY, "api-key-previous": OLD_KEY})
    encoded = base64.b64encode(KEY.encode()).decode()
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}"):
        assert KEY not in text
        assert OLD_KEY not in text
        assert encoded not in text
        assert "orders-access-credentials" in text
    # Copies stay redacted.
    assert KEY not in repr(copy.deepcopy(secret))
    assert encoded not in repr(copy.deepcopy(secret))


def test_templates_apply_request_wins_and_operator_keys_are_protected() -> None:
    app = _app(
        secretTemplate={
            "labels": {"team": "a", "env": "app-env", "app.kubernetes.io/managed-by": "helm"},
            "annotations": {
                "note": "from-app",
                "apiportal.dev/previous-key-expires-at": "2099-01-01T00:00:00Z",
            },
        }
    )
    request = _request(
        secretTemplate={
            "labels": {
                "env": "request-env",
                "apiportal.dev/app": "spoofed",
                "product.apiportal.dev/x": "true",
            },
            "annotations": {"reloader.stakater.com/match": "true", "sub.apiportal.dev/x": "y"},
        }
    )
    secret = _render(app=app, request=request)
    labels = secret["metadata"]["labels"]
    annotations = secret["metadata"]["annotations"]
    assert labels["team"] == "a"
    assert labels["env"] == "request-env"
    assert labels["app.kubernetes.io/managed-by"] == "tyk-portal-operator"
    assert labels["apiportal.dev/app"] == "mobile"
    assert "product.apiportal.dev/x" not in labels
    assert annotations["note"] == "from-app"
    assert annotations["reloader.stakater.com/match"] == "true"
    assert "apiportal.dev/previous-key-expires-at" not in annotations
    assert "sub.apiportal.dev/x" not in annotations


def test_long_names_become_valid_distinct_label_values() -> None:
    long_a = "a" * 70 + "-x"
    long_b = "a" * 70 + "-y"
    request = ProvisioningRequest.model_validate(
        {
            "metadata": {"name": "r", "namespace": "team-a", "uid": "u"},
            "spec": {
                "appRef": {"name": long_a},
                "catalogueRef": {"name": "c"},
                "products": [{"name": long_a}, {"name": long_b}],
                "planRef": {"name": "p"},
            },
        }
    )
    secret = _render(request=request, products=[f"team-a/{long_a}", f"team-a/{long_b}"])
    labels = secret["metadata"]["labels"]
    for key, value in labels.items():
        assert len(value) <= 63
        assert LABEL_VALUE.match(value)
        assert len(key.split("/", 1)[-1]) <= 63
    product_labels = [k for k in labels if k.startswith("product.apiportal.dev/")]
    assert len(product_labels) == 2
    assert secret["metadata"]["annotations"]["apiportal.dev/products"] == f"team-a/{long_a},team-a/{long_b}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gold", "gold"),
        ("my.plan_v2", "my.plan_v2"),
        ("", ""),
        ("team/plan", "team-plan"),
        ("-edge-", "edge"),
    ],
)
def test_label_value(text: str, expected: str) -> None:
    assert label_value(text) == expected


def test_label_value_hashes_long_text() -> None:
    value = label_value("x" * 100)
    assert len(value) == 63
    assert LABEL_VALUE.match(value)
    assert value != label_value("x" * 101)


def test_secret_owned_by() -> None:
    secret = _render()
    assert secret_owned_by(secret, "uid-r1")
    assert not secret_owned_by(secret, "uid-other")
    assert not secret_owned_by(secret, "")
    assert not secret_owned_by({"metadata": {"name": "x"}}, "uid-r1")


def test_secret_data_round_trip() -> None:
    secret = _render(data={"api-key": KEY, "api-key-previous": OLD_KEY})
    assert decode_secret_data(secret) == {"api-key": KEY, "api-key-previous": OLD_KEY}
    assert decode_secret_data(None) == {}
    assert decode_secret_data({"data": {"api-key": "%%% not base64", "ok": "b2s="}}) == {"ok": "ok"}


# ----- rotation -----------------------------------------------------------------------------------


def test_rotation_settings() -> None:
    assert rotation_interval_seconds(_request()) is None
    assert overlap_seconds(_request()) == 3600
    rotating = _request(rotation={"interval": "30d", "overlap": "2h"})
    assert rotation_interval_seconds(rotating) == 30 * 86400
    assert overlap_seconds(rotating) == 7200
    assert overlap_seconds(_request(rotation={"interval": "1d"})) == 3600


def _plan(**spec: Any) -> Plan:
    return Plan.model_validate(
        {"metadata": {"name": "gold", "namespace": "apis"}, "spec": {"displayName": "Gold", **spec}}
    )


def test_renew_before_follows_cert_manager() -> None:
    assert renew_before_seconds(_plan()) is None  # credentials that never expire are never renewed
    assert renew_before_seconds(_plan(keyExpiry="90d")) == 30 * 86400  # a third of the lifetime
    assert renew_before_seconds(_plan(keyExpiry="90d", renewBefore="7d")) == 7 * 86400
    assert renew_before_seconds(_plan(keyExpiry="90d", renewBefore="0s")) is None  # off
    with pytest.raises(ValueError, match="must be shorter than keyExpiry"):
        renew_before_seconds(_plan(keyExpiry="1d", renewBefore="24h"))
