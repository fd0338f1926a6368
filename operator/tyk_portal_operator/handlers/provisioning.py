"""ProvisioningRequest, ConsumerApp and Catalogue handlers.

Requests are reconciled when they change, when something they depend on changes (the watch feeds
below re-evaluate exactly the requests that refer to it), and at the times their status names
(rotation, end of an overlap) or after a transient failure: those are scheduled on the operator's
own `Requeue`, not with a kopf timer per request. A settled request costs nothing at start-up; its
key is checked in bulk by its provider's loop (handlers/providers.py).
"""

from __future__ import annotations

from typing import Any

import kopf

from ..core.conditions import Outcome, Reason, ready_condition
from ..core.lifecycle import next_due
from ..core.naming import REQUEST_FINALIZER, ROTATE_ANNOTATION
from ..services.context import Context
from ..services.deletion import finalize_within_grace
from ..services.provisioning import finalize_request, key_left_behind, reconcile_request
from ..settings import OperatorSettings
from ._common import context_of, run_reconcile, to_dict

__all__ = ["reconcile_request_now", "request_event", "request_key"]

_SETTINGS = OperatorSettings.from_env()
REQUESTS = "provisioningrequests"
# How many credentials an app's status lists by name (the count and the Secret selector cover all).
APP_STATUS_LIMIT = 50

RequestKey = tuple[str, str]
_WAITING_ON_TYK = (Reason.PROVIDER_NOT_READY, Reason.TYK_UNAVAILABLE)
# A credential in one of these states needs nothing until a change or a time its status names.
_SETTLED_REASONS = (str(Reason.CREDENTIAL_ISSUED), str(Reason.SUSPENDED), str(Reason.EXPIRED))


def request_key(body: Any) -> RequestKey:
    """(namespace, name) of a request body."""
    metadata = body.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name", ""))


def _signature(ctx: Context, body: Any) -> tuple[Any, ...]:
    """What a person or a controller can change that needs the request reconciled again: the spec
    (generation), a rotation token, a decision, deletion. Events that change none of these (the
    operator's own status and finalizer writes, kopf's bookkeeping) are not reconciles. A decision
    the operator made counts from the moment it was made, also in events that predate its write."""
    metadata, status = body.get("metadata") or {}, body.get("status") or {}
    decision = (status.get("approval") or {}).get("decision")
    if decision is None and metadata.get("uid") in ctx.decisions:
        decision = ctx.decisions[metadata["uid"]].decision
    return (
        metadata.get("uid"),
        metadata.get("generation"),
        (metadata.get("annotations") or {}).get(ROTATE_ANNOTATION),
        decision,
        bool(metadata.get("deletionTimestamp")),
    )


def _settled(body: Any, now: Any) -> bool:
    """Whether a request found at start-up needs nothing until a scheduled time or a change: issued
    (or suspended, or expired) at its current generation, its finalizer in place, no rotation asked
    for."""
    metadata, status = body.get("metadata") or {}, body.get("status") or {}
    if ready_condition(body).get("reason") not in _SETTLED_REASONS:
        return False
    if status.get("observedGeneration") != metadata.get("generation"):
        return False
    if REQUEST_FINALIZER not in (metadata.get("finalizers") or []):
        return False
    token = (metadata.get("annotations") or {}).get(ROTATE_ANNOTATION)
    if token not in (None, status.get("handledRotateToken")):
        return False
    due = _next_due(body)
    return due is None or due > now


def _next_due(body: Any) -> Any:
    """The earliest time the request's status says it must be looked at again (rotation, end of an
    overlap, expiry: `core.lifecycle.next_due`)."""
    return next_due(body.get("status") or {}, ready_condition(body).get("reason"))


def _schedule_due(ctx: Context, key: RequestKey, body: Any) -> None:
    due = _next_due(body)
    if due is not None:
        # A second late: the time is "due" by then, never a moment early.
        ctx.schedule(key, max(0.0, (due - ctx.clock()).total_seconds()) + 1.0)


def _retry_later(ctx: Context, key: RequestKey, retry_after: float) -> None:
    attempts = ctx.attempts.get(key, 0) + 1
    ctx.attempts[key] = attempts
    ctx.schedule(key, min(retry_after, ctx.settings.backoff(attempts - 1)))


async def _reconcile(ctx: Context, data: dict[str, Any]) -> None:
    key = request_key(data)
    ctx.unschedule(key)
    result = await run_reconcile(ctx, REQUESTS, data, reconcile_request, retry=ctx.attempts.get(key, 0))
    ctx.settled[key] = _signature(ctx, data)
    if result.not_yet_known:
        # Its provider exists but was not checked yet (start-up): it goes on when the provider is
        # Ready; the retry below is only a fallback.
        ctx.waiting_on_tyk.add(key)
        _retry_later(ctx, key, ctx.settings.provider_retry_interval * 4)
        return
    if result.outcome is not None and result.outcome.reason in _WAITING_ON_TYK:
        ctx.waiting_on_tyk.add(key)
    else:
        ctx.waiting_on_tyk.discard(key)
    if result.retry_after is not None:
        _retry_later(ctx, key, result.retry_after)
        return
    ctx.attempts.pop(key, None)
    _schedule_due(ctx, key, data)


async def _finalize(ctx: Context, data: dict[str, Any]) -> None:
    """Revoke the key and delete the Secret (unless deletionPolicy is Orphan), then let the request go."""
    key = request_key(data)
    metadata = data["metadata"]
    finalizers = list(metadata.get("finalizers") or [])
    if REQUEST_FINALIZER not in finalizers:
        return
    ctx.unschedule(key)

    async def work(ctx: Context, data: dict[str, Any]) -> None:
        await finalize_within_grace(
            ctx,
            data,
            lambda: finalize_request(ctx, data),
            left=key_left_behind(data),
            event_reason="KeyOrphaned",
            retry=ctx.attempts.get(key, 0),
        )
        await ctx.kube.remove_finalizer(REQUESTS, key[0], key[1], REQUEST_FINALIZER, finalizers)

    result = await run_reconcile(ctx, REQUESTS, data, work, retry=ctx.attempts.get(key, 0))
    if result.retry_after is not None or result.stalled:
        _retry_later(
            ctx, key, result.retry_after if result.retry_after is not None else ctx.settings.backoff(0)
        )


def _forget(ctx: Context, key: RequestKey, uid: str) -> None:
    """Drop what is kept for a deleted request (the watch has taken it out of the book; its lock
    goes by itself once released)."""
    ctx.unschedule(key)
    ctx.attempts.pop(key, None)
    ctx.settled.pop(key, None)
    ctx.waiting_on_tyk.discard(key)
    ctx.decisions.pop(uid, None)
    ctx.read_secret_first.discard(uid)


async def reconcile_request_now(ctx: Context, key: RequestKey) -> None:
    """Reconcile a request from its current state in the API (scheduled and triggered runs)."""
    if not ctx.acting():
        return  # standing by: the replica that acts has its own schedule
    body = await ctx.kube.get_resource(REQUESTS, key[0], key[1])
    if body is None:
        ctx.view.requests.forget(*key)
        ctx.attempts.pop(key, None)
        return
    if (body.get("metadata") or {}).get("deletionTimestamp"):
        await _finalize(ctx, body)
    else:
        await _reconcile(ctx, body)


async def request_event(ctx: Context, type: str, data: dict[str, Any]) -> None:
    """Every watch event of a request, from the operator's request watch (services/request_watch.py).
    Requests are handled here rather than with kopf's change handlers, so an issuance costs only
    the calls it needs: no kopf finalizer round-trip, no state kept in annotations, no second pass
    when the operator's own decision appears in status."""
    key = request_key(data)
    if type == "DELETED":
        _forget(ctx, key, str((data.get("metadata") or {}).get("uid", "")))
        return
    # The request book already holds this event: the watch records each one as it arrives.
    if (data.get("metadata") or {}).get("deletionTimestamp"):
        await _finalize(ctx, data)
        return
    if ctx.settled.get(key) == _signature(ctx, data):
        return  # nothing a reconcile depends on changed since the last one
    if key not in ctx.settled and _settled(data, ctx.clock()):
        # Found issued at start-up: only its scheduled times are restored (no API or Tyk calls).
        ctx.settled[key] = _signature(ctx, data)
        _schedule_due(ctx, key, data)
        return
    await _reconcile(ctx, data)


# ----- what requests depend on: watch-fed, re-evaluating the requests a change affects -------------
def _feed(ctx: Context, kind: str, event_type: str | None, body: Any) -> None:
    data = body if isinstance(body, dict) else to_dict(body)
    metadata = data.get("metadata") or {}
    changed = ctx.view.observe(kind, data, deleted=event_type == "DELETED")
    # The initial listing (type None, at start-up) is not a change: requests are judged on it anyway.
    if changed and event_type is not None:
        for key in ctx.view.dependents(kind, str(metadata.get("namespace") or ""), str(metadata["name"])):
            ctx.schedule(key, 0.0)


def _register_feed(resource: str, kind: str, handler_id: str, why: str) -> None:
    async def seen(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        _feed(context_of(memo), kind, type, body)

    seen.__doc__ = why
    kopf.on.event(resource, id=handler_id)(seen)


# The handler ids are also named in logging_setup (their per-event success lines are not logged).
_register_feed("namespaces", "Namespace", "namespace_seen", "Labels decide visibility and auto-approval.")
_register_feed("consumerapps", "ConsumerApp", "app_seen", "Requests need their app to exist.")
_register_feed("catalogues", "Catalogue", "catalogue_seen", "What may be requested, by whom; auto-approval.")
_register_feed(
    "apiproducts", "APIProduct", "product_seen", "Requests need their products Ready with a policy."
)
_register_feed("plans", "Plan", "plan_seen", "Requests need their plan Ready; its approval mode.")


# ----- ConsumerApp: status counts and names the app's credentials (from the request book) ---------
async def _app_status(ctx: Context, body: kopf.Body) -> None:
    await ctx.view.requests_listed()
    data = to_dict(body)
    metadata = data["metadata"]
    entries = ctx.view.requests.credentials_of(str(metadata.get("namespace") or ""), metadata["name"])
    credentials = [entry.app_entry() for entry in entries[:APP_STATUS_LIMIT]]
    ready = sum(1 for entry in entries if entry.ready)
    more = f"; the first {APP_STATUS_LIMIT} are listed" if len(entries) > APP_STATUS_LIMIT else ""
    outcome = Outcome(Reason.APP_READY, f"{len(entries)} credential(s), {ready} Ready{more}")
    fields = {
        "credentials": credentials,
        "credentialCount": len(entries),
        "readyCredentialCount": ready,
        "secretSelector": f"apiportal.dev/app={metadata['name']}",
    }
    await ctx.write_status("consumerapps", data, outcome, fields)


@kopf.on.resume("consumerapps")
@kopf.on.create("consumerapps")
@kopf.on.update("consumerapps")
async def app_changed(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Report the app's credentials."""
    await _app_status(context_of(memo), body)


@kopf.timer("consumerapps", interval=_SETTINGS.credential_check_interval)
async def app_tick(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Keep the credentials list current (writes only when it changed)."""
    await _app_status(context_of(memo), body)


# ----- Catalogue: status shows resolved products and plans ----------------------------------------
async def _catalogue_status(ctx: Context, body: kopf.Body, products: Any, plans: Any) -> None:
    data = to_dict(body)
    namespace = data["metadata"].get("namespace")
    spec = data.get("spec") or {}
    problems: list[str] = []

    def entries(kind: str, index: Any, field: str) -> list[dict[str, Any]]:
        out = []
        for ref in spec.get(field) or []:
            ns = ref.get("namespace") or namespace
            found = list(index.get((kind, ns, ref["name"]), []))
            summary = found[0] if found else None
            entry = {"name": ref["name"], "namespace": ns, "ready": bool(summary and summary["ready"])}
            if summary and summary.get("policyID"):
                entry["policyID"] = summary["policyID"]
            if summary is None:
                entry["message"] = "not found"
                problems.append(f"{kind} {ns}/{ref['name']} not found")
            elif not summary["ready"]:
                entry["message"] = f"not Ready ({summary.get('reason')})"
                problems.append(f"{kind} {ns}/{ref['name']} is not Ready")
            out.append(entry)
        return out

    fields = {
        "products": entries("APIProduct", products, "products"),
        "plans": entries("Plan", plans, "plans"),
    }
    outcome = (
        Outcome(Reason.DEPENDENCY_NOT_READY, "; ".join(problems))
        if problems
        else Outcome(Reason.RESOLVED, "all products and plans are Ready")
    )
    await ctx.write_status("catalogues", data, outcome, fields)


@kopf.on.resume("catalogues")
@kopf.on.create("catalogues")
@kopf.on.update("catalogues")
async def catalogue_changed(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """Resolve the catalogue's entries."""
    await _catalogue_status(context_of(memo), body, kwargs["product_summaries"], kwargs["plan_summaries"])


@kopf.timer("catalogues", interval=_SETTINGS.credential_check_interval)
async def catalogue_tick(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """Follow products and plans becoming (un)ready."""
    await _catalogue_status(context_of(memo), body, kwargs["product_summaries"], kwargs["plan_summaries"])
