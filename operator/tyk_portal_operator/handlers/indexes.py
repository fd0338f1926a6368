"""In-memory indexes (kopf keeps them current from the watch streams; no API reads needed)."""

from __future__ import annotations

from typing import Any

import kopf

from ._common import to_dict

__all__ = ["policy_objects", "policy_referrers"]


@kopf.index("apiproducts")
def product_bodies(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """Products by the provider their status names (for bulk drift repair)."""
    return {(body.get("status") or {}).get("provider"): to_dict(body)}


@kopf.index("plans")
def plan_bodies(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """Plans by the provider their status names (for bulk drift repair)."""
    return {(body.get("status") or {}).get("provider"): to_dict(body)}


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
