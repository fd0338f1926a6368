"""ProvisioningRequest: eligibility and approval, then the credential's lifecycle.

What happens to the credential (issue, rotate, renew, suspend, recover a lost Secret, revoke) is
planned by `core/lifecycle.py` from the Secret, what Tyk holds and the time; this module gathers
those inputs, has the plan carried out (`services/credentials.py`) and reports the outcome. Crash
safety comes from the plan's order: material in the Secret first, then Tyk, so any retry finds the
material in the Secret and makes Tyk match it.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from ..core.approval import (
    RequestInputs,
    approval_outcome,
    check_eligibility,
    decide_approval,
    plan_key,
    product_keys,
)
from ..core.conditions import Outcome, Reason, Severity
from ..core.credential_types import credential_type_of
from ..core.credentials import renew_before_seconds
from ..core.durations import parse_duration
from ..core.lifecycle import (
    LifecycleInputs,
    plan_credential,
    plan_revocation,
    read_record,
)
from ..core.naming import secret_name_for
from ..core.policies import ProviderConfig, plan_policy, product_policy
from ..core.visibility import ref_key
from ..errors import ReconcileError, RetryableError, StalledError
from ..kube import KubeConflict, KubeInvalid
from ..models import Approval, ProvisioningRequest
from ..models.base import LocalObjectRef
from ..tyk import TykError
from .context import Context
from .credentials import entropy, execute, observe, remember
from .deletion import LEFT_PROVIDER_GONE, report_left_in_tyk, tyk_for_cleanup
from .mtls import mutual_tls_inputs
from .policies import tyk_failure
from .providers import resolve_provider

__all__ = ["finalize_request", "gather_inputs", "key_left_behind", "reconcile_request"]

log = logging.getLogger(__name__)


async def gather_inputs(ctx: Context, request: ProvisioningRequest) -> RequestInputs:
    """Everything eligibility and approval depend on, from the watch-fed view (no API reads once warm)."""
    namespace = request.namespace or ""
    view = ctx.view
    cat_ns, cat_name = ref_key(request.spec.catalogue_ref, namespace)
    products = {key: await view.product(*key) for key in product_keys(request)}
    return RequestInputs(
        request=request,
        namespace_labels=await view.namespace_labels(namespace),
        app=await view.app(namespace, request.spec.app_ref.name),
        catalogue=await view.catalogue(cat_ns, cat_name),
        products=products,
        plan=await view.plan(*plan_key(request)),
    )


def _note_persons_decision(
    ctx: Context, body: dict[str, Any], request: ProvisioningRequest, approval: Approval
) -> None:
    """A decision written by a person (through the status subresource), seen for the first time by
    this process: an Event names who decided, once (not again after a restart)."""
    ctx.decisions[request.uid] = approval
    ready = next((c for c in request.status.conditions if c.type == "Ready"), None)
    already_shown = ready is not None and (
        ready.reason == "Denied" if approval.decision == "Denied" else ready.reason != "AwaitingApproval"
    )
    if already_shown:
        return
    by = approval.by or "an approver"
    detail = f": {approval.reason}" if approval.reason else ""
    event_type = "Normal" if approval.decision == "Approved" else "Warning"
    ctx.emit(body, event_type, approval.decision, f"{approval.decision} by {by}{detail}")


async def _record_decision(
    ctx: Context, body: dict[str, Any], request: ProvisioningRequest, approval: Approval
) -> Approval:
    """Write an automatic approval; when a decision landed first (a person, a racing reconcile), use it."""
    namespace = request.namespace or ""
    try:
        await ctx.kube.patch_status(
            "provisioningrequests",
            namespace,
            request.name,
            {"approval": approval.model_dump(exclude_none=True)},
        )
    except KubeInvalid:
        # The CRD refuses to change a decision: someone decided in the meantime; read theirs.
        current = await ctx.kube.get_resource("provisioningrequests", namespace, request.name)
        found = ((current or {}).get("status") or {}).get("approval")
        if not found:
            raise
        approval = Approval.model_validate(found)
    else:
        ctx.emit(body, "Normal", "Approved", approval.reason or "approved")
    ctx.decisions[request.uid] = approval
    body.setdefault("status", {})["approval"] = approval.model_dump(exclude_none=True)
    return approval


def _raise_for(outcome: Outcome) -> None:
    if outcome.reason.severity in (Severity.PROGRESSING, Severity.WAITING):
        raise RetryableError(outcome.reason, outcome.message)
    raise StalledError(outcome.reason, outcome.message)


async def reconcile_request(ctx: Context, body: dict[str, Any]) -> Outcome:
    """Bring one request to its desired state; raises Retryable/StalledError when it cannot."""
    request = ProvisioningRequest.model_validate(body)
    now = ctx.clock()
    inputs = await gather_inputs(ctx, request)

    # A decision this process already wrote counts even when this copy of the object predates it, so
    # a request is never approved twice (the API server refuses a second decision anyway).
    approval = request.status.approval or ctx.decisions.get(request.uid)
    if request.status.approval is not None and request.uid not in ctx.decisions:
        _note_persons_decision(ctx, body, request, request.status.approval)
    if approval is None or approval.decision == "Approved":
        failure = check_eligibility(inputs)
        if failure is not None:
            _raise_for(failure)
    new_decision: Approval | None = None
    if approval is None:
        approval = new_decision = decide_approval(inputs, now)
        if new_decision is not None:
            ctx.decisions[request.uid] = new_decision
    waiting = approval_outcome(approval, request)
    if waiting is not None:
        _raise_for(waiting)
    assert approval is not None

    try:
        outcome, fields = await _issue(ctx, body, request, inputs, now)
    except ReconcileError:
        if new_decision is not None:  # the decision is recorded even when issuing has to wait
            await _record_decision(ctx, body, request, new_decision)
        raise
    if new_decision is not None:
        # One status write for the decision and the credential (the API server keeps decisions final).
        fields["approval"] = new_decision.model_dump(exclude_none=True)
    await ctx.write_status("provisioningrequests", body, outcome, fields)
    if new_decision is not None:
        ctx.emit(body, "Normal", "Approved", new_decision.reason or "approved")
    return outcome


async def _issue(
    ctx: Context,
    body: dict[str, Any],
    request: ProvisioningRequest,
    inputs: RequestInputs,
    now: datetime.datetime,
) -> tuple[Outcome, dict[str, Any]]:
    """Bring the approved request's credential to its next state (see `core/lifecycle.py`). Returns the
    outcome and the status fields to write."""
    namespace = request.namespace or ""
    plan = inputs.plan
    assert plan is not None
    product_ids = [str(p.status.policy_id) for p in inputs.products.values() if p is not None]
    provider_ref = LocalObjectRef(name=plan.status.provider) if plan.status.provider else None
    provider = await resolve_provider(ctx, provider_ref)
    assert provider.backend is not None
    kind = credential_type_of(request)
    try:
        key_expiry = parse_duration(plan.spec.key_expiry) if plan.spec.key_expiry else None
        renew_before = renew_before_seconds(plan)
    except ValueError as exc:  # the plan is not Ready with such a spec; this is a safeguard
        raise StalledError(Reason.DEPENDENCY_NOT_READY, f"Plan {plan.namespace}/{plan.name}: {exc}") from exc
    planned = request  # the request as the lifecycle sees it
    if kind.name == "MutualTLS":
        kind, planned, renew_before = await mutual_tls_inputs(ctx, request, provider.gateway_ca, renew_before)

    secret_name = secret_name_for(request.name, request.spec.secret_name)
    # A request never issued has no Secret of ours yet: skip reading it and create it. A Secret that
    # is there already (someone else's, or ours from an attempt cut short before status was written)
    # makes the create fail; the next attempt then reads it first.
    optimistic = (
        not request.status.issued_at
        and not request.status.key_hash
        and request.uid not in ctx.read_secret_first
    )
    try:
        secret = None if optimistic else await ctx.kube.get_secret(namespace, secret_name)
        record = read_record(secret, request.uid, kind)
        remember(m for m in (record.current, record.previous) if m is not None)
        lifecycle = plan_credential(
            LifecycleInputs(
                request=planned,
                app=inputs.app,
                credential_type=kind,
                products=tuple(f"{k[0]}/{k[1]}" for k in product_keys(request)),
                plan_ref=f"{plan.namespace}/{plan.name}",
                policy_ids=(*product_ids, str(plan.status.policy_id)),
                key_expiry=key_expiry,
                renew_before=renew_before,
                provider=provider.config,
                secret_name=secret_name,
                secret=record,
                observed=await observe(provider.backend, kind, record),
                now=now,
                apis=tuple(api for p in inputs.products.values() if p is not None for api in p.status.apis),
                policies=_grant_policies(inputs, provider.config),
            ),
            entropy,
        )
        if lifecycle.stalled:
            raise StalledError(lifecycle.outcome.reason, lifecycle.outcome.message)
        remember(lifecycle.materials)
        created = await execute(ctx, body, provider.backend, lifecycle.actions)
    except KubeConflict as exc:
        if optimistic:
            ctx.read_secret_first.add(request.uid)
            raise RetryableError(
                Reason.RECONCILING, f"Secret {secret_name} exists already; reading it", retry_after=0.0
            ) from exc
        raise RetryableError(
            Reason.RECONCILING, f"Secret {secret_name} changed while writing it; retrying"
        ) from exc
    except TykError as exc:
        error = tyk_failure(exc, "writing the credential")
        ctx.tyk_failed(provider.name, error.reason is Reason.TYK_UNAVAILABLE, error.message)
        raise error from exc

    for event_type, reason, message in lifecycle.events:
        ctx.emit(body, event_type, reason, message)
    return lifecycle.outcome, lifecycle.status_fields(created)


def _grant_policies(inputs: RequestInputs, provider: ProviderConfig) -> tuple[dict[str, Any], ...]:
    """The products' and the plan's desired policies, in the grant's order (for types that combine
    them, see `core/credential_type_oauth.py`)."""
    plan = inputs.plan
    assert plan is not None
    products = [
        product_policy(p, p.status.apis, provider, pid=p.status.policy_id)
        for p in inputs.products.values()
        if p is not None
    ]
    try:
        return (*products, plan_policy(plan, provider, pid=plan.status.policy_id))
    except ValueError as exc:  # the plan is not Ready with such a spec; this is a safeguard
        raise StalledError(Reason.DEPENDENCY_NOT_READY, f"Plan {plan.namespace}/{plan.name}: {exc}") from exc


def key_left_behind(body: dict[str, Any]) -> str | None:
    """What a request would leave in Tyk if its revocation were abandoned (None: nothing)."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if (spec.get("deletionPolicy") or "Revoke") == "Orphan" or not status.get("provider"):
        return None
    metadata = body.get("metadata") or {}
    what = f"the key of {metadata.get('namespace')}/{metadata.get('name')}"
    hashes = [h for h in (status.get("keyHash"), status.get("previousKeyHash")) if h]
    return f"{what} (hash {', '.join(hashes)})" if hashes else what


async def finalize_request(ctx: Context, body: dict[str, Any]) -> None:
    """Revoke the request's keys in Tyk and delete its Secret (or, for Orphan, keep both).

    Raises:
        RetryableError: the provider is not Ready or Tyk is unavailable (the caller decides whether
            deletion waits).
        StalledError: Tyk refused the revocation.
    """
    request = ProvisioningRequest.model_validate(body)
    namespace = request.namespace or ""
    secret_name = request.status.secret_name or secret_name_for(request.name, request.spec.secret_name)
    secret = await ctx.kube.get_secret(namespace, secret_name)
    kind = credential_type_of(request)
    record = read_record(secret, request.uid, kind)
    owned = record.owned
    if (request.spec.deletion_policy or "Revoke") == "Orphan":
        if owned and secret is not None:
            # Keep the Secret: without the ownerReference the garbage collector leaves it alone.
            kept = {**secret, "metadata": {**secret["metadata"], "ownerReferences": None}}
            await ctx.kube.replace_secret(namespace, secret_name, kept)
        return
    left = key_left_behind(body)
    if left is None or not request.status.provider:
        if owned:
            await ctx.kube.delete_secret(namespace, secret_name)
        return
    backend = await tyk_for_cleanup(ctx, request.status.provider)
    if backend is None:
        await report_left_in_tyk(
            ctx,
            body,
            left,
            LEFT_PROVIDER_GONE,
            f"TykProvider {request.status.provider} is gone",
            event_reason="KeyOrphaned",
        )
        if owned:
            await ctx.kube.delete_secret(namespace, secret_name)
        return
    remember(m for m in (record.current, record.previous) if m is not None)
    try:
        await execute(ctx, body, backend, plan_revocation(request, kind, record))
    except TykError as exc:
        raise tyk_failure(exc, "revoking the credential") from exc
    if owned:
        await ctx.kube.delete_secret(namespace, secret_name)
    ctx.emit(body, "Normal", "Revoked", "Revoked the credential in Tyk and deleted the Secret")
