"""TykProvider: one long-lived loop per provider for connection checks and bulk drift repair."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import kopf

from ..core.conditions import Outcome, Reason, named_list
from ..kube import KubeError
from ..memory import release_free_memory
from ..metrics import DRIFT_REPAIRS
from ..models import TykProvider
from ..services.keys import KeyCheckCursor, check_keys
from ..services.policies import repair_drift, tyk_failure
from ..services.providers import check_provider, forget_provider, policy_writes_refused
from ..settings import OperatorSettings
from ..tyk import TykError, TykPolicyWritesRefused
from ._common import context_of, to_dict
from .indexes import policy_objects, provider_referrers

__all__ = ["provider_deleted", "provider_loop"]

log = logging.getLogger(__name__)
_STEP = 0.5
_SETTINGS = OperatorSettings.from_env()


async def _pause(
    stopped: kopf.DaemonStopped, body: kopf.Body, seconds: float, generation: Any, wake: asyncio.Event
) -> None:
    """Sleep, waking early when the provider is stopped, its spec changes, or a call through it failed."""
    remaining = seconds
    while remaining > 0 and not stopped and body.get("metadata", {}).get("generation") == generation:
        if wake.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), min(_STEP, remaining))
        remaining -= _STEP


def _ours(spec: Any, **_: Any) -> bool:
    """Only providers of this installation's class are touched (no Secret reads, no status writes)."""
    return str(spec.get("providerClass") or "") == _SETTINGS.provider_class


@kopf.daemon("tykproviders", cancellation_timeout=5.0, when=_ours)
async def provider_loop(
    name: str,
    body: kopf.Body,
    stopped: kopf.DaemonStopped,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    """Check the connection; while Ready, list policies once per resync interval and repair drift."""
    ctx = context_of(memo)
    checked_generation: Any = None
    cursors: dict[str, KeyCheckCursor] = {}
    while not stopped:
        try:
            data = to_dict(body)
            generation = data.get("metadata", {}).get("generation")
            state = ctx.providers.get(name)
            if state is None or not state.ready or checked_generation != generation:
                try:
                    provider = TykProvider.model_validate(data)
                except ValueError as exc:
                    await ctx.write_status("tykproviders", data, Outcome(Reason.INVALID_SPEC, str(exc)))
                    await _pause(
                        stopped, body, ctx.settings.provider_retry_interval, generation, asyncio.Event()
                    )
                    continue
                was_ready = state is not None and state.ready
                outcome, version = await check_provider(ctx, provider)
                if outcome.ready and not was_ready:
                    # Requests that waited for this provider (or for Tyk) go on at once.
                    waiting, ctx.waiting_on_tyk = ctx.waiting_on_tyk, set()
                    for key in waiting:
                        ctx.schedule(key, 0.0)
                checked_generation = generation
                fields = {
                    "reachable": outcome.ready
                    or outcome.reason in (Reason.UNAUTHORIZED, Reason.POLICY_WRITES_REFUSED),
                    "tykVersion": version,
                }
                if await ctx.write_status("tykproviders", data, outcome, fields):
                    ctx.emit(
                        data, "Normal" if outcome.ready else "Warning", str(outcome.reason), outcome.message
                    )
                state = ctx.providers[name]
            if state.ready:
                try:
                    repaired = await repair_drift(
                        ctx, state, policy_objects(name, kwargs["product_bodies"], kwargs["plan_bodies"])
                    )
                    if repaired:
                        DRIFT_REPAIRS.labels(kind="policy").inc(repaired)
                    await ctx.view.requests_listed()
                    missing = await check_keys(
                        state.backend,  # type: ignore[arg-type]
                        [key for key in ctx.view.requests.keys_through(name) if key.issued],
                        cursors.setdefault(name, KeyCheckCursor()),
                        ctx.settings.key_check_budget,
                        ctx.schedule,
                        # Within the first half of the resync: over before the next one starts.
                        spread=state.resync_interval / 2,
                    )
                    if missing:
                        DRIFT_REPAIRS.labels(kind="key").inc(missing)
                    release_free_memory()  # the key listing, parsed and dropped
                except TykError as exc:
                    failure = tyk_failure(exc, "listing policies and keys")
                    state.ready = False
                    state.message = failure.message
                    if isinstance(exc, TykPolicyWritesRefused):  # a drift repair's write was refused
                        reason, state.message = Reason.POLICY_WRITES_REFUSED, policy_writes_refused(name)
                    elif failure.reason is Reason.TYK_UNAVAILABLE:
                        reason = Reason.UNREACHABLE
                    else:
                        reason = Reason.UNAUTHORIZED
                    outcome = Outcome(reason, state.message)
                    reachable = reason in (Reason.UNAUTHORIZED, Reason.POLICY_WRITES_REFUSED)
                    if await ctx.write_status("tykproviders", data, outcome, {"reachable": reachable}):
                        ctx.emit(data, "Warning", str(reason), failure.message)
                    continue
            wait = state.resync_interval if state.ready else ctx.settings.provider_retry_interval
            await _pause(stopped, body, wait, generation, state.wake)
        except KubeError as exc:
            # A failed status write must not stop the loop for kopf's default minute: retry soon, and
            # check the connection again so the status that failed to be written is written.
            log.warning("TykProvider %s: Kubernetes API call failed, retrying: %s", name, exc)
            checked_generation = None
            current = body.get("metadata", {}).get("generation")
            await _pause(stopped, body, ctx.settings.provider_retry_interval, current, asyncio.Event())
    if not _ours(body.get("spec") or {}):
        # Handed to another installation (providerClass changed): drop everything known of it.
        await forget_provider(ctx, name)


@kopf.on.delete("tykproviders", when=_ours)
async def provider_deleted(name: str, body: kopf.Body, memo: kopf.Memo, retry: int, **kwargs: Any) -> None:
    """Wait while products, plans or requests still have objects in Tyk through it; then forget it."""
    ctx = context_of(memo)
    state = ctx.providers.get(name)
    if state is not None:
        state.deleting = True  # nothing new is published to it from now on
    await ctx.view.requests_listed()
    referrers = provider_referrers(
        name, kwargs["product_bodies"], kwargs["plan_bodies"], ctx.view.requests.keys_through(name)
    )
    if referrers:
        message = (
            f"deletion waits until these no longer use the provider (delete them, or set their "
            f"deletionPolicy to Orphan): {named_list(referrers)}"
        )
        data = to_dict(body)
        if await ctx.write_status("tykproviders", data, Outcome(Reason.IN_USE, message)):
            ctx.emit(data, "Warning", str(Reason.IN_USE), message)
        raise kopf.TemporaryError(message, delay=min(ctx.settings.backoff(retry), 30.0))
    await forget_provider(ctx, name)
