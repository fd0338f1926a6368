"""Who may see a catalogue, and which auto-approve rule applies to a requester.

Teams and organisations are namespaces: a namespace labelled `apiportal.dev/team=<team>` and
`apiportal.dev/organisation=<org>` is that team's home. Everything here works on a namespace's
name and labels, gathered by the caller.

Selector semantics (the same as Kubernetes `metav1.LabelSelector`):

* `None` (no selector at all) matches **nothing** where it is used in an audience: an audience
  must name its members.
* An empty selector `{}` matches **every** namespace, as in Kubernetes.
* `matchLabels` and every `matchExpressions` entry must all hold. `In` needs the key with one of
  the values, `NotIn` needs the key absent or its value outside the values, `Exists` needs the key,
  `DoesNotExist` needs it absent.
* A malformed requirement (`In`/`NotIn` without values, `Exists`/`DoesNotExist` with values,
  which the API server would reject on a built-in object) makes the selector match nothing:
  a broken audience fails closed.

Every namespace is treated as carrying `kubernetes.io/metadata.name=<name>` (the API server sets
this label on all namespaces since Kubernetes 1.21), so selectors can name namespaces even when
the labels passed in lack it.

A Private catalogue is always visible in its own namespace: whoever can create requests there
shares the namespace with the catalogue's owners (the Gateway API's `from: Same` default follows
the same reasoning), which lets API owners try their own catalogues before opening them up.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..models import Audience, Catalogue
from ..models.base import LabelSelector, LabelSelectorRequirement, NamespacedObjectRef

__all__ = [
    "NAMESPACE_NAME_LABEL",
    "ORGANISATION_LABEL",
    "TEAM_LABEL",
    "audience_matches",
    "auto_approve_rule",
    "catalogue_visible_to",
    "label_selector_matches",
    "namespace_labels",
    "ref_key",
]

TEAM_LABEL = "apiportal.dev/team"
ORGANISATION_LABEL = "apiportal.dev/organisation"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def ref_key(ref: NamespacedObjectRef, default_namespace: str) -> tuple[str, str]:
    """The `(namespace, name)` a reference points at.

    Args:
        ref: The reference.
        default_namespace: The namespace used when the reference names none (the referrer's).

    Returns:
        `(namespace, name)`.
    """
    return (ref.namespace or default_namespace, ref.name)


def namespace_labels(namespace: str, labels: Mapping[str, str] | None) -> dict[str, str]:
    """A namespace's labels including `kubernetes.io/metadata.name` (set by the API server).

    Args:
        namespace: The namespace's name.
        labels: Its labels as read (may be None).

    Returns:
        A new dict; a `kubernetes.io/metadata.name` already present is kept.
    """
    return {NAMESPACE_NAME_LABEL: namespace, **(labels or {})}


def _requirement_matches(requirement: LabelSelectorRequirement, labels: Mapping[str, str]) -> bool | None:
    """Whether one requirement holds; None when the requirement is malformed."""
    values = requirement.values or []
    present = requirement.key in labels
    match requirement.operator:
        case "In":
            return (present and labels[requirement.key] in values) if values else None
        case "NotIn":
            return (not present or labels[requirement.key] not in values) if values else None
        case "Exists":
            return present if not values else None
        case "DoesNotExist":
            return not present if not values else None
    return None  # pragma: no cover - the model admits only the four operators


def label_selector_matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """Whether a label selector matches a set of labels, with Kubernetes semantics.

    Args:
        selector: The selector; None matches nothing, an empty selector matches everything.
        labels: The labels of the object (a namespace, here).

    Returns:
        True when every `matchLabels` entry and every `matchExpressions` requirement holds;
        False for a None selector or one with a malformed requirement.
    """
    if selector is None:
        return False
    if any(labels.get(key) != value for key, value in (selector.match_labels or {}).items()):
        return False
    return all(_requirement_matches(req, labels) is True for req in selector.match_expressions or [])


def audience_matches(audience: Audience | None, namespace: str, labels: Mapping[str, str] | None) -> bool:
    """Whether a namespace belongs to an audience: its team, its organisation, or the selector.

    Args:
        audience: The audience; None (or one naming no team, organisation or selector) matches
            nothing.
        namespace: The namespace's name.
        labels: The namespace's labels.

    Returns:
        True when the namespace's `apiportal.dev/team` label is one of `teams`, or its
        `apiportal.dev/organisation` label is one of `organisations`, or `namespaceSelector`
        matches its labels.
    """
    if audience is None:
        return False
    all_labels = namespace_labels(namespace, labels)
    team = all_labels.get(TEAM_LABEL)
    if team is not None and team in (audience.teams or []):
        return True
    organisation = all_labels.get(ORGANISATION_LABEL)
    if organisation is not None and organisation in (audience.organisations or []):
        return True
    return label_selector_matches(audience.namespace_selector, all_labels)


def catalogue_visible_to(catalogue: Catalogue, namespace: str, labels: Mapping[str, str] | None) -> bool:
    """Whether a namespace may see (and request through) a catalogue.

    Args:
        catalogue: The catalogue.
        namespace: The requester's namespace.
        labels: The requester namespace's labels.

    Returns:
        True for a Public catalogue, for the catalogue's own namespace, and for a namespace in a
        Private catalogue's audience.
    """
    if catalogue.spec.visibility == "Public":
        return True
    if catalogue.namespace is not None and namespace == catalogue.namespace:
        return True
    return audience_matches(catalogue.spec.audience, namespace, labels)


def auto_approve_rule(
    catalogue: Catalogue,
    plan_ref_namespace: str,
    plan_name: str,
    namespace: str,
    labels: Mapping[str, str] | None,
) -> str | None:
    """The first auto-approve rule of a catalogue that covers a plan and a requester.

    Args:
        catalogue: The catalogue the request goes through.
        plan_ref_namespace: The requested plan's namespace (already resolved by the caller).
        plan_name: The requested plan's name.
        namespace: The requester's namespace.
        labels: The requester namespace's labels.

    Returns:
        The rule's name, or None when no rule matches. A rule matches when its audience contains
        the namespace and, if it lists `plans` (references defaulting to the catalogue's
        namespace), the plan is one of them.
    """
    home = catalogue.namespace or ""
    wanted = (plan_ref_namespace, plan_name)
    for rule in catalogue.spec.auto_approve or []:
        if rule.plans is not None and wanted not in {ref_key(ref, home) for ref in rule.plans}:
            continue
        if audience_matches(rule.audience, namespace, labels):
            return rule.name
    return None
