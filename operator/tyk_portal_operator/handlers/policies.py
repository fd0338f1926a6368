"""APIProduct and Plan handlers: reconcile on change, retry stalled objects slowly, delete safely.

Both kinds follow the same lifecycle, so one function registers the handlers for each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from ..core.conditions import Outcome, ready_condition
from ..services.context import Context
from ..services.deletion import finalize_within_grace
from ..services.policies import finalize_policy, policy_left_behind, reconcile_plan, reconcile_product
from ..settings import OperatorSettings
from ._common import context_of, reconcile_guarded, to_dict
from .indexes import policy_referrers

__all__: list[str] = []

_SETTINGS = OperatorSettings.from_env()


def _needs_retry(body: kopf.Body) -> bool:
    ready = ready_condition(body).get("status") == "True"
    observed = (body.get("status") or {}).get("observedGeneration")
    return not ready or observed != body.get("metadata", {}).get("generation")


def _register(
    plural: str, kind: str, reconcile: Callable[[Context, dict[str, Any]], Awaitable[Outcome]]
) -> None:
    @kopf.on.resume(plural, id=f"{plural}-changed")
    @kopf.on.create(plural, id=f"{plural}-changed")
    @kopf.on.update(plural, id=f"{plural}-changed")
    async def changed(body: kopf.Body, memo: kopf.Memo, retry: int, **_: Any) -> None:
        """Publish the object as a partitioned policy."""
        await reconcile_guarded(context_of(memo), plural, body, reconcile, retry=retry)

    @kopf.timer(
        plural,
        id=f"{plural}-stalled-retry",
        interval=_SETTINGS.stalled_retry_interval,
        initial_delay=_SETTINGS.stalled_retry_interval,
    )
    async def stalled_retry(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        """Re-examine objects that are not Ready (Ready ones cost nothing here)."""
        if _needs_retry(body):
            with contextlib.suppress(kopf.TemporaryError, kopf.PermanentError):
                await reconcile_guarded(context_of(memo), plural, body, reconcile, retry=0)

    @kopf.on.delete(plural, id=f"{plural}-deleted")
    async def deleted(
        body: kopf.Body, memo: kopf.Memo, retry: int, namespace: str | None, name: str, **kwargs: Any
    ) -> None:
        """Delete the policy (unless Orphan), waiting while something still uses it."""
        ctx = context_of(memo)
        await ctx.view.requests_listed()
        referrers = sorted(
            {
                *policy_referrers(kind, namespace or "", name, kwargs["catalogue_refs"]),
                *ctx.view.requests.referrers(kind, namespace or "", name),
            }
        )

        async def work(ctx: Context, data: dict[str, Any]) -> None:
            await finalize_within_grace(
                ctx,
                data,
                lambda: finalize_policy(ctx, data, referrers),
                left=policy_left_behind(data),
                event_reason="PolicyOrphaned",
                retry=retry,
            )

        await reconcile_guarded(ctx, plural, to_dict(body), work, retry=retry)


_register("apiproducts", "APIProduct", reconcile_product)
_register("plans", "Plan", reconcile_plan)
