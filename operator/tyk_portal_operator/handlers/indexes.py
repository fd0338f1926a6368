"""In-memory indexes of products, plans and catalogues (kopf keeps them current from the watch
streams; no API reads needed). Requests are not indexed here: there may be many thousands, and the
request book (services/request_book.py) keeps only what is looked up across them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import kopf

from ..core.conditions import ready_condition
from ..services.keys import IssuedKey
from ._common import to_dict

__all__ = ["policy_objects", "policy_referrers", "provider_referrers"]


@kopf.index("apiproducts")
def product_bodies(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """Products by the provider their status names (for bulk drift repair)."""
    return {(body.get("status") or {}).get("provider"): to_dict(body)}


@kopf.index("plans")
def plan_bodies(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """Plans by the provider their status names (for bulk drift repair)."""
    return {(body.get("status") or {}).get("provider"): to_dict(body)}


def provider_referrers(
    provider: str,
    product_index: kopf.Index[Any, Any],
    plan_index: kopf.Index[Any, Any],
    request_keys: Iterable[IssuedKey],
) -> list[str]:
    """Every product, plan and request with objects in Tyk through this provider."""
    found = {
        f"{body.get('kind')} {body['metadata'].get('namespace')}/{body['metadata'].get('name')}"
        for body in policy_objects(provider, product_index, plan_index)
    }
    found.update(f"ProvisioningRequest {key.namespace}/{key.name}" for key in request_keys)
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
