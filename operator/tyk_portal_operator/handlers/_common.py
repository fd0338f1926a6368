"""Glue shared by the kopf handlers: body conversion and error-to-status mapping."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import kopf
from pydantic import ValidationError

from ..core.conditions import Outcome, Reason, Severity
from ..errors import NotYetKnown, RetryableError, StalledError
from ..kube import KubeConflict, KubeError, KubeForbidden, KubeNotFound
from ..metrics import RECONCILE_DURATION, RECONCILES
from ..services.context import Context

__all__ = ["Result", "context_of", "reconcile_guarded", "run_reconcile", "to_dict"]

log = logging.getLogger(__name__)


def to_dict(value: Any) -> Any:
    """Deep-copy kopf's read-only body views into plain, mutable JSON data."""
    if isinstance(value, Mapping):
        return {str(k): to_dict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_dict(v) for v in value]
    return value


def context_of(memo: Any) -> Context:
    """The services' Context, built at start-up."""
    ctx: Context = memo.ctx
    return ctx


@dataclass(frozen=True)
class Result:
    """How one reconcile ended.

    Attributes:
        outcome: what status now says (None when untouched).
        retry_after: seconds until it must be tried again by itself (None: only on a change).
        stalled: a person or an input must change before it can progress.
        not_yet_known: a dependency exists but this process has not checked it yet.
    """

    outcome: Outcome | None
    retry_after: float | None = None
    stalled: bool = False
    not_yet_known: bool = False


def _describe(data: dict[str, Any]) -> str:
    metadata = data.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{data.get('kind', 'object')} {where}{metadata.get('name', '')}"


async def run_reconcile(
    ctx: Context,
    plural: str,
    data: dict[str, Any],
    work: Callable[[Context, dict[str, Any]], Awaitable[Outcome | None]],
    *,
    retry: int,
) -> Result:
    """Run one reconcile under the object's lock and report its outcome in status and Events.

    Nothing expected raises: waiting for a person and stalled inputs are outcomes (logged at INFO when
    they first appear), transient failures come back with the delay before the next attempt, and a
    conflicting write is retried within milliseconds instead of after kopf's default minute.
    """
    metadata = data.get("metadata", {})
    kind = str(data.get("kind", plural))
    started = time.monotonic()
    try:
        async with ctx.lock(plural, metadata.get("namespace"), metadata.get("name", "")):
            outcome = await work(ctx, data)
        RECONCILES.labels(kind=kind, result="success", reason=str(outcome.reason) if outcome else "").inc()
        return Result(outcome)
    except NotYetKnown as exc:
        RECONCILES.labels(kind=kind, result="retry", reason=str(exc.reason)).inc()
        return Result(None, retry_after=ctx.settings.retry_delay, not_yet_known=True)
    except RetryableError as exc:
        waiting = exc.reason.severity is Severity.WAITING
        RECONCILES.labels(kind=kind, result="waiting" if waiting else "retry", reason=str(exc.reason)).inc()
        if await ctx.write_status(plural, data, exc.outcome):
            ctx.emit(data, "Normal" if waiting else "Warning", exc.reason, exc.message)
            log.info("%s: %s", _describe(data), exc.message, extra={"reason": str(exc.reason)})
        if waiting:
            return Result(exc.outcome)
        delay = exc.retry_after if exc.retry_after is not None else ctx.settings.backoff(retry)
        return Result(exc.outcome, retry_after=delay)
    except StalledError as exc:
        waiting = exc.reason is Reason.DENIED
        RECONCILES.labels(kind=kind, result="waiting" if waiting else "stalled", reason=str(exc.reason)).inc()
        if await ctx.write_status(plural, data, exc.outcome):
            ctx.emit(data, "Normal" if waiting else "Warning", exc.reason, exc.message)
            log.info("%s: %s", _describe(data), exc.message, extra={"reason": str(exc.reason)})
        return Result(exc.outcome, stalled=True)
    except ValidationError as exc:
        RECONCILES.labels(kind=kind, result="stalled", reason=str(Reason.INVALID_SPEC)).inc()
        outcome = Outcome(
            Reason.INVALID_SPEC, f"the object does not match the schema: {exc.errors()[0]['msg']}"
        )
        await ctx.write_status(plural, data, outcome)
        return Result(outcome, stalled=True)
    except KubeForbidden as exc:
        RECONCILES.labels(kind=kind, result="retry", reason=str(Reason.FORBIDDEN)).inc()
        outcome = Outcome(Reason.FORBIDDEN, f"the operator was refused by the API server: {exc}")
        if await ctx.write_status(plural, data, outcome):
            ctx.emit(data, "Warning", outcome.reason, outcome.message)
        return Result(outcome, retry_after=ctx.settings.backoff(retry))
    except KubeNotFound:
        # The object (or its namespace) is gone: its DELETED event forgets it; nothing to retry.
        RECONCILES.labels(kind=kind, result="success", reason="Gone").inc()
        return Result(None)
    except KubeConflict:
        RECONCILES.labels(kind=kind, result="retry", reason=str(Reason.RECONCILING)).inc()
        return Result(None, retry_after=0.05)
    except KubeError as exc:
        RECONCILES.labels(kind=kind, result="retry", reason=str(Reason.RECONCILING)).inc()
        log.warning("%s: Kubernetes API call failed, retrying: %s", _describe(data), exc)
        return Result(None, retry_after=ctx.settings.backoff(retry))
    finally:
        RECONCILE_DURATION.labels(kind=kind).observe(time.monotonic() - started)


async def reconcile_guarded(
    ctx: Context,
    plural: str,
    body: Mapping[str, Any],
    work: Callable[[Context, dict[str, Any]], Awaitable[Outcome | None]],
    *,
    retry: int,
) -> None:
    """`run_reconcile` for kopf-driven handlers: retries become `kopf.TemporaryError` (kopf retries
    them), stalled outcomes `kopf.PermanentError` (a spec change or the stalled-retry timer tries
    again)."""
    data = to_dict(body)
    result = await run_reconcile(ctx, plural, data, work, retry=retry)
    if result.retry_after is not None:
        message = result.outcome.message if result.outcome else "retrying"
        raise kopf.TemporaryError(message, delay=result.retry_after)
    if result.stalled and result.outcome is not None:
        raise kopf.PermanentError(result.outcome.message)
