"""What a team may request, and the state of its requests: pure functions over models.

No I/O: the adapters read catalogues, products, plans, namespaces and requests; these functions
decide what a namespace sees with the operator's own rules (`core.visibility.catalogue_visible_to`
and `core.visibility.auto_approve_rule`, `core.approval.is_ready`), so the portal can never show an
offer the operator would refuse.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..core.approval import is_ready
from ..core.credentials import parse_time
from ..core.visibility import TEAM_LABEL, auto_approve_rule, catalogue_visible_to, ref_key
from ..models import APIProduct, Catalogue, Plan, ProvisioningRequest

__all__ = [
    "CatalogueOffer",
    "Offer",
    "PlanOffer",
    "ProductOffer",
    "RequestState",
    "Team",
    "find_offer",
    "matches",
    "offers_for",
    "quota_text",
    "rate_text",
    "request_state",
]

ObjectKey = tuple[str, str]
EXPIRING_WITHIN = datetime.timedelta(days=14)


@dataclass(frozen=True)
class Team:
    """A namespace a person may request access from, with its labels."""

    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def team(self) -> str:
        """The team label, or the namespace name when unlabelled."""
        return self.labels.get(TEAM_LABEL) or self.namespace


def rate_text(plan: Plan) -> str:
    """The rate limit, e.g. `1000 requests per 1m` (or `no rate limit`)."""
    rate = plan.spec.rate_limit
    return f"{rate.requests} requests per {rate.per}" if rate else "no rate limit"


def quota_text(plan: Plan) -> str:
    """The quota, e.g. `10000 per 30d` (or `unlimited`)."""
    quota = plan.spec.quota
    if quota is None or quota.unlimited or quota.max is None:
        return "unlimited"
    return f"{quota.max} per {quota.renewal_period}"


@dataclass(frozen=True)
class PlanOffer:
    """A plan as offered to one namespace through one catalogue."""

    plan: Plan
    approval: str
    """`Automatic`, `Manual`, or `Automatic (rule <name>)` when an autoApprove rule covers the team."""

    @property
    def key(self) -> ObjectKey:
        return (self.plan.namespace or "", self.plan.name)


@dataclass(frozen=True)
class ProductOffer:
    """A product listed in a catalogue."""

    product: APIProduct

    @property
    def key(self) -> ObjectKey:
        return (self.product.namespace or "", self.product.name)

    @property
    def ready(self) -> bool:
        return is_ready(self.product)


@dataclass(frozen=True)
class CatalogueOffer:
    """A catalogue visible to a namespace, with its existing products and plans."""

    catalogue: Catalogue
    products: tuple[ProductOffer, ...]
    plans: tuple[PlanOffer, ...]

    @property
    def key(self) -> ObjectKey:
        return (self.catalogue.namespace or "", self.catalogue.name)


@dataclass(frozen=True)
class Offer:
    """Everything one namespace may request."""

    team: Team
    catalogues: tuple[CatalogueOffer, ...]


def _plan_approval(catalogue: Catalogue, plan: Plan, team: Team) -> str:
    if plan.spec.approval == "Automatic":
        return "Automatic"
    rule = auto_approve_rule(catalogue, plan.namespace or "", plan.name, team.namespace, team.labels)
    return f"Automatic (rule {rule})" if rule else "Manual"


def offers_for(
    team: Team,
    catalogues: Iterable[Catalogue],
    products: Mapping[ObjectKey, APIProduct],
    plans: Mapping[ObjectKey, Plan],
) -> Offer:
    """The catalogues `team` may request through, each with the products and plans it lists.

    Args:
        team: The requesting namespace and its labels.
        catalogues: Every catalogue (any namespace).
        products: Products by `(namespace, name)`.
        plans: Plans by `(namespace, name)`.

    Returns:
        The visible catalogues sorted by namespace and name; references to objects that do not
        exist are left out.
    """
    visible = []
    for catalogue in sorted(catalogues, key=lambda c: (c.namespace or "", c.name)):
        if not catalogue_visible_to(catalogue, team.namespace, team.labels):
            continue
        home = catalogue.namespace or ""
        listed_products = tuple(
            ProductOffer(product)
            for ref in catalogue.spec.products
            if (product := products.get(ref_key(ref, home))) is not None
        )
        listed_plans = tuple(
            PlanOffer(plan, _plan_approval(catalogue, plan, team))
            for ref in catalogue.spec.plans
            if (plan := plans.get(ref_key(ref, home))) is not None
        )
        visible.append(CatalogueOffer(catalogue, listed_products, listed_plans))
    return Offer(team, tuple(visible))


def find_offer(offer: Offer, catalogue: ObjectKey, product: ObjectKey, plan: ObjectKey) -> PlanOffer | None:
    """The plan offer when `offer` allows requesting `product` on `plan` through `catalogue`."""
    for entry in offer.catalogues:
        if entry.key != catalogue or product not in {p.key for p in entry.products}:
            continue
        for plan_offer in entry.plans:
            if plan_offer.key == plan:
                return plan_offer
    return None


def matches(product: APIProduct, query: str, lifecycle: str = "", tag: str = "") -> bool:
    """Whether a product matches a free-text search and the lifecycle and tag filters."""
    spec = product.spec
    if lifecycle and (spec.lifecycle or "") != lifecycle:
        return False
    if tag and tag not in (spec.tags or []):
        return False
    words = query.lower().split()
    if not words:
        return True
    haystack = " ".join(
        [
            product.name,
            spec.display_name,
            spec.description or "",
            (spec.owner.team or "") if spec.owner else "",
            " ".join(spec.tags or []),
        ]
    ).lower()
    return all(word in haystack for word in words)


@dataclass(frozen=True)
class RequestState:
    """How a request is doing, in words a consumer understands."""

    label: str
    """`waiting for approval`, `denied`, `approved`, `issued`, `suspended`, `expiring`, `not ready`."""
    detail: str
    tone: str
    """`ok`, `wait`, `bad`: for styling."""


def _ready_condition(request: ProvisioningRequest) -> tuple[str, str, str] | None:
    for condition in request.status.conditions:
        if condition.type == "Ready":
            return condition.status, condition.reason, condition.message
    return None


def request_state(request: ProvisioningRequest, now: datetime.datetime) -> RequestState:
    """A request's state for the portal's pages.

    Args:
        request: The request.
        now: The current time (for `expiring`: the key expires within 14 days).
    """
    approval = request.status.approval
    condition = _ready_condition(request)
    message = condition[2] if condition else ""
    if request.spec.suspended or request.status.suspended:
        return RequestState("suspended", "spec.suspended is true: the key is disabled", "wait")
    if approval is None:
        if condition is not None and condition[1] not in ("AwaitingApproval", ""):
            return RequestState("not ready", f"{condition[1]}: {message}", "bad")
        return RequestState("waiting for approval", "an approver has not decided yet", "wait")
    if approval.decision == "Denied":
        return RequestState("denied", f"by {approval.by or 'an approver'}: {approval.reason or ''}", "bad")
    if condition is not None and condition[0] == "True":
        expires = parse_time(request.status.expires_at)
        if expires is not None and expires - now <= EXPIRING_WITHIN:
            return RequestState("expiring", f"the key expires at {request.status.expires_at}", "wait")
        return RequestState("issued", f"approved by {approval.by or 'an approver'}", "ok")
    if condition is not None and condition[1] not in ("", "AwaitingApproval"):
        return RequestState("approved", f"{condition[1]}: {message}", "wait")
    return RequestState("approved", "the operator is issuing the credential", "wait")


def sorted_requests(requests: Sequence[ProvisioningRequest]) -> list[ProvisioningRequest]:
    """Requests by namespace and name."""
    return sorted(requests, key=lambda r: (r.namespace or "", r.name))
