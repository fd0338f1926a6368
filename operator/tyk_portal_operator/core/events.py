"""Kubernetes Events as the operator reports them (pure: the caller posts them).

Events are written the way client-go's recorder writes them, so `kubectl describe` and
`kubectl events` find them: in the object's namespace, or in `default` for cluster-scoped objects
(TykProvider, Namespace), reported by `tyk-portal-operator`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CLUSTER_EVENTS_NAMESPACE", "EVENT_SOURCE", "MAX_EVENT_MESSAGE", "event_manifest"]

EVENT_SOURCE = "tyk-portal-operator"
# Where events about cluster-scoped objects go (the API server accepts only default or kube-system).
CLUSTER_EVENTS_NAMESPACE = "default"
MAX_EVENT_MESSAGE = 1024


def _shorten(message: str) -> str:
    if len(message) <= MAX_EVENT_MESSAGE:
        return message
    half = (MAX_EVENT_MESSAGE - 3) // 2
    return f"{message[:half]}...{message[-half:]}"


def event_manifest(
    involved: Mapping[str, Any],
    event_type: str,
    reason: str,
    message: str,
    *,
    now: str,
    instance: str,
) -> tuple[str, dict[str, Any]]:
    """The namespace to post in and the core/v1 Event about `involved` (a full object body).

    No `eventTime`: a legacy-style Event needs no `action`, and every API server accepts it.
    """
    metadata = involved.get("metadata") or {}
    namespace = metadata.get("namespace") or ""
    reference = {
        "apiVersion": involved.get("apiVersion", ""),
        "kind": involved.get("kind", ""),
        "name": metadata.get("name", ""),
        "uid": metadata.get("uid", ""),
    }
    if namespace:
        reference["namespace"] = namespace
    name = str(metadata.get("name", "object"))[:200]
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{name}.", "namespace": namespace or CLUSTER_EVENTS_NAMESPACE},
        "involvedObject": reference,
        "type": event_type,
        "reason": reason,
        "message": _shorten(message),
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": EVENT_SOURCE},
        "reportingComponent": EVENT_SOURCE,
        "reportingInstance": instance,
    }
    return namespace or CLUSTER_EVENTS_NAMESPACE, event
