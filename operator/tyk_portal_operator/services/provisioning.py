"""ProvisioningRequest: eligibility, approval, crash-safe issuance, rotation, suspension, revocation.

Crash safety: a new key is generated here, written to the Secret first, and only then created in
Tyk under that custom id. Any retry finds the key in the Secret and makes Tyk match it, so there is
exactly one key per request and a key deleted in Tyk by hand is restored.
"""

from __future__ import annotations

import datetime
import logging
import secrets
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
from ..core.credentials import (
    credential_fingerprint,
    expiry_for,
    format_time,
    key_from_entropy,
    key_session,
    merge_session_for_update,
    next_rotation_time,
    parse_time,
    previous_key_expired,
    previous_key_expires_at,
    read_keys,
    render_secret,
    rotation_due,
    secret_owned_by,
    session_differs,
)
from ..core.durations import parse_duration
from ..core.naming import REQUEST_FINALIZER, ROTATE_ANNOTATION, secret_name_for
from ..core.visibility import ref_key
from ..errors import ReconcileError, RetryableError, StalledError
from ..kube import KubeConflict, KubeInvalid
from ..logging_setup import remember_secret
from ..models import Approval, ProvisioningRequest
from ..models.base import LocalObjectRef
from ..tyk import TykBackend, TykError
from .context import Context
from .deletion import LEFT_PROVIDER_GONE, report_left_in_tyk, tyk_for_cleanup
from .policies import tyk_failure
from .providers import resolve_provider

__all__ = ["finalize_request", "gather_inputs", "key_left_behind", "reconcile_request"]

log = logging.getLogger(__name__)


def new_key() -> str:
    """A fresh credential: 256 bits from the OS's CSPRNG."""
    key = key_from_entropy(secrets.token_bytes(32))
    remember_secret(key)
    return key


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


async def _ensure_finalizer(ctx: Context, body: dict[str, Any]) -> None:
    """The request's finalizer is there before its key is in Tyk, so deletion always revokes it."""
    metadata = body.setdefault("metadata", {})
    finalizers = list(metadata.get("finalizers") or [])
    if REQUEST_FINALIZER in finalizers:
        return
    await ctx.kube.add_finalizer(
        "provisioningrequests", metadata.get("namespace"), metadata["name"], REQUEST_FINALIZER, finalizers
    )
    metadata["finalizers"] = [*finalizers, REQUEST_FINALIZER]


def _raise_for(outcome: Outcome) -> None:
    if outcome.reason.severity in (Severity.PROGRESSING, Severity.WAITING):
        raise RetryableError(outcome.reason, outcome.message)
    raise StalledError(outcome.reason, outcome.message)


async def _write_secret(
    ctx: Context, namespace: str, existing: dict[str, Any] | None, manifest: dict[str, Any]
) -> None:
    if existing is None:
        await ctx.kube.create_secret(namespace, manifest)
        return
    manifest = {
        **manifest,
        "metadata": {**manifest["metadata"], "resourceVersion": existing["metadata"]["resourceVersion"]},
    }
    await ctx.kube.replace_secret(namespace, manifest["metadata"]["name"], manifest)


async def _ensure_key(
    backend: TykBackend, key: str, session: dict[str, Any], *, fresh: bool
) -> tuple[str, str | None]:
    """Make Tyk hold `key` with `session`; returns what was done and the key hash when known.

    A `fresh` key (256 random bits generated in this reconcile) cannot be in Tyk yet: no lookup."""
    actual = None if fresh else await backend.get_key(key)
    if actual is None:
        record = await backend.create_key(key, session)
        return "created", record.key_hash
    if session_differs(session, actual):
        await backend.update_key(key, merge_session_for_update(session, actual))
        return "updated", None
    return "unchanged", None


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
    """Make the approved request's credential exist: Secret first, then Tyk. Returns the outcome and
    the status fields to write."""
    namespace = request.namespace or ""
    plan = inputs.plan
    assert plan is not None
    product_ids = [str(p.status.policy_id) for p in inputs.products.values() if p is not None]
    plan_id = str(plan.status.policy_id)
    provider_ref = LocalObjectRef(name=plan.status.provider) if plan.status.provider else None
    provider = await resolve_provider(ctx, provider_ref)
    assert provider.backend is not None

    secret_name = secret_name_for(request.name, request.spec.secret_name)
    # A request never issued has no Secret of ours yet: skip reading it and create it. A Secret that
    # is there already (someone else's, or ours from an attempt cut short before status was written)
    # makes the create fail; the next attempt then reads it first.
    optimistic = (
        not request.status.issued_at
        and not request.status.key_hash
        and request.uid not in ctx.read_secret_first
    )
    secret = None if optimistic else await ctx.kube.get_secret(namespace, secret_name)
    if secret is not None and not secret_owned_by(secret, request.uid):
        raise StalledError(
            Reason.SECRET_CONFLICT,
            f"Secret {namespace}/{secret_name} exists and is not owned by this request; "
            "delete it or choose another spec.secretName",
        )
    current, previous, previous_expires = read_keys(secret)
    for known in (current, previous):
        if known:
            remember_secret(known)
    status = request.status
    issued_at = parse_time(status.issued_at) or now
    last_rotation = parse_time(status.last_rotation_time)
    rotate_token = request.annotations.get(ROTATE_ANNOTATION)
    handled_token = status.handled_rotate_token
    key_expiry = parse_duration(plan.spec.key_expiry) if plan.spec.key_expiry else None
    suspended = bool(request.spec.suspended)
    events: list[tuple[str, str]] = []
    fresh = False  # a key generated in this reconcile cannot exist in Tyk yet

    try:
        if current is None:
            if status.key_hash:
                # The Secret was deleted: the old key cannot be recovered, so revoke it by hash.
                await provider.backend.delete_key_by_hash(status.key_hash)
                events.append(
                    (
                        "SecretRestored",
                        f"Secret {secret_name} was missing; issued a new key and revoked the old one",
                    )
                )
            current, previous, previous_expires = new_key(), None, None
            issued_at, handled_token, fresh = now, rotate_token, True
        elif rotation_due(
            request,
            last_rotation=last_rotation,
            issued_at=issued_at,
            rotate_annotation=rotate_token,
            last_handled_rotate_token=handled_token,
            now=now,
        ):
            if previous:
                await provider.backend.delete_key(previous)
            previous, current, fresh = current, new_key(), True
            previous_expires = previous_key_expires_at(request, now)
            last_rotation, handled_token = now, rotate_token
            events.append(
                (
                    "Rotated",
                    f"Rotated the key; the previous one stays valid until {format_time(previous_expires)}",
                )
            )
        elif previous and previous_key_expired(previous_expires, now):
            await provider.backend.delete_key(previous)
            previous, previous_expires = None, None
            events.append(("PreviousKeyRevoked", "The overlap ended; revoked the previous key"))

        expires_at = expiry_for(key_expiry, issued_at)
        session = key_session(
            request, product_ids, plan_id, provider.config.org_id, expires_at, suspended=suspended
        )
        manifest = render_secret(
            request,
            inputs.app,
            secret_name=secret_name,
            api_key=current,
            previous_key=previous,
            previous_expires_at=previous_expires,
            gateway_url=provider.config.gateway_url,
            products=[f"{k[0]}/{k[1]}" for k in product_keys(request)],
            plan=f"{plan.namespace}/{plan.name}",
            issued_at=issued_at,
        )
        if secret is None or _secret_changed(secret, manifest):
            # Secret first: a crash after this line leaves a key we can still put into Tyk.
            await _write_secret(ctx, namespace, secret, dict(manifest))
        await _ensure_finalizer(ctx, body)
        action, key_hash = await _ensure_key(provider.backend, current, session, fresh=fresh)
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
        error = tyk_failure(exc, "writing the key")
        ctx.tyk_failed(provider.name, error.reason is Reason.TYK_UNAVAILABLE, error.message)
        raise error from exc

    if action == "created" and status.key_hash and not events:
        events.append(("KeyRestored", "The key was missing in Tyk; restored it from the Secret"))
    elif action == "created" and not status.key_hash:
        events.append(
            (
                "CredentialIssued",
                f"Issued a key (fingerprint {credential_fingerprint(current)}) into Secret {secret_name}",
            )
        )
    if suspended != bool(status.suspended):
        events.append(
            (
                "Suspended" if suspended else "Resumed",
                "Disabled the key in Tyk" if suspended else "Re-enabled the key in Tyk",
            )
        )
    for reason, message in events:
        ctx.emit(body, "Normal", reason, message)

    next_rotation = next_rotation_time(request, last_rotation=last_rotation, issued_at=issued_at)
    fields = {
        "secretName": secret_name,
        "keyHash": key_hash or status.key_hash,
        "policies": [*product_ids, plan_id],
        "provider": provider.name,
        "issuedAt": format_time(issued_at),
        "expiresAt": format_time(datetime.datetime.fromtimestamp(expires_at, datetime.UTC))
        if expires_at
        else None,
        "lastRotationTime": format_time(last_rotation) if last_rotation else None,
        "nextRotationTime": format_time(next_rotation) if next_rotation else None,
        "previousKeyExpiresAt": format_time(previous_expires) if previous_expires else None,
        "suspended": suspended,
        "handledRotateToken": handled_token,
    }
    outcome = (
        Outcome(Reason.SUSPENDED, "the credential is suspended (spec.suspended: true)")
        if suspended
        else Outcome(Reason.CREDENTIAL_ISSUED, f"credential issued into Secret {secret_name}")
    )
    return outcome, fields


def _secret_changed(existing: dict[str, Any], manifest: dict[str, Any]) -> bool:
    meta, want = existing.get("metadata") or {}, manifest["metadata"]
    return (
        (existing.get("data") or {}) != manifest.get("data")
        or {**(meta.get("labels") or {})} != want.get("labels", {})
        or {k: v for k, v in (meta.get("annotations") or {}).items() if k in want.get("annotations", {})}
        != want.get("annotations", {})
        or meta.get("ownerReferences") != want.get("ownerReferences")
    )


def key_left_behind(body: dict[str, Any]) -> str | None:
    """What a request would leave in Tyk if its revocation were abandoned (None: nothing)."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if (spec.get("deletionPolicy") or "Revoke") == "Orphan" or not status.get("provider"):
        return None
    metadata = body.get("metadata") or {}
    what = f"the key of {metadata.get('namespace')}/{metadata.get('name')}"
    return f"{what} (hash {status['keyHash']})" if status.get("keyHash") else what


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
    owned = secret is not None and secret_owned_by(secret, request.uid)
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
    current, previous, _ = read_keys(secret if owned else None)
    try:
        for key in (current, previous):
            if key:
                await backend.delete_key(key)
        if current is None and request.status.key_hash:
            await backend.delete_key_by_hash(request.status.key_hash)
    except TykError as exc:
        raise tyk_failure(exc, "revoking the key") from exc
    if owned:
        await ctx.kube.delete_secret(namespace, secret_name)
    ctx.emit(body, "Normal", "Revoked", "Revoked the key in Tyk and deleted the Secret")
