"""Namespace lifecycle details: the NamespaceLifecycle admission plugin's refusals and the
namespace controller's `status.conditions` on a namespace being deleted."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError
from .resources import ResourceType

__all__ = [
    "IMMORTAL_NAMESPACES",
    "deletion_conditions",
    "immortal_error",
    "resource_label",
    "terminating_error",
]

IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


def _qualified(rtype: ResourceType) -> str:
    return f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural


def terminating_error(rtype: ResourceType, namespace: str, name: str) -> ApiError:
    """403 for a create in a terminating namespace, with the `NamespaceTerminating` cause."""
    why = f"unable to create new content in namespace {namespace} because it is being terminated"
    subject = f'{_qualified(rtype)} "{name}"' if name else _qualified(rtype)
    details: dict[str, Any] = {"name": name} if name else {}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    details["causes"] = [
        {
            "reason": "NamespaceTerminating",
            "message": f"namespace {namespace} is being terminated",
            "field": "metadata.namespace",
        }
    ]
    error = ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", details)
    return error


def immortal_error(name: str) -> ApiError:
    """403 for deleting `default`, `kube-system` or `kube-public`."""
    return ApiError(
        403,
        "Forbidden",
        f'namespaces "{name}" is forbidden: this namespace may not be deleted',
        {"name": name, "kind": "namespaces"},
    )


def _condition(kind: str, status: str, reason: str, message: str, now: str) -> dict[str, Any]:
    return {"type": kind, "status": status, "lastTransitionTime": now, "reason": reason, "message": message}


def deletion_conditions(
    previous: list[dict[str, Any]], remaining: Counter[str], finalizers: Counter[str]
) -> list[dict[str, Any]]:
    """The conditions the namespace controller reports while it empties a namespace.

    `remaining` counts objects left per `plural.group`, `finalizers` objects per finalizer. A
    condition keeps its `lastTransitionTime` while its status does not change.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if remaining:
        listed = ", ".join(
            f"{res} has {count} resource instances" for res, count in sorted(remaining.items())
        )
        content = _condition(
            "NamespaceContentRemaining",
            "True",
            "SomeResourcesRemain",
            f"Some resources are remaining: {listed}",
            now,
        )
    else:
        content = _condition(
            "NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed", now
        )
    if finalizers:
        listed = ", ".join(
            f"{name} in {count} resource instances" for name, count in sorted(finalizers.items())
        )
        held = _condition(
            "NamespaceFinalizersRemaining",
            "True",
            "SomeFinalizersRemain",
            f"Some content in the namespace has finalizers remaining: {listed}",
            now,
        )
    else:
        held = _condition(
            "NamespaceFinalizersRemaining",
            "False",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
            now,
        )
    conditions = [
        _condition(
            "NamespaceDeletionDiscoveryFailure",
            "False",
            "ResourcesDiscovered",
            "All resources successfully discovered",
            now,
        ),
        _condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            "False",
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
            now,
        ),
        _condition(
            "NamespaceDeletionContentFailure",
            "False",
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
            now,
        ),
        content,
        held,
    ]
    before = {c.get("type"): c for c in previous}
    for condition in conditions:
        old = before.get(condition["type"])
        if old is not None and old.get("status") == condition["status"] and old.get("lastTransitionTime"):
            condition["lastTransitionTime"] = old["lastTransitionTime"]
    return conditions


def resource_label(rtype: ResourceType) -> str:
    """How the namespace controller names a resource in its messages (`plural.group`)."""
    return _qualified(rtype)
