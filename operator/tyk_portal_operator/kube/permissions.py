"""The Kubernetes permissions the operator's code uses, declared where the calls are made.

Every adapter method names the verb and resource it needs with `@requires`; the kopf
framework's own needs are listed here. The Helm chart's ClusterRole is tested against
`required_permissions()`, so a new call without a matching RBAC rule fails CI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["Permission", "required_permissions", "requires"]

Permission = tuple[str, str, str]  # (apiGroup, resource, verb)
F = TypeVar("F", bound=Callable[..., object])

_PERMISSIONS: set[Permission] = set()

_GROUP = "apiportal.dev"
_KINDS = ("tykproviders", "apiproducts", "plans", "catalogues", "consumerapps", "provisioningrequests")

# What kopf itself does: watch and patch (finalizers, annotations) every handled kind, patch their
# status, post Events, discover CRDs, and keep peering (leader election) objects.
_KOPF: set[Permission] = {
    *((_GROUP, kind, verb) for kind in _KINDS for verb in ("get", "list", "watch", "patch")),
    *((_GROUP, f"{kind}/status", "patch") for kind in _KINDS),
    ("", "events", "create"),
    ("", "namespaces", "list"),
    ("", "namespaces", "watch"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
    ("kopf.dev", "clusterkopfpeerings", "list"),
    ("kopf.dev", "clusterkopfpeerings", "watch"),
    ("kopf.dev", "clusterkopfpeerings", "patch"),
    ("kopf.dev", "kopfpeerings", "list"),
    ("kopf.dev", "kopfpeerings", "watch"),
    ("kopf.dev", "kopfpeerings", "patch"),
}


def requires(group: str, resource: str, *verbs: str) -> Callable[[F], F]:
    """Declare that the decorated adapter method needs these verbs on a resource."""
    for verb in verbs:
        _PERMISSIONS.add((group, resource, verb))

    def decorate(func: F) -> F:
        return func

    return decorate


def required_permissions() -> set[Permission]:
    """Every permission the operator needs (importing the adapter registers its declarations)."""
    from . import client  # noqa: F401  (registers the @requires declarations)

    return _PERMISSIONS | _KOPF
