"""Label selectors, audiences, catalogue visibility and auto-approve rules."""

from __future__ import annotations

from typing import Any

import pytest

from tyk_portal_operator.core.visibility import (
    audience_matches,
    auto_approve_rule,
    catalogue_visible_to,
    label_selector_matches,
    namespace_labels,
)
from tyk_portal_operator.models import Audience, Catalogue
from tyk_portal_operator.models.base import LabelSelector

TEAM = "apiportal.dev/team"
ORG = "apiportal.dev/organisation"


def _selector(**spec: Any) -> LabelSelector:
    return LabelSelector.model_validate(spec)


def _catalogue(**spec: Any) -> Catalogue:
    base = {"visibility": "Private", "products": [{"name": "orders"}], "plans": [{"name": "gold"}]}
    return Catalogue.model_validate(
        {"metadata": {"name": "shop", "namespace": "apis", "uid": "c1"}, "spec": {**base, **spec}}
    )


LABELS = {"env": "prod", "tier": "gold", TEAM: "payments", ORG: "acme"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({}, True),
        ({"matchLabels": {}}, True),
        ({"matchLabels": {"env": "prod"}}, True),
        ({"matchLabels": {"env": "prod", "tier": "gold"}}, True),
        ({"matchLabels": {"env": "prod", "tier": "silver"}}, False),
        ({"matchLabels": {"missing": ""}}, False),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev", "prod"]}]}, True),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]}, False),
        ({"matchExpressions": [{"key": "absent", "operator": "In", "values": ["x"]}]}, False),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}, True),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, False),
        # NotIn matches when the key is absent, as in Kubernetes.
        ({"matchExpressions": [{"key": "absent", "operator": "NotIn", "values": ["x"]}]}, True),
        ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "absent", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "absent", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, False),
        (
            {
                "matchLabels": {"env": "prod"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["gold"]},
                    {"key": "absent", "operator": "DoesNotExist"},
                ],
            },
            True,
        ),
        (
            {
                "matchLabels": {"env": "prod"},
                "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["gold"]}],
            },
            False,
        ),
    ],
)
def test_label_selector_semantics(selector: dict[str, Any], expected: bool) -> None:
    assert label_selector_matches(_selector(**selector), LABELS) is expected


def test_none_selector_matches_nothing_and_empty_matches_everything() -> None:
    assert label_selector_matches(None, LABELS) is False
    assert label_selector_matches(None, {}) is False
    assert label_selector_matches(_selector(), {}) is True


@pytest.mark.parametrize(
    "requirement",
    [
        {"key": "env", "operator": "In"},
        {"key": "env", "operator": "In", "values": []},
        {"key": "absent", "operator": "NotIn"},
        {"key": "env", "operator": "Exists", "values": ["prod"]},
        {"key": "absent", "operator": "DoesNotExist", "values": ["x"]},
    ],
)
def test_malformed_requirements_fail_closed(requirement: dict[str, Any]) -> None:
    assert label_selector_matches(_selector(matchExpressions=[requirement]), LABELS) is False


def test_namespace_labels_adds_the_name_label_without_overriding() -> None:
    assert namespace_labels("team-a", {"x": "1"}) == {"kubernetes.io/metadata.name": "team-a", "x": "1"}
    assert namespace_labels("team-a", None) == {"kubernetes.io/metadata.name": "team-a"}
    assert namespace_labels("a", {"kubernetes.io/metadata.name": "a"}) == {"kubernetes.io/metadata.name": "a"}


def test_audience_by_team_organisation_or_selector() -> None:
    by_team = Audience(teams=["payments", "shop"])
    by_org = Audience(organisations=["acme"])
    by_selector = Audience(namespace_selector=_selector(matchLabels={"env": "prod"}))
    assert audience_matches(by_team, "ns", {TEAM: "payments"})
    assert not audience_matches(by_team, "ns", {TEAM: "other"})
    assert not audience_matches(by_team, "ns", {ORG: "payments"})
    assert audience_matches(by_org, "ns", {ORG: "acme"})
    assert not audience_matches(by_org, "ns", {TEAM: "acme"})
    assert audience_matches(by_selector, "ns", {"env": "prod"})
    assert not audience_matches(by_selector, "ns", {"env": "dev"})
    # Any one of the three is enough.
    both = Audience(teams=["x"], organisations=["acme"])
    assert audience_matches(both, "ns", {TEAM: "y", ORG: "acme"})


def test_empty_or_missing_audience_matches_nothing() -> None:
    assert not audience_matches(None, "ns", LABELS)
    assert not audience_matches(Audience(), "ns", LABELS)
    assert not audience_matches(Audience(teams=[], organisations=[]), "ns", LABELS)
    # ... but an explicit empty selector addresses every namespace.
    assert audience_matches(Audience(namespace_selector=_selector()), "ns", {})


def test_selector_can_name_a_namespace_without_the_label_being_passed() -> None:
    audience = Audience(
        namespace_selector=_selector(
            matchExpressions=[
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-a", "team-b"]}
            ]
        )
    )
    assert audience_matches(audience, "team-a", {})
    assert not audience_matches(audience, "team-c", {})


def test_public_catalogue_is_visible_everywhere() -> None:
    catalogue = _catalogue(visibility="Public")
    assert catalogue_visible_to(catalogue, "anyone", {})


def test_private_catalogue_is_visible_to_its_audience_and_own_namespace_only() -> None:
    catalogue = _catalogue(audience={"teams": ["payments"]})
    assert catalogue_visible_to(catalogue, "payments-ns", {TEAM: "payments"})
    assert catalogue_visible_to(catalogue, "apis", {})
    assert not catalogue_visible_to(catalogue, "other", {TEAM: "other"})
    assert not catalogue_visible_to(catalogue, "unlabelled", None)


def test_auto_approve_rule_first_match_wins_and_honours_plan_filter() -> None:
    catalogue = _catalogue(
        audience={"organisations": ["acme"]},
        plans=[{"name": "gold"}, {"name": "free", "namespace": "plans"}],
        autoApprove=[
            {"name": "gold-for-payments", "audience": {"teams": ["payments"]}, "plans": [{"name": "gold"}]},
            {
                "name": "free-for-acme",
                "audience": {"organisations": ["acme"]},
                "plans": [{"name": "free", "namespace": "plans"}],
            },
            {"name": "anything-for-platform", "audience": {"teams": ["platform"]}},
        ],
    )
    payments = {TEAM: "payments", ORG: "acme"}
    # Plan refs in rules default to the catalogue's namespace ("apis").
    assert auto_approve_rule(catalogue, "apis", "gold", "pay", payments) == "gold-for-payments"
    assert auto_approve_rule(catalogue, "elsewhere", "gold", "pay", payments) is None
    assert auto_approve_rule(catalogue, "plans", "free", "pay", payments) == "free-for-acme"
    assert auto_approve_rule(catalogue, "apis", "free", "pay", payments) is None
    # A rule without `plans` covers every plan.
    assert auto_approve_rule(catalogue, "x", "y", "plat", {TEAM: "platform"}) == "anything-for-platform"
    assert auto_approve_rule(catalogue, "apis", "gold", "other", {TEAM: "other"}) is None


def test_no_auto_approve_rules_means_none() -> None:
    assert auto_approve_rule(_catalogue(visibility="Public"), "apis", "gold", "ns", LABELS) is None
