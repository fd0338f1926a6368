"""APIProduct and Plan: publish as Tyk policies, repair drift in bulk, delete safely."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Literal

from ..core.conditions import Outcome, Reason, named_list, ready_condition
from ..core.naming import ADOPT_POLICY_ANNOTATION
from ..core.policies import (
    merge_for_update,
    ownership_of,
    plan_policy,
    policy_changes,
    product_policy,
)
from ..core.resolve import ResolutionError, resolve_apis
from ..errors import ReconcileError, RetryableError, StalledError
from ..models import APIProduct, Plan
from ..tyk import TykAuthError, TykBackend, TykError, TykPolicyWritesRefused, TykUnavailable
from .context import Context, ProviderState
from .deletion import LEFT_PROVIDER_GONE, report_left_in_tyk, tyk_for_cleanup
from .providers import policy_writes_refused, resolve_provider

__all__ = [
    "PolicyObject",
    "desired_policy",
    "finalize_policy",
    "policy_left_behind",
    "reconcile_plan",
    "reconcile_product",
    "repair_drift",
    "tyk_failure",
]

log = logging.getLogger(__name__)

PolicyObject = APIProduct | Plan
Action = Literal["created", "updated", "unchanged"]


def tyk_failure(exc: TykError, doing: str) -> ReconcileError:
    """Translate a Tyk adapter error into a reconcile error with a readable message."""
    if isinstance(exc, TykUnavailable):
        return RetryableError(Reason.TYK_UNAVAILABLE, f"Tyk unavailable while {doing}: {exc}")
    if isinstance(exc, TykAuthError):
        return RetryableError(
            Reason.PROVIDER_NOT_READY, f"Tyk rejected the provider's credentials while {doing}"
        )
    message = getattr(exc, "tyk_message", "") or str(exc)
    return StalledError(Reason.TYK_REJECTED, f"Tyk rejected {doing}: {message}")


def _adopted_id(obj: PolicyObject) -> str | None:
    return obj.annotations.get(ADOPT_POLICY_ANNOTATION) or None


def desired_policy(obj: PolicyObject, provider: ProviderState, pid: str | None) -> dict[str, Any]:
    """The policy an object wants, from its spec and (for products) its resolved APIs in status."""
    try:
        if isinstance(obj, APIProduct):
            return product_policy(obj, obj.status.apis, provider.config, pid=pid)
        return plan_policy(obj, provider.config, pid=pid)
    except ValueError as exc:
        raise StalledError(Reason.INVALID_SPEC, str(exc)) from exc


async def _apply(backend: TykBackend, obj: PolicyObject, desired: dict[str, Any]) -> tuple[Action, list[str]]:
    pid = desired["id"]
    actual = await backend.get_policy(pid)
    if actual is None:
        await backend.create_policy(desired)
        return "created", []
    if ownership_of(actual, obj.uid) != "ours" and _adopted_id(obj) != pid:
        owner = (actual.get("meta_data") or {}).get("apiportal.dev/policy-of") or "no ownership mark"
        raise StalledError(
            Reason.OWNERSHIP_CONFLICT,
            f'Tyk policy "{pid}" exists and is not this object\'s ({owner}); to take it over, annotate '
            f"the object with {ADOPT_POLICY_ANNOTATION}={pid}",
        )
    changes = policy_changes(desired, actual)
    if not changes:
        return "unchanged", []
    await backend.update_policy(pid, merge_for_update(desired, actual))
    return "updated", changes


async def _publish(
    ctx: Context,
    plural: str,
    body: dict[str, Any],
    obj: PolicyObject,
    provider: ProviderState,
    extra_status: dict[str, Any],
) -> Outcome:
    assert provider.backend is not None  # resolve_provider guarantees it
    desired = desired_policy(obj, provider, _adopted_id(obj))
    try:
        action, changes = await _apply(provider.backend, obj, desired)
    except TykPolicyWritesRefused as exc:
        # The Gateway's configuration changed since the provider was checked: the provider stops
        # being Ready (its loop re-checks at once and says why); the object waits for it.
        message = policy_writes_refused(provider.name)
        ctx.provider_refused(provider.name, message)
        raise RetryableError(
            Reason.PROVIDER_NOT_READY, f'TykProvider "{provider.name}" is not Ready: {message}'
        ) from exc
    except TykError as exc:
        raise tyk_failure(exc, f"writing policy {desired['id']}") from exc
    kind = obj.kind_name
    if action == "created":
        ctx.emit(body, "Normal", "PolicyCreated", f"Created Tyk policy {desired['id']}")
    elif action == "updated":
        ctx.emit(
            body, "Normal", "PolicyUpdated", f"Updated Tyk policy {desired['id']} ({', '.join(changes)})"
        )
    log.info("Reconciled %s", kind, extra={"object": f"{obj.namespace}/{obj.name}", "action": action})
    outcome = Outcome(Reason.POLICY_SYNCED, f"Tyk policy {desired['id']} is in sync")
    await ctx.write_status(
        plural, body, outcome, {"policyID": desired["id"], "provider": provider.name, **extra_status}
    )
    return outcome


async def reconcile_product(ctx: Context, body: dict[str, Any]) -> Outcome:
    """Resolve the product's APIs and make its ACL policy match."""
    product = APIProduct.model_validate(body)
    provider = await resolve_provider(ctx, product.spec.provider_ref)
    assert provider.backend is not None
    try:
        available = await provider.backend.list_apis()
    except TykError as exc:
        raise tyk_failure(exc, "listing APIs") from exc
    try:
        resolved = resolve_apis(product.spec.apis, available)
    except ResolutionError as exc:
        raise StalledError(exc.reason, exc.message) from exc
    # Unset fields left out: the schema takes no nulls (e.g. `jwt` of a non-JWT API).
    apis = [api.model_dump(by_alias=True, exclude_none=True) for api in resolved]
    auth_type = resolved[0].auth_type if resolved else None
    # The desired policy is built from status.apis, as drift repair does, so both agree.
    product = product.model_copy(update={"status": product.status.model_copy(update={"apis": resolved})})
    return await _publish(ctx, "apiproducts", body, product, provider, {"apis": apis, "authType": auth_type})


async def reconcile_plan(ctx: Context, body: dict[str, Any]) -> Outcome:
    """Make the plan's rate-limit and quota policy match."""
    plan = Plan.model_validate(body)
    provider = await resolve_provider(ctx, plan.spec.provider_ref)
    return await _publish(ctx, "plans", body, plan, provider, {})


def policy_left_behind(body: dict[str, Any]) -> str | None:
    """What a product or plan would leave in Tyk if its clean-up were abandoned (None: nothing)."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if (spec.get("deletionPolicy") or "Delete") == "Orphan" or not status.get("policyID"):
        return None
    return f"policy {status['policyID']}"


async def finalize_policy(ctx: Context, body: dict[str, Any], referrers: list[str]) -> None:
    """Delete the object's policy from Tyk unless it is orphaned or still in use.

    Raises:
        RetryableError: `InUse` while referrers remain, or Tyk/provider trouble.
        StalledError: Tyk refused the deletion.
    """
    obj: PolicyObject = (
        APIProduct.model_validate(body) if body.get("kind") == "APIProduct" else Plan.model_validate(body)
    )
    left = policy_left_behind(body)
    pid = obj.status.policy_id
    if left is None or not pid or not obj.status.provider:
        return
    if referrers:
        raise RetryableError(
            Reason.IN_USE, f"Tyk policy {pid} is kept while these still use it: {named_list(referrers)}"
        )
    backend = await tyk_for_cleanup(ctx, obj.status.provider)
    if backend is None:
        await report_left_in_tyk(
            ctx,
            body,
            left,
            LEFT_PROVIDER_GONE,
            f"TykProvider {obj.status.provider} is gone",
            event_reason="PolicyOrphaned",
        )
        return
    try:
        actual = await backend.get_policy(pid)
        if actual is not None and ownership_of(actual, obj.uid) == "ours":
            await backend.delete_policy(pid)
            ctx.emit(body, "Normal", "PolicyDeleted", f"Deleted Tyk policy {pid}")
    except TykError as exc:
        raise tyk_failure(exc, f"deleting policy {pid}") from exc


def _in_sync_candidates(provider: str, bodies: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects whose status says they were published to this provider at their current generation."""
    out = []
    for body in bodies:
        status = body.get("status") or {}
        generation = (body.get("metadata") or {}).get("generation")
        if (
            ready_condition(body).get("status") == "True"
            and status.get("provider") == provider
            and status.get("policyID")
            and status.get("observedGeneration") == generation
            and not (body.get("metadata") or {}).get("deletionTimestamp")
        ):
            out.append(body)
    return out


async def repair_drift(ctx: Context, provider: ProviderState, bodies: Iterable[dict[str, Any]]) -> int:
    """Compare every in-sync product and plan of a provider with one policy list; repair differences.

    Steady state costs exactly one list request and no writes.

    Returns:
        The number of repaired policies.
    """
    assert provider.backend is not None
    candidates = _in_sync_candidates(provider.name, bodies)
    policies = await provider.backend.list_policies()
    by_id = {p.get("id"): p for p in policies}
    repaired = 0
    for body in candidates:
        obj: PolicyObject = (
            APIProduct.model_validate(body) if body.get("kind") == "APIProduct" else Plan.model_validate(body)
        )
        pid = obj.status.policy_id
        if not pid:
            continue
        try:
            desired = desired_policy(obj, provider, pid)
        except StalledError:
            continue
        actual = by_id.get(pid)
        if actual is not None and ownership_of(actual, obj.uid) != "ours" and _adopted_id(obj) != pid:
            continue
        changes = ["missing"] if actual is None else policy_changes(desired, actual)
        if not changes:
            continue
        async with ctx.lock(body.get("kind", ""), obj.namespace, obj.name):
            if actual is None:
                await provider.backend.create_policy(desired)
                message = f"Tyk policy {pid} was missing; recreated it"
            else:
                await provider.backend.update_policy(pid, merge_for_update(desired, actual))
                message = f"Tyk policy {pid} had drifted ({', '.join(changes)}); restored it"
        repaired += 1
        ctx.emit(body, "Normal", "DriftRepaired", message)
        log.info("Repaired drifted policy", extra={"policy": pid, "changes": changes})
    return repaired
