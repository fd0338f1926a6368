"""Adapter to the Kubernetes API (the official client, run in threads)."""

from .client import KubeClient
from .errors import KubeConflict, KubeError, KubeForbidden, KubeInvalid, KubeNotFound, KubeUnavailable

__all__ = [
    "KubeClient",
    "KubeConflict",
    "KubeError",
    "KubeForbidden",
    "KubeInvalid",
    "KubeNotFound",
    "KubeUnavailable",
]
