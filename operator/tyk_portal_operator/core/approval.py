"""Whether a ProvisioningRequest may be served, and whether it is approved.

The service gathers everything a request refers to into `RequestInputs` (from indexes or API
reads); these functions then evaluate it without I/O. Eligibility is a chain of small, named
checks evaluated in order; the first failing one becomes the request's `Ready=False` outcome
(the shape of cert-manager's readiness policy chain).

References of a request default to the request's namespace (the referrer's), like every
`NamespacedObjectRef`; references inside a catalogue default to the catalogue's namespace.

A decision in `status.approval` is final, as with CertificateSigningRequests: nothing here ever
changes one. The operator writes a decision only to approve automatically (an `Automatic` plan
or a catalogue `autoApprove` rule); denials always come from a person.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..models import APIProduct, Approval, Catalogue, ConsumerApp, Plan, ProvisioningRequest
from .conditions import Outcome, Reason, named_list
from .credential_types import credential_type_of
from .credentials import format_time
from .naming import MANAGED_BY
from .visibility import (
    ORGANISATION_LABEL,
    TEAM_LABEL,
    auto_approve_rule,
    catalogue_visible_to,
    ref_key,
)

__all__ = [
    "ELIGIBILITY_CHAIN",
    "Check",
    "ObjectKey",
    "RequestInputs",
    "approval_outcome",
    "check_app_exists",
    "check_auth_type",
    "check_catalogue_exists",
    "check_eligibility",
    "check_plan_in_catalogue",
    "check_plan_ready",
    "check_products_in_catalogue",
    "check_products_ready",
    "check_same_provider",
    "check_visible",
    "decide_approval",
    "is_ready",
    "plan_key",
    "product_keys",
]

ObjectKey = tuple[str, str]
"""`(namespace, name)` of a referenced object."""


def product_keys(request: ProvisioningRequest) -> list[ObjectKey]:
    """The `(namespace, name)` of each requested product, in the request's order."""
    home = request.namespace or ""
    return [ref_key(ref, home) for ref in request.spec.products]


def plan_key(request: ProvisioningRequest) -> ObjectKey:
    """The `(namespace, name)` of the requested plan."""
    return ref_key(request.spec.plan_ref, request.namespace or "")


@dataclass(frozen=True)
class RequestInputs:
    """Everything a request refers to, gathered by the caller.

    Attributes:
        request: The request.
        namespace_labels: Labels of the request's namespace.
        app: The ConsumerApp named by `spec.appRef` (None: not found).
        catalogue: The Catalogue named by `spec.catalogueRef` (None: not found).
        products: Each requested product by `(namespace, name)` (see `product_keys`); None or
            a missing entry means not found.
        plan: The requested Plan (None: not found).
    """

    request: ProvisioningRequest
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    app: ConsumerApp | None = None
    catalogue: Catalogue | None = None
    products: Mapping[ObjectKey, APIProduct | None] = field(default_factory=dict)
    plan: Plan | None = None

    @property
    def namespace(self) -> str:
        """The request's namespace."""
        return self.request.namespace or ""


Check = Callable[[RequestInputs], Outcome | None]
"""One eligibility check: None when it passes, the failure's outcome otherwise."""


def is_ready(obj: APIProduct | Plan) -> bool:
    """Whether a product or plan can be used: condition Ready=True and a policy id in status."""
    ready = any(c.type == "Ready" and c.status == "True" for c in obj.status.conditions)
    return ready and bool(obj.status.policy_id)


def _ready_message(obj: APIProduct | Plan) -> str:
    for condition in obj.status.conditions:
        if condition.type == "Ready" and condition.status != "True":
            return f"{condition.reason}: {condition.message}" if condition.message else condition.reason
    return "no Ready condition yet"


def _label(kind: str, key: ObjectKey) -> str:
    return f"{kind} {key[0]}/{key[1]}"


def _catalogue_label(inputs: RequestInputs) -> str:
    return _label("Catalogue", ref_key(inputs.request.spec.catalogue_ref, inputs.namespace))


def check_app_exists(inputs: RequestInputs) -> Outcome | None:
    """The ConsumerApp named by `spec.appRef` exists in the request's namespace."""
    if inputs.app is not None:
        return None
    name = inputs.request.spec.app_ref.name
    return Outcome(
        Reason.APP_NOT_FOUND,
        f"ConsumerApp {name} not found in namespace {inputs.namespace}: create it, "
        "or create a new request naming an existing app (appRef is immutable)",
    )


def check_catalogue_exists(inputs: RequestInputs) -> Outcome | None:
    """The Catalogue named by `spec.catalogueRef` exists."""
    if inputs.catalogue is not None:
        return None
    return Outcome(
        Reason.CATALOGUE_NOT_FOUND,
        f"{_catalogue_label(inputs)} not found: check the name and namespace in spec.catalogueRef "
        "(`kubectl get catalogues -A` lists them)",
    )


def check_visible(inputs: RequestInputs) -> Outcome | None:
    """The catalogue is visible to the request's namespace."""
    catalogue = inputs.catalogue
    if catalogue is None or catalogue_visible_to(catalogue, inputs.namespace, inputs.namespace_labels):
        return None
    team = inputs.namespace_labels.get(TEAM_LABEL)
    organisation = inputs.namespace_labels.get(ORGANISATION_LABEL)
    return Outcome(
        Reason.NOT_VISIBLE,
        f"{_catalogue_label(inputs)} is Private and namespace {inputs.namespace} "
        f"({TEAM_LABEL}={team or '<unset>'}, {ORGANISATION_LABEL}={organisation or '<unset>'}) "
        "is not in its audience: ask its owners to add your team, or request through another catalogue",
    )


def _listed(catalogue: Catalogue, kind: str) -> set[ObjectKey]:
    home = catalogue.namespace or ""
    refs = catalogue.spec.products if kind == "APIProduct" else catalogue.spec.plans
    return {ref_key(ref, home) for ref in refs}


def check_products_in_catalogue(inputs: RequestInputs) -> Outcome | None:
    """Every requested product is listed in the catalogue."""
    if inputs.catalogue is None:
        return None
    listed = _listed(inputs.catalogue, "APIProduct")
    missing = [key for key in product_keys(inputs.request) if key not in listed]
    if not missing:
        return None
    names = ", ".join(_label("APIProduct", key) for key in missing)
    return Outcome(
        Reason.NOT_IN_CATALOGUE,
        f"{names} {'is' if len(missing) == 1 else 'are'} not listed in {_catalogue_label(inputs)}: "
        "create a new request for products the catalogue offers (`kubectl get catalogue -o yaml`)",
    )


def check_plan_in_catalogue(inputs: RequestInputs) -> Outcome | None:
    """The requested plan is listed in the catalogue."""
    if inputs.catalogue is None:
        return None
    key = plan_key(inputs.request)
    if key in _listed(inputs.catalogue, "Plan"):
        return None
    return Outcome(
        Reason.NOT_IN_CATALOGUE,
        f"{_label('Plan', key)} is not listed in {_catalogue_label(inputs)}: "
        "create a new request on a plan the catalogue offers",
    )


def check_products_ready(inputs: RequestInputs) -> Outcome | None:
    """Every requested product exists and is Ready with a policy id."""
    for key in product_keys(inputs.request):
        product = inputs.products.get(key)
        if product is None:
            return Outcome(
                Reason.DEPENDENCY_NOT_READY,
                f"{_label('APIProduct', key)} not found; the request proceeds once it exists and is Ready",
            )
        if not is_ready(product):
            return Outcome(
                Reason.DEPENDENCY_NOT_READY,
                f"{_label('APIProduct', key)} is not Ready ({_ready_message(product)})",
            )
    return None


def check_plan_ready(inputs: RequestInputs) -> Outcome | None:
    """The requested plan exists and is Ready with a policy id."""
    key = plan_key(inputs.request)
    if inputs.plan is None:
        return Outcome(
            Reason.DEPENDENCY_NOT_READY,
            f"{_label('Plan', key)} not found; the request proceeds once it exists and is Ready",
        )
    if not is_ready(inputs.plan):
        return Outcome(
            Reason.DEPENDENCY_NOT_READY, f"{_label('Plan', key)} is not Ready ({_ready_message(inputs.plan)})"
        )
    return None


_SHOWN_PROBLEMS = 3
"""How many APIs' problems an `AuthTypeMismatch` message spells out (messages stay short)."""


def check_auth_type(inputs: RequestInputs) -> Outcome | None:
    """Every API of the requested products accepts the request's credential type: it uses one of the
    type's `auth_types`, and the type finds no other problem with it (`api_problem`).

    Checked before approval and before anything is written to Tyk: a credential that cannot
    authenticate to the APIs it is for is not issued.
    """
    kind = credential_type_of(inputs.request)
    apis = [
        (key, api)
        for key in product_keys(inputs.request)
        if (product := inputs.products.get(key)) is not None
        for api in product.status.apis
    ]
    wrong = [
        f"{api.name} ({api.auth_type}, in {_label('APIProduct', key)})"
        for key, api in apis
        if api.auth_type not in kind.auth_types
    ]
    accepted = ", ".join(sorted(kind.auth_types))
    if wrong:
        return Outcome(
            Reason.AUTH_TYPE_MISMATCH,
            f"{kind.name} credentials authenticate only to APIs using {accepted}, but these APIs use "
            f"another authentication: {named_list(wrong)}; create a new request for products whose APIs "
            f"use {accepted}",
        )
    problems = [
        f"API {api.name} (in {_label('APIProduct', key)}) {problem}"
        for key, api in apis
        if (problem := kind.api_problem(api)) is not None
    ]
    if not problems:
        return None
    return Outcome(
        Reason.AUTH_TYPE_MISMATCH,
        f"{kind.name} credentials cannot authenticate to every API of the request: "
        + "; ".join(problems[:_SHOWN_PROBLEMS])
        + (f"; and {len(problems) - _SHOWN_PROBLEMS} more" if len(problems) > _SHOWN_PROBLEMS else "")
        + f"; create a new request for products whose APIs take {kind.name} credentials",
    )


def check_same_provider(inputs: RequestInputs) -> Outcome | None:
    """The products and the plan are all published to the same TykProvider."""
    placed: list[tuple[str, str | None]] = [
        (_label("APIProduct", key), product.status.provider)
        for key in product_keys(inputs.request)
        if (product := inputs.products.get(key)) is not None
    ]
    if inputs.plan is not None:
        placed.append((_label("Plan", plan_key(inputs.request)), inputs.plan.status.provider))
    if len({provider for _, provider in placed}) <= 1:
        return None
    where = ", ".join(f"{label} on {provider or '<none>'}" for label, provider in placed)
    return Outcome(
        Reason.PROVIDER_MISMATCH,
        f"the products and the plan must be on one TykProvider, but: {where}; "
        "create a new request whose products and plan share a provider",
    )


ELIGIBILITY_CHAIN: tuple[Check, ...] = (
    check_app_exists,
    check_catalogue_exists,
    check_visible,
    check_products_in_catalogue,
    check_plan_in_catalogue,
    check_products_ready,
    check_plan_ready,
    check_same_provider,
    check_auth_type,
)
"""The checks `check_eligibility` runs, in order."""


def check_eligibility(inputs: RequestInputs, chain: tuple[Check, ...] = ELIGIBILITY_CHAIN) -> Outcome | None:
    """The first failing eligibility check of a request.

    Args:
        inputs: The gathered inputs.
        chain: The checks to run (the default chain unless a test says otherwise).

    Returns:
        The failing check's outcome (`AppNotFound`, `CatalogueNotFound`, `NotVisible`,
        `NotInCatalogue`, `DependencyNotReady`, `ProviderMismatch` or `AuthTypeMismatch`), or None
        when eligible.
    """
    for check in chain:
        outcome = check(inputs)
        if outcome is not None:
            return outcome
    return None


def decide_approval(inputs: RequestInputs, now: datetime.datetime) -> Approval | None:
    """The request's approval decision.

    Args:
        inputs: The gathered inputs.
        now: The current time (the decision's `time`).

    Returns:
        The existing `status.approval` unchanged when there is one (decisions are final);
        otherwise, for an eligible request only, an approval by `tyk-portal-operator` when the
        plan's `spec.approval` is `Automatic` or a catalogue `autoApprove` rule covers the
        requester and plan; otherwise None (awaiting a person's decision).
    """
    existing = inputs.request.status.approval
    if existing is not None:
        return existing
    if check_eligibility(inputs) is not None or inputs.plan is None or inputs.catalogue is None:
        return None
    plan_namespace, plan_name = plan_key(inputs.request)
    if inputs.plan.spec.approval == "Automatic":
        reason = f"plan {plan_name} approves automatically"
    else:
        rule = auto_approve_rule(
            inputs.catalogue, plan_namespace, plan_name, inputs.namespace, inputs.namespace_labels
        )
        if rule is None:
            return None
        catalogue = f"{inputs.catalogue.namespace}/{inputs.catalogue.name}"
        reason = f"auto-approve rule {rule} of catalogue {catalogue} matches namespace {inputs.namespace}"
    return Approval(decision="Approved", reason=reason, time=format_time(now), by=MANAGED_BY)


def approval_outcome(approval: Approval | None, request: ProvisioningRequest | None = None) -> Outcome | None:
    """The outcome an approval state imposes, or None when the request may proceed.

    Args:
        approval: The request's decision (None: undecided).
        request: The request, to name it in the message on how to approve.

    Returns:
        `Denied` with who denied it and why; `AwaitingApproval` with the command that approves
        it when undecided; None when approved.
    """
    if approval is None:
        name = request.name if request is not None else "NAME"
        namespace = (request.namespace if request is not None else None) or "NAMESPACE"
        return Outcome(
            Reason.AWAITING_APPROVAL,
            f"waiting for an approver: kubectl portal approve {name} -n {namespace} --reason '...' "
            f"(or kubectl portal deny {name} -n {namespace} --reason '...')",
        )
    if approval.decision == "Denied":
        by = approval.by or "an approver"
        detail = f": {approval.reason}" if approval.reason else ""
        return Outcome(Reason.DENIED, f"denied by {by}{detail} (decisions are final: create a new request)")
    return None
