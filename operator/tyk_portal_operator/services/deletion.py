"""Deletion that always completes, and says what it left in Tyk when it could not clean up.

The rules (docs/operations.md, "Deleting when Tyk is unreachable"):
- `deletionPolicy: Orphan` (also when set on an object already being deleted): nothing is removed
  from Tyk; the object goes at once.
- The object's TykProvider no longer exists: the Tyk objects cannot be reached, so deletion completes
  and a Warning Event names what was left (policy id, key hash; never key material).
- The provider exists but Tyk cannot be cleaned now (not Ready, unreachable, refusing): deletion
  waits and retries with backoff; except when the object's namespace is being deleted, where it
  waits at most `namespace_deletion_grace` (from the namespace's deletion), then completes and
  reports what was left, so a namespace can never be stuck in Terminating because of Tyk.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..core.conditions import Reason
from ..core.credentials import parse_time
from ..errors import ReconcileError, RetryableError
from ..metrics import LEFT_IN_TYK
from ..models import TykProvider
from ..tyk import TykBackend
from .context import Context, rfc3339
from .providers import check_provider, manages, not_managed_error

__all__ = ["LEFT_PROVIDER_GONE", "finalize_within_grace", "report_left_in_tyk", "tyk_for_cleanup"]

log = logging.getLogger(__name__)

LEFT_PROVIDER_GONE = "ProviderGone"
LEFT_NAMESPACE_DELETED = "NamespaceDeleted"
_MAX_DELETION_RETRY_DELAY = 60.0


async def tyk_for_cleanup(ctx: Context, provider_name: str) -> TykBackend | None:
    """The backend to clean Tyk through, or None when the provider no longer exists.

    The provider's own loop stops once the provider is marked for deletion, and may not have run yet
    after a restart, so a provider not known to be Ready is checked here and now.

    Raises:
        RetryableError: the provider exists but cannot be used now.
    """
    body = await ctx.kube.get_resource("tykproviders", None, provider_name)
    if body is None:
        return None
    if not manages(ctx, body):
        raise not_managed_error(ctx, provider_name, body)
    state = ctx.providers.get(provider_name)
    if state is None or not state.ready or state.backend is None:
        await check_provider(ctx, TykProvider.model_validate(body))
        state = ctx.providers[provider_name]
    if not state.ready or state.backend is None:
        raise RetryableError(
            Reason.PROVIDER_NOT_READY, f'TykProvider "{provider_name}" is not Ready: {state.message}'
        )
    return state.backend


async def _namespace_deleted_at(ctx: Context, namespace: str | None) -> datetime.datetime | None:
    if not namespace:
        return None
    found = await ctx.kube.get_namespace(namespace)
    if found is None:
        return ctx.clock()  # already gone: nothing could be reported there anyway
    return parse_time((found.get("metadata") or {}).get("deletionTimestamp"))


def _kind_and_name(body: dict[str, Any]) -> str:
    metadata = body.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{body.get('kind', 'object')} {where}{metadata.get('name', '')}"


async def report_left_in_tyk(
    ctx: Context, body: dict[str, Any], left: str, cause: str, why: str, *, event_reason: str
) -> None:
    """Count, log and post an Event saying what a completed deletion left in Tyk.

    The Event is about the object itself, unless its namespace is being deleted (Events there are
    refused): then it is about the object's TykProvider when it still exists, else the Namespace.
    """
    kind = str(body.get("kind", "object"))
    LEFT_IN_TYK.labels(kind=kind, reason=cause).inc()
    what = _kind_and_name(body)
    log.warning("Deleted without cleaning Tyk", extra={"object": what, "left": left, "cause": cause})
    namespace = (body.get("metadata") or {}).get("namespace")
    ns_body = await ctx.kube.get_namespace(namespace) if namespace else None
    if namespace is None or (ns_body and not (ns_body.get("metadata") or {}).get("deletionTimestamp")):
        ctx.emit(body, "Warning", event_reason, f"{why}; {left} left in Tyk")
        return
    message = f"{what} was deleted with its namespace; {left} left in Tyk: {why}"
    provider = (body.get("status") or {}).get("provider")
    provider_body = await ctx.kube.get_resource("tykproviders", None, provider) if provider else None
    if provider_body is not None:
        ctx.emit(provider_body, "Warning", event_reason, message)
    elif ns_body is not None:
        ctx.emit({"apiVersion": "v1", "kind": "Namespace", **ns_body}, "Warning", event_reason, message)


async def finalize_within_grace(
    ctx: Context,
    body: dict[str, Any],
    work: Callable[[], Awaitable[None]],
    *,
    left: str | None,
    event_reason: str,
    retry: int = 0,
) -> None:
    """Run a finalizer's clean-up; when it cannot finish, wait, unless the namespace's grace is over.

    Every failure is retried (a stalled deletion would release the finalizer and lose track of Tyk
    objects); a retry never parks longer than the time left in the grace period.

    Args:
        left: what would stay in Tyk if the clean-up were abandoned ("policy X", "key with hash Y"),
            None when nothing in Tyk belongs to the object.
    """
    try:
        await work()
        return
    except ReconcileError as exc:
        failure = exc
    deleted_at = await _namespace_deleted_at(ctx, (body.get("metadata") or {}).get("namespace"))
    if deleted_at is None:
        hint = "deletion waits; to delete without cleaning Tyk, set spec.deletionPolicy: Orphan"
        # Capped, so that setting Orphan on a waiting object takes effect within a minute.
        delay = min(ctx.settings.backoff(retry), _MAX_DELETION_RETRY_DELAY)
        raise RetryableError(failure.reason, f"{failure.message}; {hint}", retry_after=delay) from failure
    deadline = deleted_at + datetime.timedelta(seconds=ctx.settings.namespace_deletion_grace)
    remaining = (deadline - ctx.clock()).total_seconds()
    if remaining <= 0:
        if left:
            await report_left_in_tyk(
                ctx, body, left, LEFT_NAMESPACE_DELETED, failure.message, event_reason=event_reason
            )
        return
    raise RetryableError(
        failure.reason,
        f"{failure.message}; the namespace is being deleted: deletion completes without cleaning Tyk "
        f"at {rfc3339(deadline)}",
        retry_after=max(0.5, min(remaining, ctx.settings.backoff(0) * 4)),
    ) from failure
