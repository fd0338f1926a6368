"""Deterministic names, ids, labels and ownership marks for everything the operator creates."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "ADOPT_POLICY_ANNOTATION",
    "DEFAULT_POLICY_PREFIX",
    "FINALIZER",
    "MANAGED_BY",
    "MANAGED_BY_TAG",
    "META_MANAGED_BY",
    "META_POLICY_OF",
    "META_POLICY_UID",
    "REQUEST_FINALIZER",
    "ROTATE_ANNOTATION",
    "key_alias",
    "policy_id",
    "policy_name",
    "secret_name_for",
]

MANAGED_BY = "tyk-portal-operator"
MANAGED_BY_TAG = "managed-by:tyk-portal-operator"
DEFAULT_POLICY_PREFIX = "k8s"
FINALIZER = "apiportal.dev/finalizer"
# ProvisioningRequests carry their own finalizer, managed by the operator (not kopf): it is added only
# before a key is created in Tyk, and removed once the key is revoked.
REQUEST_FINALIZER = "apiportal.dev/revoke-key"
ADOPT_POLICY_ANNOTATION = "apiportal.dev/adopt-policy-id"
ROTATE_ANNOTATION = "apiportal.dev/rotate"

# Ownership marks in Tyk `meta_data`. Policy marks and key marks use different names because a
# policy's meta_data is merged into the sessions of keys that apply it.
META_MANAGED_BY = "apiportal.dev/managed-by"
META_POLICY_OF = "apiportal.dev/policy-of"
META_POLICY_UID = "apiportal.dev/policy-uid"

PolicyKind = Literal["product", "plan"]


def policy_id(prefix: str, kind: PolicyKind, namespace: str, name: str) -> str:
    """`<prefix>.<kind>.<namespace>.<name>`: unambiguous because namespaces and prefixes have no dots."""
    return f"{prefix}.{kind}.{namespace}.{name}"


def policy_name(prefix: str, kind: PolicyKind, namespace: str, name: str, display_name: str) -> str:
    """An org-unique, readable policy name (Tyk rejects duplicate names in an org)."""
    return f"{display_name} [{prefix}:{kind}:{namespace}/{name}]"


def key_alias(namespace: str, request: str) -> str:
    """The alias of a request's key, shown in Tyk's analytics."""
    return f"{namespace}/{request}"


def secret_name_for(request: str, explicit: str | None) -> str:
    """The Secret a request's credential is written to."""
    return explicit or f"{request}-credentials"
