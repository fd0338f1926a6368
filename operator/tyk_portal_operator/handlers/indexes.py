"""In-memory indexes (kopf keeps them current from the watch streams; no API reads needed)."""

from __future__ import annotations

from typing import Any

import kopf

from ..core.conditions import ready_condition
from ..services.keys import IssuedKey
from ._common import to_dict

__all__ = ["APP_CREDENTIAL_FIELDS", "policy_objects", "policy_referrers", "provider_referrers"]


@kopf.index("apiproducts")
def product_bodies(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """Products by the provider their status names (for bulk drift repair)."""
    return {(body.get("status") or {}).get("provider"): to_dict(body)}


@kopf.index("plans")
def plan_bodies(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """Plans by the provider their status names (for bulk drift repair)."""
    return {(body.get("status") or {}).get("provider"): to_dict(body)}


@kopf.index("provisioningrequests")
def request_keys(
    namespace: str | None,
    name: str,
    uid: str,
    body: kopf.Body,
    status: kopf.Status,
    meta: kopf.Meta,
    **_: Any,
) -> dict[Any, Any]:
    """provider -> the request's key as its status says (every request with a key through that
    provider; `issued` when it is issued or suspended at its generation and not being deleted)."""
    provider = status.get("provider")
    if not provider:
        return {}
    issued = ready_condition(body).get("reason") in ("CredentialIssued", "Suspended") and not meta.get(
        "deletionTimestamp"
    )
    return {provider: IssuedKey(str(namespace or ""), name, uid, tuple(status.get("policies") or ()), issued)}


def provider_referrers(
    provider: str,
    product_index: kopf.Index[Any, Any],
    plan_index: kopf.Index[Any, Any],
    request_index: kopf.Index[Any, Any],
) -> list[str]:
    """Every product, plan and request with objects in Tyk through this provider."""
    found = {
        f"{body.get('kind')} {body['metadata'].get('namespace')}/{body['metadata'].get('name')}"
        for body in policy_objects(provider, product_index, plan_index)
    }
    found.update(f"ProvisioningRequest {key.namespace}/{key.name}" for key in request_index.get(provider, []))
    return sorted(found)


def _refs(spec: Any, field: str) -> list[tuple[str, str | None]]:
    return [(str(ref.get("name")), ref.get("namespace")) for ref in spec.get(field) or []]


@kopf.index("catalogues")
def catalogue_refs(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, Any]:
    """("APIProduct"|"Plan", namespace, name) -> "Catalogue ns/name" for every reference."""
    out: dict[Any, Any] = {}
    for ref_name, ref_ns in _refs(spec, "products"):
        out[("APIProduct", ref_ns or namespace, ref_name)] = f"Catalogue {namespace}/{name}"
    for ref_name, ref_ns in _refs(spec, "plans"):
        out[("Plan", ref_ns or namespace, ref_name)] = f"Catalogue {namespace}/{name}"
    return out


@kopf.index("provisioningrequests")
def request_refs(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, Any]:
    """("APIProduct"|"Plan", namespace, name) -> "ProvisioningRequest ns/name"."""
    out: dict[Any, Any] = {}
    for ref_name, ref_ns in _refs(spec, "products"):
        out[("APIProduct", ref_ns or namespace, ref_name)] = f"ProvisioningRequest {namespace}/{name}"
    plan = spec.get("planRef") or {}
    if plan.get("name"):
        out[("Plan", plan.get("namespace") or namespace, plan["name"])] = (
            f"ProvisioningRequest {namespace}/{name}"
        )
    return out


def policy_objects(
    provider: str, product_index: kopf.Index[Any, Any], plan_index: kopf.Index[Any, Any]
) -> list[Any]:
    """Every product and plan body that names this provider in its status."""
    return [*product_index.get(provider, []), *plan_index.get(provider, [])]


def policy_referrers(kind: str, namespace: str, name: str, *indexes: kopf.Index[Any, Any]) -> list[str]:
    """Who still references a product or plan."""
    key = (kind, namespace, name)
    return sorted({referrer for index in indexes for referrer in index.get(key, [])})


def _ready(body: Any) -> tuple[bool, str | None]:
    ready = ready_condition(body)
    return ready.get("status") == "True", ready.get("reason")


@kopf.index("apiproducts")
def product_summaries(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """("APIProduct", ns, name) -> readiness and policy id (for catalogue status)."""
    ready, reason = _ready(body)
    return {
        ("APIProduct", namespace, name): {
            "ready": ready,
            "reason": reason,
            "policyID": (body.get("status") or {}).get("policyID"),
        }
    }


@kopf.index("plans")
def plan_summaries(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """("Plan", ns, name) -> readiness and policy id (for catalogue status)."""
    ready, reason = _ready(body)
    return {
        ("Plan", namespace, name): {
            "ready": ready,
            "reason": reason,
            "policyID": (body.get("status") or {}).get("policyID"),
        }
    }


def _ref(ref: Any, namespace: str | None) -> str:
    ref = ref or {}
    return f"{ref.get('namespace') or namespace}/{ref.get('name', '')}"


# The summary fields an app's status lists (AppCredential); the others feed the metrics.
APP_CREDENTIAL_FIELDS = ("request", "secretName", "products", "plan", "type", "ready", "reason", "expiresAt")


@kopf.index("provisioningrequests")
def request_summaries(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """(ns, app) -> one credential summary per request (for app status and gauges)."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    ready, reason = _ready(body)
    summary = {
        "request": name,
        "secretName": status.get("secretName") or spec.get("secretName") or f"{name}-credentials",
        "products": [p.get("name") for p in spec.get("products") or []],
        "plan": (spec.get("planRef") or {}).get("name", ""),
        "type": spec.get("credentialType") or "AuthToken",
        "ready": ready,
        "reason": reason,
        # The credential's own expiry (a next rotation is not an expiry).
        "expiresAt": status.get("expiresAt"),
        # For the metrics only (not in the app's status):
        "readyStatus": str(ready_condition(body).get("status") or "Unknown"),
        "catalogue": _ref(spec.get("catalogueRef"), namespace),
        "planRef": _ref(spec.get("planRef"), namespace),
    }
    return {(namespace, (spec.get("appRef") or {}).get("name")): summary}
