"""APIProduct and Plan handlers: reconcile on change, retry stalled objects slowly, delete safely."""

from __future__ import annotations

import contextlib
from typing import Any

import kopf

from ..services.policies import finalize_policy, reconcile_plan, reconcile_product
from ..settings import OperatorSettings
from ._common import context_of, reconcile_guarded, to_dict
from .indexes import policy_referrers

__all__: list[str] = []

_SETTINGS = OperatorSettings.from_env()


def _needs_retry(body: kopf.Body) -> bool:
    status = body.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    return not ready or status.get("observedGeneration") != body.get("metadata", {}).get("generation")


@kopf.on.resume("apiproducts")
@kopf.on.create("apiproducts")
@kopf.on.update("apiproducts")
async def product_changed(body: kopf.Body, memo: kopf.Memo, retry: int, **_: Any) -> None:
    """Publish the product as an ACL partitioned policy."""
    await reconcile_guarded(context_of(memo), "apiproducts", body, reconcile_product, retry=retry)


@kopf.timer(
    "apiproducts", interval=_SETTINGS.stalled_retry_interval, initial_delay=_SETTINGS.stalled_retry_interval
)
async def product_stalled_retry(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Re-examine products that are not Ready (Ready ones cost nothing here)."""
    if _needs_retry(body):
        with contextlib.suppress(kopf.TemporaryError, kopf.PermanentError):
            await reconcile_guarded(context_of(memo), "apiproducts", body, reconcile_product, retry=0)


@kopf.on.delete("apiproducts")
async def product_deleted(
    body: kopf.Body,
    memo: kopf.Memo,
    retry: int,
    namespace: str | None,
    name: str,
    **kwargs: Any,
) -> None:
    """Delete the product's policy (unless Orphan), waiting while it is in use."""
    referrers = policy_referrers(
        "APIProduct", namespace or "", name, kwargs["catalogue_refs"], kwargs["request_refs"]
    )

    async def work(ctx: Any, data: dict[str, Any]) -> None:
        await finalize_policy(ctx, data, referrers)

    await reconcile_guarded(context_of(memo), "apiproducts", to_dict(body), work, retry=retry)


@kopf.on.resume("plans")
@kopf.on.create("plans")
@kopf.on.update("plans")
async def plan_changed(body: kopf.Body, memo: kopf.Memo, retry: int, **_: Any) -> None:
    """Publish the plan as a rate-limit and quota partitioned policy."""
    await reconcile_guarded(context_of(memo), "plans", body, reconcile_plan, retry=retry)


@kopf.timer(
    "plans", interval=_SETTINGS.stalled_retry_interval, initial_delay=_SETTINGS.stalled_retry_interval
)
async def plan_stalled_retry(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Re-examine plans that are not Ready."""
    if _needs_retry(body):
        with contextlib.suppress(kopf.TemporaryError, kopf.PermanentError):
            await reconcile_guarded(context_of(memo), "plans", body, reconcile_plan, retry=0)


@kopf.on.delete("plans")
async def plan_deleted(
    body: kopf.Body,
    memo: kopf.Memo,
    retry: int,
    namespace: str | None,
    name: str,
    **kwargs: Any,
) -> None:
    """Delete the plan's policy (unless Orphan), waiting while it is in use."""
    referrers = policy_referrers(
        "Plan", namespace or "", name, kwargs["catalogue_refs"], kwargs["request_refs"]
    )

    async def work(ctx: Any, data: dict[str, Any]) -> None:
        await finalize_policy(ctx, data, referrers)

    await reconcile_guarded(context_of(memo), "plans", to_dict(body), work, retry=retry)
