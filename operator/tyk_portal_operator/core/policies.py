"""Desired Tyk policies for products and plans, and how they compare with what Tyk has."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..models import APIProduct, Plan, ResolvedAPI
from ..models.api_product import APISelector, Owner
from .credentials import renew_before_seconds
from .durations import parse_duration
from .naming import (
    DEFAULT_POLICY_PREFIX,
    MANAGED_BY,
    MANAGED_BY_TAG,
    META_MANAGED_BY,
    META_POLICY_OF,
    META_POLICY_UID,
    PolicyKind,
    policy_id,
    policy_name,
)

__all__ = [
    "MANAGED_POLICY_FIELDS",
    "OWNERSHIP_TAG_PREFIX",
    "Ownership",
    "ProviderConfig",
    "merge_for_update",
    "ownership_of",
    "ownership_tags",
    "plan_policy",
    "policy_changes",
    "product_policy",
]

# Fields the operator owns in a policy; everything else Tyk returns is left as Tyk has it.
MANAGED_POLICY_FIELDS = (
    "id",
    "name",
    "org_id",
    "active",
    "state",
    "is_inactive",
    "tags",
    "meta_data",
    "partitions",
    "access_rights",
    "rate",
    "per",
    "quota_max",
    "quota_renewal_rate",
    "throttle_interval",
    "throttle_retry_limit",
    "key_expires_in",
)

Ownership = Literal["ours", "unmarked", "foreign"]

# Ownership metadata also goes to the policy's `tags` (Tyk merges policy tags into every key's
# session and its Dashboard and Portal filter by them), as `apiportal.dev/<field>:<value>`:
#   apiportal.dev/team:<team>  apiportal.dev/contact:<contact>  apiportal.dev/lifecycle:<lifecycle>
#   apiportal.dev/tag:<product tag>   (one per tag)
# Values are trimmed; whitespace and commas (Tyk's tag list separator in its UI and search) become
# "-". The scheme is stable: changing it would rewrite every policy once.
OWNERSHIP_TAG_PREFIX = "apiportal.dev/"
_TAG_UNSAFE = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class ProviderConfig:
    """What the core needs to know of a TykProvider."""

    name: str
    policy_id_prefix: str = DEFAULT_POLICY_PREFIX
    org_id: str | None = None
    gateway_url: str | None = None


def _tag(field: str, value: str) -> str | None:
    cleaned = _TAG_UNSAFE.sub("-", value.strip()).strip("-")
    return f"{OWNERSHIP_TAG_PREFIX}{field}:{cleaned}" if cleaned else None


def ownership_tags(
    owner: Owner | None, lifecycle: str | None = None, tags: Sequence[str] | None = None
) -> list[str]:
    """The policy tags carrying an object's ownership (see OWNERSHIP_TAG_PREFIX), in a stable order."""
    candidates = [
        _tag("team", owner.team) if owner and owner.team else None,
        _tag("contact", owner.contact) if owner and owner.contact else None,
        _tag("lifecycle", lifecycle) if lifecycle else None,
        *(_tag("tag", tag) for tag in tags or ()),
    ]
    return list(dict.fromkeys(tag for tag in candidates if tag))


def _ownership_meta(meta: dict[str, Any], owner: Owner | None) -> None:
    if owner and owner.team:
        meta["apiportal.dev/owner-team"] = owner.team
    if owner and owner.contact:
        meta["apiportal.dev/owner-contact"] = owner.contact


def _base_policy(
    kind: PolicyKind, obj: APIProduct | Plan, display_name: str, provider: ProviderConfig, pid: str | None
) -> dict[str, Any]:
    namespace = obj.namespace or ""
    prefix = provider.policy_id_prefix
    return {
        "id": pid or policy_id(prefix, kind, namespace, obj.name),
        "name": policy_name(prefix, kind, namespace, obj.name, display_name),
        "org_id": provider.org_id or "",
        "active": True,
        "state": "active",
        "is_inactive": False,
        "tags": [MANAGED_BY_TAG, f"apiportal:{kind}"],
        "meta_data": {
            META_MANAGED_BY: MANAGED_BY,
            META_POLICY_OF: f"{obj.kind_name}/{namespace}/{obj.name}",
            META_POLICY_UID: obj.uid,
        },
        "partitions": {
            "acl": False,
            "rate_limit": False,
            "quota": False,
            "complexity": False,
            "per_api": False,
        },
        "access_rights": {},
        "rate": -1,
        "per": -1,
        "quota_max": -1,
        "quota_renewal_rate": -1,
        "throttle_interval": -1,
        "throttle_retry_limit": -1,
        "key_expires_in": 0,
    }


def _access_right(api: ResolvedAPI, selectors: Sequence[APISelector]) -> dict[str, Any]:
    selector = selectors[api.selector] if 0 <= api.selector < len(selectors) else None
    rules = selector.allowed_urls if selector else None
    return {
        "api_id": api.api_id,
        "api_name": api.name,
        "versions": list(api.versions or ["Default"]),
        "allowed_urls": [{"url": rule.url, "methods": list(rule.methods)} for rule in rules or []],
    }


def product_policy(
    product: APIProduct,
    apis: Sequence[ResolvedAPI],
    provider: ProviderConfig,
    *,
    pid: str | None = None,
) -> dict[str, Any]:
    """The ACL-only partitioned policy of a product.

    Args:
        product: The product.
        apis: Resolved APIs (their `selector` index points at the spec entry with allowed URLs).
        provider: The provider it is published to.
        pid: An adopted policy id instead of the deterministic one.
    """
    policy = _base_policy("product", product, product.spec.display_name, provider, pid)
    policy["partitions"]["acl"] = True
    policy["access_rights"] = {api.api_id: _access_right(api, product.spec.apis) for api in apis}
    spec = product.spec
    meta = policy["meta_data"]
    _ownership_meta(meta, spec.owner)
    if spec.lifecycle:
        meta["apiportal.dev/lifecycle"] = spec.lifecycle
    if spec.tags:
        meta["apiportal.dev/tags"] = ",".join(spec.tags)
    policy["tags"] += ownership_tags(spec.owner, spec.lifecycle, spec.tags)
    return policy


def plan_policy(plan: Plan, provider: ProviderConfig, *, pid: str | None = None) -> dict[str, Any]:
    """The rate-limit and quota partitioned policy of a plan (empty access rights).

    Raises:
        ValueError: when a duration in the spec cannot be parsed, or renewBefore is not shorter
            than keyExpiry.
    """
    spec = plan.spec
    policy = _base_policy("plan", plan, spec.display_name, provider, pid)
    policy["partitions"]["rate_limit"] = True
    policy["partitions"]["quota"] = True
    _ownership_meta(policy["meta_data"], spec.owner)
    policy["tags"] += ownership_tags(spec.owner)
    if spec.rate_limit:
        policy["rate"] = spec.rate_limit.requests
        policy["per"] = parse_duration(spec.rate_limit.per)
    if spec.quota and not spec.quota.unlimited and spec.quota.max and spec.quota.renewal_period:
        policy["quota_max"] = spec.quota.max
        policy["quota_renewal_rate"] = parse_duration(spec.quota.renewal_period)
    if spec.throttle:
        policy["throttle_interval"] = parse_duration(spec.throttle.interval)
        policy["throttle_retry_limit"] = spec.throttle.retry_limit
    if spec.key_expiry:
        policy["key_expires_in"] = parse_duration(spec.key_expiry)
        renew_before_seconds(plan)  # a renewBefore not shorter than the lifetime is an invalid spec
    return policy


def _normalise_access_rights(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for api_id, right in (value or {}).items():
        right = right or {}
        out[api_id] = {
            "api_id": right.get("api_id") or api_id,
            "api_name": right.get("api_name", ""),
            "versions": sorted(right.get("versions") or []),
            "allowed_urls": sorted(
                (
                    {"url": u.get("url", ""), "methods": sorted(u.get("methods") or [])}
                    for u in right.get("allowed_urls") or []
                ),
                key=lambda u: (u["url"], u["methods"]),
            ),
        }
    return out


def normalise_policy_field(field: str, value: Any) -> Any:
    """A policy field in a form that compares equal whatever order or defaults Tyk answers with."""
    if field == "access_rights":
        return _normalise_access_rights(value)
    if field == "tags":
        return sorted(set(value or []))
    if field == "partitions":
        value = value or {}
        return {k: bool(value.get(k, False)) for k in ("acl", "rate_limit", "quota", "complexity", "per_api")}
    if field == "meta_data":
        return dict(value or {})
    if field in ("rate", "per"):
        return float(value) if value is not None else 0.0
    return value


def policy_changes(desired: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Names of the managed fields in which Tyk's policy differs from the desired one.

    `org_id` is compared only when the provider sets one (Tyk fills it from the user's org).
    """
    changed = []
    for field in MANAGED_POLICY_FIELDS:
        if field == "org_id" and not desired.get("org_id"):
            continue
        if normalise_policy_field(field, desired.get(field)) != normalise_policy_field(
            field, actual.get(field)
        ):
            changed.append(field)
    return changed


def merge_for_update(desired: dict[str, Any], actual: dict[str, Any]) -> dict[str, Any]:
    """The full body of a PUT: Tyk's policy with the managed fields replaced (PUT replaces whole)."""
    merged = {**actual, **desired}
    if not desired.get("org_id") and actual.get("org_id"):
        merged["org_id"] = actual["org_id"]
    return merged


def ownership_of(actual: dict[str, Any], uid: str) -> Ownership:
    """Whether a policy in Tyk carries this object's ownership mark, no mark, or someone else's."""
    meta = actual.get("meta_data") or {}
    if meta.get(META_POLICY_UID) == uid:
        return "ours"
    if not meta.get(META_POLICY_UID) and not meta.get(META_MANAGED_BY):
        return "unmarked"
    return "foreign"
