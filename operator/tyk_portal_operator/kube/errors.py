"""Typed errors of the Kubernetes adapter.

    KubeError
    ├── KubeNotFound      404
    ├── KubeConflict      409 (stale resourceVersion, already exists)
    ├── KubeForbidden     401/403 (RBAC)
    ├── KubeInvalid       422 (schema, CEL)
    ├── KubeUnavailable   connection errors, timeouts, 5xx, 429
    └── KubeGone          410: a watch's resourceVersion is too old (list again)

Only the message Kubernetes gives is kept (capped): request bodies may hold Secret data.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "KubeConflict",
    "KubeError",
    "KubeForbidden",
    "KubeGone",
    "KubeInvalid",
    "KubeNotFound",
    "KubeUnavailable",
    "from_api_exception",
]

_MAX_MESSAGE = 256


class KubeError(Exception):
    """A Kubernetes API call failed."""

    def __init__(self, message: str, *, status: int | None = None, causes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        # The `details.causes[].type` values of the API's Status (e.g. "NamespaceTerminating").
        self.causes = causes


class KubeNotFound(KubeError):
    """The object does not exist."""


class KubeConflict(KubeError):
    """The object changed since it was read, or already exists."""


class KubeForbidden(KubeError):
    """The operator's service account may not do this."""


class KubeInvalid(KubeError):
    """The API server rejected the object."""


class KubeUnavailable(KubeError):
    """The API server could not be reached or failed; worth retrying."""


class KubeGone(KubeError):
    """410 Gone: the resourceVersion a watch starts from has been compacted; list again."""


def from_api_exception(exc: Any, action: str) -> KubeError:
    """Map an `ApiException` of the official client to a typed error."""
    status = getattr(exc, "status", None)
    message = ""
    causes: tuple[str, ...] = ()
    body = getattr(exc, "body", None)
    if body:
        try:
            parsed = json.loads(body)
            message = str(parsed.get("message", ""))
            found = ((parsed.get("details") or {}).get("causes")) or []
            causes = tuple(str(c.get("type", "")) for c in found if isinstance(c, dict))
        except (ValueError, AttributeError):
            message = ""
    text = f"{action}: {message or getattr(exc, 'reason', '') or 'error'}"[:_MAX_MESSAGE]
    cls: type[KubeError]
    if status == 404:
        cls = KubeNotFound
    elif status == 409:
        cls = KubeConflict
    elif status in (401, 403):
        cls = KubeForbidden
    elif status == 422:
        cls = KubeInvalid
    elif status == 410:
        cls = KubeGone
    else:
        cls = KubeUnavailable
    return cls(text, status=status, causes=causes)
