"""Served resource types: the built-in kinds and those added by CustomResourceDefinitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ResourceRegistry", "ResourceType", "crd_types"]

_ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_STATUS_VERBS = ["get", "patch", "update"]


@dataclass(frozen=True)
class ResourceType:
    """One group/version/plural served by the emulator."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = False
    custom: bool = False  # a custom resource (defined by a CRD)
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    crd_name: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def storage_key(self) -> tuple[str, str]:
        """Objects are stored per group and plural (all versions share the storage)."""
        return (self.group, self.plural)

    @property
    def has_generation(self) -> bool:
        """Kinds whose `metadata.generation` the server maintains (custom resources and CRDs)."""
        return self.custom or self.plural == "customresourcedefinitions"


def _builtin(
    group: str,
    version: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    status: bool = False,
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        has_status=status,
    )


BUILTINS: tuple[ResourceType, ...] = (
    _builtin("", "v1", "namespaces", "Namespace", namespaced=False, short=("ns",), status=True),
    _builtin("", "v1", "secrets", "Secret", namespaced=True),
    _builtin("", "v1", "configmaps", "ConfigMap", namespaced=True, short=("cm",)),
    _builtin("", "v1", "events", "Event", namespaced=True, short=("ev",)),
    _builtin("", "v1", "serviceaccounts", "ServiceAccount", namespaced=True, short=("sa",)),
    _builtin("events.k8s.io", "v1", "events", "Event", namespaced=True, short=("ev",)),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease", namespaced=True),
    _builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", namespaced=True),
    _builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", namespaced=True),
    _builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    _builtin(
        "rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False
    ),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short=("crd", "crds"),
        categories=("api-extensions",),
        status=True,
    ),
)


def crd_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types a CustomResourceDefinition serves (one per served version)."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    result = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        result.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                has_status="status" in (version.get("subresources") or {}),
                custom=True,
                schema=schema,
                crd_name=crd["metadata"]["name"],
            )
        )
    return result


class ResourceRegistry:
    """Which group/version/plural triples are served, and their discovery documents."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._group_order: list[str] = []
        for rtype in BUILTINS:
            self._add(rtype)

    def _add(self, rtype: ResourceType) -> None:
        self._types[(rtype.group, rtype.version, rtype.plural)] = rtype
        if rtype.group not in self._group_order:
            self._group_order.append(rtype.group)

    def set_crd(self, crd: dict[str, Any]) -> None:
        """Serve (or re-serve after an update) the types of a CRD."""
        self.remove_crd(crd["metadata"]["name"])
        for rtype in crd_types(crd):
            self._add(rtype)

    def remove_crd(self, crd_name: str) -> None:
        for key, rtype in list(self._types.items()):
            if rtype.crd_name == crd_name:
                del self._types[key]
        present = {g for g, _, _ in self._types}
        self._group_order = [g for g in self._group_order if g in present]

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def types(self) -> list[ResourceType]:
        return list(self._types.values())

    def storage_types(self, group: str, plural: str) -> list[ResourceType]:
        return [t for t in self._types.values() if t.storage_key == (group, plural)]

    def versions(self, group: str) -> list[str]:
        seen: list[str] = []
        for g, v, _ in self._types:
            if g == group and v not in seen:
                seen.append(v)
        return seen

    # ----- discovery documents ----------------------------------------------------------------
    def api_versions(self) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }

    def _group_doc(self, group: str) -> dict[str, Any]:
        versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in self.versions(group)]
        return {"name": group, "versions": versions, "preferredVersion": versions[0]}

    def api_group_list(self) -> dict[str, Any]:
        groups = [self._group_doc(g) for g in self._group_order if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def api_group(self, group: str) -> dict[str, Any] | None:
        if not group or group not in self._group_order:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **self._group_doc(group)}

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        entries: list[dict[str, Any]] = []
        for (g, v, _), rtype in self._types.items():
            if (g, v) != (group, version):
                continue
            entry: dict[str, Any] = {
                "name": rtype.plural,
                "singularName": rtype.singular,
                "namespaced": rtype.namespaced,
                "kind": rtype.kind,
                "verbs": list(_ALL_VERBS),
            }
            if rtype.short_names:
                entry["shortNames"] = list(rtype.short_names)
            if rtype.categories:
                entry["categories"] = list(rtype.categories)
            entries.append(entry)
            if rtype.has_status:
                entries.append(
                    {
                        "name": f"{rtype.plural}/status",
                        "singularName": "",
                        "namespaced": rtype.namespaced,
                        "kind": rtype.kind,
                        "verbs": list(_STATUS_VERBS),
                    }
                )
        if not entries:
            return None
        group_version = f"{group}/{version}" if group else version
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": entries,
        }
