"""ProvisioningRequest, ConsumerApp and Catalogue handlers."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import kopf

from ..core.conditions import Outcome, Reason
from ..core.credentials import parse_time, previous_key_expired
from ..core.naming import ROTATE_ANNOTATION
from ..services.context import Context
from ..services.deletion import finalize_within_grace
from ..services.provisioning import finalize_request, key_left_behind, reconcile_request
from ..settings import OperatorSettings
from ._common import context_of, reconcile_guarded, to_dict

__all__: list[str] = []

_SETTINGS = OperatorSettings.from_env()


def _object_key(body: kopf.Body) -> tuple[str, str]:
    metadata = body.get("metadata") or {}
    return metadata.get("namespace") or "", metadata.get("name", "")


def _due(body: kopf.Body, ctx: Context) -> bool:
    """Whether a request needs a reconcile now: not Ready, rotation/overlap due, or Tyk not checked lately."""
    metadata, status = body.get("metadata") or {}, body.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready = conditions.get("Ready", {})
    if ready.get("reason") in ("Denied",):
        return False
    if ready.get("status") != "True" and ready.get("reason") != "Suspended":
        return True
    if status.get("observedGeneration") != metadata.get("generation"):
        return True
    now = ctx.clock()
    nxt = parse_time(status.get("nextRotationTime"))
    if nxt is not None and nxt <= now:
        return True
    if (metadata.get("annotations") or {}).get(ROTATE_ANNOTATION) not in (
        None,
        status.get("handledRotateToken"),
    ):
        return True
    if status.get("previousKeyExpiresAt") and previous_key_expired(
        parse_time(status.get("previousKeyExpiresAt")), now
    ):
        return True
    provider = ctx.providers.get(status.get("provider") or "")
    interval = provider.resync_interval if provider else ctx.settings.default_resync_interval
    return time.monotonic() - ctx.key_checked_at.get(_object_key(body), 0.0) >= interval


async def _reconcile(ctx: Context, body: kopf.Body, retry: int) -> None:
    await reconcile_guarded(ctx, "provisioningrequests", body, reconcile_request, retry=retry)
    ctx.key_checked_at[_object_key(body)] = time.monotonic()


@kopf.on.resume("provisioningrequests")
@kopf.on.create("provisioningrequests")
@kopf.on.update("provisioningrequests")
async def request_changed(body: kopf.Body, memo: kopf.Memo, retry: int, **_: Any) -> None:
    """Evaluate, approve when automatic, issue or update the credential."""
    await _reconcile(context_of(memo), body, retry)


@kopf.on.field("provisioningrequests", field="status.approval")
async def request_decided(body: kopf.Body, memo: kopf.Memo, retry: int, **_: Any) -> None:
    """An approver wrote a decision through the status subresource."""
    await _reconcile(context_of(memo), body, retry)


@kopf.timer("provisioningrequests", interval=_SETTINGS.credential_check_interval)
async def request_tick(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Rotations, ended overlaps, self-healing and stalled re-examination."""
    ctx = context_of(memo)
    if _due(body, ctx):
        with contextlib.suppress(kopf.TemporaryError, kopf.PermanentError):
            await _reconcile(ctx, body, 0)


@kopf.on.delete("provisioningrequests")
async def request_deleted(body: kopf.Body, memo: kopf.Memo, retry: int, **_: Any) -> None:
    """Revoke the key and delete the Secret (unless deletionPolicy is Orphan)."""

    async def work(ctx: Context, data: dict[str, Any]) -> None:
        await finalize_within_grace(
            ctx,
            data,
            lambda: finalize_request(ctx, data),
            left=key_left_behind(data),
            event_reason="KeyOrphaned",
            retry=retry,
        )

    ctx = context_of(memo)
    await reconcile_guarded(ctx, "provisioningrequests", to_dict(body), work, retry=retry)
    ctx.key_checked_at.pop(_object_key(body), None)


# ----- ConsumerApp: status lists the app's credentials (from the index, no API reads) -------------
async def _app_status(ctx: Context, body: kopf.Body, summaries: Any) -> None:
    data = to_dict(body)
    metadata = data["metadata"]
    entries = sorted(
        (dict(s) for s in summaries.get((metadata.get("namespace"), metadata["name"]), [])),
        key=lambda s: s["request"],
    )
    credentials = [{k: v for k, v in s.items() if v is not None} for s in entries]
    outcome = Outcome(Reason.APP_READY, f"{len(credentials)} credential(s)")
    await ctx.write_status("consumerapps", data, outcome, {"credentials": credentials})


@kopf.on.resume("consumerapps")
@kopf.on.create("consumerapps")
@kopf.on.update("consumerapps")
async def app_changed(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """Report the app's credentials."""
    await _app_status(context_of(memo), body, kwargs["request_summaries"])


@kopf.timer("consumerapps", interval=_SETTINGS.credential_check_interval)
async def app_tick(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """Keep the credentials list current."""
    await _app_status(context_of(memo), body, kwargs["request_summaries"])


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
