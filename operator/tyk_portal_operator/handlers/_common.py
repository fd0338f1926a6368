"""Glue shared by the kopf handlers: body conversion and error-to-status mapping."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import kopf
from pydantic import ValidationError

from ..core.conditions import Outcome, Reason
from ..errors import NotYetKnown, RetryableError, StalledError
from ..metrics import RECONCILE_DURATION, RECONCILES
from ..services.context import Context

__all__ = ["context_of", "reconcile_guarded", "to_dict"]


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


async def reconcile_guarded(
    ctx: Context,
    plural: str,
    body: Mapping[str, Any],
    work: Callable[[Context, dict[str, Any]], Awaitable[Outcome | None]],
    *,
    retry: int,
) -> None:
    """Run one reconcile under the object's lock; turn domain errors into status and kopf errors.

    Retryable errors become `kopf.TemporaryError` with exponential backoff; stalled ones become
    `kopf.PermanentError` (the stalled-retry timer and spec changes try again).
    """
    data = to_dict(body)
    metadata = data.get("metadata", {})
    kind = str(data.get("kind", plural))
    started = time.monotonic()
    try:
        async with ctx.lock(plural, metadata.get("namespace"), metadata.get("name", "")):
            outcome = await work(ctx, data)
        RECONCILES.labels(kind=kind, result="success", reason=str(outcome.reason) if outcome else "").inc()
    except NotYetKnown as exc:
        RECONCILES.labels(kind=kind, result="retry", reason=str(exc.reason)).inc()
        raise kopf.TemporaryError(exc.message, delay=ctx.settings.retry_delay) from None
    except RetryableError as exc:
        RECONCILES.labels(kind=kind, result="retry", reason=str(exc.reason)).inc()
        if await ctx.write_status(plural, data, exc.outcome):
            ctx.emit(
                data,
                "Warning" if exc.reason is not Reason.AWAITING_APPROVAL else "Normal",
                exc.reason,
                exc.message,
            )
        delay = exc.retry_after if exc.retry_after is not None else ctx.settings.backoff(retry)
        raise kopf.TemporaryError(exc.message, delay=delay) from None
    except StalledError as exc:
        RECONCILES.labels(kind=kind, result="stalled", reason=str(exc.reason)).inc()
        if await ctx.write_status(plural, data, exc.outcome):
            ctx.emit(data, "Warning", exc.reason, exc.message)
        raise kopf.PermanentError(exc.message) from None
    except ValidationError as exc:
        RECONCILES.labels(kind=kind, result="stalled", reason=str(Reason.INVALID_SPEC)).inc()
        outcome = Outcome(
            Reason.INVALID_SPEC, f"the object does not match the schema: {exc.errors()[0]['msg']}"
        )
        await ctx.write_status(plural, data, outcome)
        raise kopf.PermanentError(outcome.message) from None
    finally:
        RECONCILE_DURATION.labels(kind=kind).observe(time.monotonic() - started)
