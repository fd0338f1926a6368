"""Bad input is rejected by the API server itself (OpenAPI + CEL in the CRDs), with a message that
names the field and says what is wrong. Runs against the emulator or a real cluster alike.

Each case: (description, kind, spec, substrings every rejection message must contain).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from tests.sandbox.manifests import KINDS

from .cluster import Cluster
from .conftest import PROVIDER_CLASS, Created, run_name

SECRET_REF = {"namespace": "tyk-portal-system", "name": "tyk-dashboard", "key": "api-key"}
PROVIDER = {"url": "http://tyk-dashboard.tyk.svc:3000", "credentialsSecretRef": SECRET_REF}
PRODUCT = {"displayName": "Orders", "apis": [{"apiID": "orders-api"}]}
PLAN = {"displayName": "Free", "rateLimit": {"requests": 10, "per": "1s"}}
CATALOGUE = {
    "visibility": "Private",
    "audience": {"organisations": ["acme"]},
    "products": [{"name": "orders"}],
    "plans": [{"name": "free"}],
}
APP = {"displayName": "Mobile App"}
REQUEST = {
    "appRef": {"name": "mobile"},
    "catalogueRef": {"name": "acme-internal", "namespace": "shop"},
    "products": [{"name": "orders", "namespace": "shop"}],
    "planRef": {"name": "free", "namespace": "shop"},
}

VALID: list[tuple[str, str, dict[str, Any]]] = [
    ("provider", "TykProvider", {**PROVIDER, "policyIDPrefix": "acme-dev_1", "resyncInterval": "1h30m"}),
    ("product by apiID", "APIProduct", PRODUCT),
    (
        "product by name and by tags",
        "APIProduct",
        {**PRODUCT, "apis": [{"name": "orders"}, {"tags": ["shop"]}]},
    ),
    ("plan with quota", "Plan", {**PLAN, "quota": {"max": 1000, "renewalPeriod": "30d"}}),
    ("plan with unlimited quota", "Plan", {**PLAN, "quota": {"unlimited": True}, "approval": "Manual"}),
    ("plan renewing before expiry", "Plan", {**PLAN, "keyExpiry": "90d", "renewBefore": "7d"}),
    (
        "public catalogue without audience",
        "Catalogue",
        {**CATALOGUE, "visibility": "Public", "audience": None},
    ),
    ("private catalogue", "Catalogue", CATALOGUE),
    ("app", "ConsumerApp", APP),
    (
        "request",
        "ProvisioningRequest",
        {**REQUEST, "secretName": "orders.key", "rotation": {"interval": "30d"}},
    ),
]

INVALID: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
    ("product without apis", "APIProduct", {**PRODUCT, "apis": []}, ("spec.apis", "at least 1")),
    (
        "apis entry with both apiID and name",
        "APIProduct",
        {**PRODUCT, "apis": [{"apiID": "orders-api", "name": "orders"}]},
        ("spec.apis[0]", "set exactly one of apiID, name or tags"),
    ),
    (
        "apis entry with nothing to select",
        "APIProduct",
        {**PRODUCT, "apis": [{"versions": ["v1"]}]},
        ("set exactly one of apiID, name or tags",),
    ),
    (
        "unknown lifecycle",
        "APIProduct",
        {**PRODUCT, "lifecycle": "beta"},
        ("spec.lifecycle", 'Unsupported value: "beta"', '"experimental"'),
    ),
    (
        "quota max without renewalPeriod",
        "Plan",
        {**PLAN, "quota": {"max": 1000}},
        ("spec.quota", "quota needs either max and renewalPeriod, or unlimited: true"),
    ),
    (
        "quota unlimited and max",
        "Plan",
        {**PLAN, "quota": {"unlimited": True, "max": 1000}},
        ("spec.quota", "(not both)"),
    ),
    (
        "duration in words",
        "Plan",
        {**PLAN, "rateLimit": {"requests": 10, "per": "5 minutes"}},
        ("spec.rateLimit.per", '"5 minutes"', "should match"),
    ),
    (
        "unknown approval mode",
        "Plan",
        {**PLAN, "approval": "Sometimes"},
        ("spec.approval", "Unsupported value"),
    ),
    (
        "provider url without scheme",
        "TykProvider",
        {**PROVIDER, "url": "tyk-dashboard.tyk.svc:3000"},
        ("spec.url", '"tyk-dashboard.tyk.svc:3000"', "should match"),
    ),
    (
        "policyIDPrefix with a dot",
        "TykProvider",
        {**PROVIDER, "policyIDPrefix": "acme.dev"},
        ("spec.policyIDPrefix", '"acme.dev"', "should match"),
    ),
    (
        "private catalogue without audience",
        "Catalogue",
        {**CATALOGUE, "audience": None},
        ("a Private catalogue needs an audience",),
    ),
    (
        "plan renewing credentials that never expire",
        "Plan",
        {**PLAN, "renewBefore": "7d"},
        ("renewBefore needs keyExpiry",),
    ),
    (
        "request without products",
        "ProvisioningRequest",
        {**REQUEST, "products": []},
        ("spec.products", "at least 1"),
    ),
    (
        "request for an unknown credential type",
        "ProvisioningRequest",
        {**REQUEST, "credentialType": "Password"},
        ("spec.credentialType", "Unsupported value"),
    ),
    (
        "a consumer's certificate for a credential that is no certificate",
        "ProvisioningRequest",
        {**REQUEST, "credentialType": "JWT", "certificateSecretRef": {"name": "client-tls"}},
        ("certificateSecretRef is allowed only with credentialType: MutualTLS",),
    ),
    (
        "a consumer's certificate rotated on an interval",
        "ProvisioningRequest",
        {
            **REQUEST,
            "credentialType": "MutualTLS",
            "certificateSecretRef": {"name": "client-tls"},
            "rotation": {"interval": "30d"},
        },
        ("rotation.interval cannot be used with certificateSecretRef",),
    ),
]


def _clean(spec: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in spec.items() if value is not None}


def _create(cluster: Cluster, kind: str, spec: dict[str, Any], namespace: str) -> tuple[str, str | None]:
    """Create an object of `kind`; returns its name and namespace (None when cluster-scoped).

    A TykProvider gets this run's name prefix and provider class and is registered for clean-up."""
    info = KINDS[kind]
    name = f"v-{uuid.uuid4().hex[:8]}"
    where = namespace if info.namespaced else None
    spec = _clean(spec)
    if kind == "TykProvider":
        name = run_name("v")
        spec = {**spec, "providerClass": PROVIDER_CLASS}
        if Created.current is not None:
            Created.current.provider(name)
    cluster.create(info.plural, {"kind": kind, "metadata": {"name": name}, "spec": spec}, where)
    return name, where


def _rejection(call: Callable[[], Any]) -> str:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == 422, caught.value.body
    message: str = json.loads(caught.value.body)["message"]
    return message


@pytest.mark.parametrize(("kind", "spec"), [(k, s) for _, k, s in VALID], ids=[d for d, _, _ in VALID])
def test_valid_objects_are_accepted(
    cluster: Cluster, namespace: str, kind: str, spec: dict[str, Any]
) -> None:
    name, where = _create(cluster, kind, spec, namespace)
    stored = cluster.get(KINDS[kind].plural, name, where)
    assert stored is not None
    expected = _clean(spec) if where is not None else {**_clean(spec), "providerClass": PROVIDER_CLASS}
    assert stored["spec"] == expected


@pytest.mark.parametrize(
    ("kind", "spec", "expected"), [(k, s, e) for _, k, s, e in INVALID], ids=[d for d, *_ in INVALID]
)
def test_invalid_objects_are_rejected_with_a_readable_message(
    cluster: Cluster, namespace: str, kind: str, spec: dict[str, Any], expected: tuple[str, ...]
) -> None:
    message = _rejection(lambda: _create(cluster, kind, spec, namespace))
    assert f"{kind}.apiportal.dev" in message
    for part in expected:
        assert part in message, message


UPDATES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    (
        "changing planRef",
        {"planRef": {"name": "gold", "namespace": "shop"}},
        ("spec.planRef", "planRef is immutable"),
    ),
    ("changing products", {"products": [{"name": "shop", "namespace": "shop"}]}, ("products is immutable",)),
    ("changing appRef", {"appRef": {"name": "web"}}, ("appRef is immutable",)),
    (
        "changing catalogueRef",
        {"catalogueRef": {"name": "public", "namespace": "shop"}},
        ("catalogueRef is immutable",),
    ),
    ("adding secretName after creation", {"secretName": "mine"}, ("secretName is immutable",)),
    (
        "adding credentialType after creation",
        {"credentialType": "AuthToken"},
        ("credentialType is immutable",),
    ),
    (
        "adding certificateSecretRef after creation",
        {"certificateSecretRef": {"name": "client-tls"}},
        ("certificateSecretRef is immutable",),
    ),
]


@pytest.mark.parametrize(
    ("patch", "expected"), [(p, e) for _, p, e in UPDATES], ids=[d for d, _, _ in UPDATES]
)
def test_what_a_request_asks_for_is_immutable(
    cluster: Cluster, namespace: str, patch: dict[str, Any], expected: tuple[str, ...]
) -> None:
    name, _ = _create(cluster, "ProvisioningRequest", REQUEST, namespace)
    message = _rejection(lambda: cluster.patch("provisioningrequests", name, {"spec": patch}, namespace))
    for part in expected:
        assert part in message, message
    assert "create a new ProvisioningRequest" in message
    # What may change does: the use case, suspension, rotation.
    cluster.patch(
        "provisioningrequests", name, {"spec": {"useCase": "more detail", "suspended": True}}, namespace
    )


@pytest.mark.parametrize(
    "change",
    [{"decision": "Denied", "reason": "changed my mind"}, None],
    ids=["changing the decision", "removing the decision"],
)
def test_an_approval_decision_is_final(
    cluster: Cluster, namespace: str, change: dict[str, Any] | None
) -> None:
    name, _ = _create(cluster, "ProvisioningRequest", REQUEST, namespace)
    decided = {"decision": "Approved", "reason": "ticket OPS-1", "by": "alice"}
    cluster.patch_status("provisioningrequests", name, {"status": {"approval": decided}}, namespace)
    message = _rejection(
        lambda: cluster.patch_status(
            "provisioningrequests", name, {"status": {"approval": change}}, namespace
        )
    )
    assert "approval is final" in message
    stored = cluster.get("provisioningrequests", name, namespace)
    assert stored is not None and stored["status"]["approval"]["decision"] == "Approved"
