"""A small RBAC authorizer: Roles, ClusterRoles (with aggregation) and their bindings.

It follows the rules of Kubernetes' RBAC authorizer (`rbac.authorization.k8s.io/v1`):

* permissions are purely additive: a request is allowed when any rule bound to the user covers it,
  and there are no deny rules;
* a ClusterRoleBinding grants its ClusterRole everywhere; a RoleBinding grants its Role or
  ClusterRole only in the binding's namespace;
* subjects are `User` (by name), `Group` (by name; every authenticated user is in
  `system:authenticated`) and `ServiceAccount` (user `system:serviceaccount:<ns>:<name>`);
* a rule covers a request when its `apiGroups`, `resources` (`<resource>/<subresource>` for
  subresources; `*` and `*/<subresource>` are wildcards) and `verbs` match, and `resourceNames`, when
  set, contains the request's name (a request without a name, such as create or list, is never
  covered by a rule with `resourceNames`);
* an aggregated ClusterRole (`aggregationRule.clusterRoleSelectors`) has the rules of every
  ClusterRole whose labels match one of its selectors (the controller-manager fills them in; here
  they are computed when asked);
* members of `system:masters` may do everything (that group bypasses the authorizer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SUPERUSER_GROUP", "Attributes", "RbacObjects", "UserInfo", "is_allowed", "rules_for"]

SUPERUSER_GROUP = "system:masters"

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class UserInfo:
    """Who the API server authenticated."""

    username: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def as_status(self) -> dict[str, Any]:
        """The `userInfo` of a SelfSubjectReview."""
        info: dict[str, Any] = {"username": self.username, "groups": list(self.groups)}
        if self.uid:
            info["uid"] = self.uid
        if self.extra:
            info["extra"] = {key: list(values) for key, values in self.extra.items()}
        return info


@dataclass(frozen=True)
class Attributes:
    """What a request does, as the authorizer sees it."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def qualified_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


@dataclass(frozen=True)
class RbacObjects:
    """The RBAC objects of the cluster, as read from storage."""

    roles: Sequence[Obj] = ()
    cluster_roles: Sequence[Obj] = ()
    role_bindings: Sequence[Obj] = ()
    cluster_role_bindings: Sequence[Obj] = ()


def _labels_match(selector: Obj, labels: Mapping[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for requirement in selector.get("matchExpressions") or []:
        key, operator, values = requirement.get("key"), requirement.get("operator"), requirement.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in (values or [])):
            return False
        if operator == "NotIn" and present and labels[key] in (values or []):
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _cluster_role_rules(role: Obj, all_roles: Sequence[Obj]) -> list[Obj]:
    aggregation = role.get("aggregationRule")
    if not aggregation:
        return list(role.get("rules") or [])
    rules: list[Obj] = []
    for selector in aggregation.get("clusterRoleSelectors") or []:
        for other in all_roles:
            if other is role or other.get("aggregationRule"):
                continue
            if _labels_match(selector, (other.get("metadata") or {}).get("labels") or {}):
                rules.extend(other.get("rules") or [])
    return rules


def _subject_matches(subject: Obj, user: UserInfo, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user.username
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return user.username == f"system:serviceaccount:{namespace}:{name}"
    return False


def _role_rules(ref: Obj, namespace: str, objects: RbacObjects) -> list[Obj]:
    name = ref.get("name")
    if ref.get("kind") == "ClusterRole":
        for role in objects.cluster_roles:
            if (role.get("metadata") or {}).get("name") == name:
                return _cluster_role_rules(role, objects.cluster_roles)
        return []
    for role in objects.roles:
        meta = role.get("metadata") or {}
        if meta.get("name") == name and meta.get("namespace") == namespace:
            return list(role.get("rules") or [])
    return []


def rules_for(user: UserInfo, namespace: str, objects: RbacObjects) -> list[Obj]:
    """Every rule that applies to `user` in `namespace` (cluster-wide rules included)."""
    rules: list[Obj] = []
    for binding in objects.cluster_role_bindings:
        if any(_subject_matches(s, user, "") for s in binding.get("subjects") or []):
            rules.extend(_role_rules(binding.get("roleRef") or {}, "", objects))
    if namespace:
        for binding in objects.role_bindings:
            if (binding.get("metadata") or {}).get("namespace") != namespace:
                continue
            if any(_subject_matches(s, user, namespace) for s in binding.get("subjects") or []):
                rules.extend(_role_rules(binding.get("roleRef") or {}, namespace, objects))
    return rules


def _covers(rule: Obj, attributes: Attributes) -> bool:
    verbs: Iterable[str] = rule.get("verbs") or []
    if "*" not in verbs and attributes.verb not in verbs:
        return False
    groups: Iterable[str] = rule.get("apiGroups") or []
    if "*" not in groups and attributes.group not in groups:
        return False
    resources: list[str] = list(rule.get("resources") or [])
    wanted = attributes.qualified_resource
    wildcard = f"*/{attributes.subresource}" if attributes.subresource else "*"
    if wanted not in resources and wildcard not in resources and "*" not in resources:
        return False
    names = rule.get("resourceNames") or []
    return not names or (bool(attributes.name) and attributes.name in names)


def is_allowed(user: UserInfo, attributes: Attributes, objects: RbacObjects) -> bool:
    """Whether RBAC allows `user` to do what `attributes` describe."""
    if SUPERUSER_GROUP in user.groups:
        return True
    return any(_covers(rule, attributes) for rule in rules_for(user, attributes.namespace, objects))
