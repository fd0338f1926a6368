"""TykProvider: connection checks, the per-provider backend, and provider resolution for objects."""

from __future__ import annotations

import base64
import hashlib
import logging
import ssl
from typing import Any

from ..core.conditions import Outcome, Reason
from ..core.durations import parse_duration
from ..core.naming import DEFAULT_POLICY_PREFIX
from ..core.policies import ProviderConfig
from ..errors import NotYetKnown, RetryableError
from ..kube import KubeError, KubeForbidden
from ..models import TykProvider
from ..models.base import LocalObjectRef, SecretKeyRef
from ..tyk import TykAuthError, TykError, TykPolicyWritesRefused, TykUnavailable
from .context import Context, ProviderState

__all__ = [
    "check_provider",
    "forget_provider",
    "manages",
    "not_managed_error",
    "policy_writes_refused",
    "provider_class_of",
    "provider_config",
    "resolve_provider",
]

log = logging.getLogger(__name__)


def provider_class_of(body: dict[str, Any] | Any) -> str:
    """The provider class a TykProvider body names ("" when none)."""
    return str(((body or {}).get("spec") or {}).get("providerClass") or "")


def manages(ctx: Context, body: dict[str, Any] | Any) -> bool:
    """Whether this installation manages the TykProvider (its class is ours)."""
    return provider_class_of(body) == ctx.settings.provider_class


def not_managed_error(ctx: Context, name: str, body: dict[str, Any]) -> RetryableError:
    """The error for an object that uses a TykProvider another installation manages."""
    theirs = provider_class_of(body) or "(none)"
    ours = ctx.settings.provider_class or "(none)"
    return RetryableError(
        Reason.PROVIDER_NOT_READY,
        f'TykProvider "{name}" has providerClass {theirs}; this operator manages providerClass {ours} only',
    )


def provider_config(provider: TykProvider) -> ProviderConfig:
    """The part of a provider the pure core needs."""
    spec = provider.spec
    return ProviderConfig(
        name=provider.name,
        policy_id_prefix=spec.policy_id_prefix or DEFAULT_POLICY_PREFIX,
        org_id=spec.org_id,
        gateway_url=spec.gateway_url,
    )


async def _secret_value(ctx: Context, ref: SecretKeyRef, what: str) -> str:
    try:
        secret = await ctx.kube.get_secret(ref.namespace, ref.name)
    except KubeForbidden as exc:
        raise RetryableError(
            Reason.FORBIDDEN,
            f"the operator may not get Secret {ref.namespace}/{ref.name} (RBAC: verb get, resource secrets): "
            f"{exc}",
        ) from exc
    except KubeError as exc:
        raise RetryableError(
            Reason.UNREACHABLE, f"cannot read Secret {ref.namespace}/{ref.name}: {exc}"
        ) from exc
    if secret is None:
        raise RetryableError(Reason.SECRET_NOT_FOUND, f"{what} Secret {ref.namespace}/{ref.name} not found")
    encoded = (secret.get("data") or {}).get(ref.key)
    if not encoded:
        raise RetryableError(
            Reason.SECRET_NOT_FOUND, f'{what} Secret {ref.namespace}/{ref.name} has no key "{ref.key}"'
        )
    return base64.b64decode(encoded).decode()


async def _verify_setting(ctx: Context, provider: TykProvider) -> ssl.SSLContext | bool:
    tls = provider.spec.tls
    if tls and tls.ca_secret_ref:
        bundle = await _secret_value(ctx, tls.ca_secret_ref, "CA bundle")
        return ssl.create_default_context(cadata=bundle)
    return not (tls and tls.insecure_skip_verify)


async def _backend_for(
    ctx: Context, provider: TykProvider, state: ProviderState | None
) -> tuple[Any, tuple[Any, ...]]:
    secret = await _secret_value(ctx, provider.spec.credentials_secret_ref, "credentials")
    verify = await _verify_setting(ctx, provider)
    # The key only enters the cache key as a digest, so it never sits in comparable state.
    fingerprint = hashlib.sha256(secret.encode()).hexdigest()
    tls = provider.spec.tls.model_dump_json() if provider.spec.tls else ""
    cache_key = (provider.spec.mode or "Dashboard", provider.spec.url, provider.spec.org_id, fingerprint, tls)
    if state and state.backend is not None and state.backend_key == cache_key:
        return state.backend, cache_key
    if state and state.backend is not None:
        await state.backend.aclose()
    backend = ctx.backend_factory(
        mode=provider.spec.mode or "Dashboard",
        url=provider.spec.url,
        api_key=secret,
        org_id=provider.spec.org_id,
        verify=verify,
    )
    return backend, cache_key


def policy_writes_refused(provider_name: str, url: str | None = None) -> str:
    """What a person reads when a Gateway refuses policy writes, and what to do about it."""
    where = f" at {url}" if url else ""
    return (
        f"the Tyk Gateway{where} refuses policy writes: it loads its policies from a Dashboard "
        '(tyk.conf policies.policy_source: "service"). Either set policies.policy_source to "file" '
        "with a policies.policy_path (and share that directory between the Gateways), or point "
        f'TykProvider "{provider_name}" at the Dashboard with mode: Dashboard'
    )


async def check_provider(ctx: Context, provider: TykProvider) -> tuple[Outcome, str | None]:
    """Check that the provider's Secret exists and Tyk answers with it; remember the result.

    Returns:
        The outcome to report and Tyk's version when known.
    """
    state = ctx.providers.get(provider.name)
    config = provider_config(provider)
    resync = float(parse_duration(provider.spec.resync_interval)) if provider.spec.resync_interval else None
    new_state = ProviderState(
        name=provider.name,
        config=config,
        default=bool(provider.spec.default),
        ready=False,
        message="",
        backend=state.backend if state else None,
        backend_key=state.backend_key if state else None,
        resync_interval=resync or ctx.settings.default_resync_interval,
        deleting=bool(provider.metadata.get("deletionTimestamp")),
    )
    if state is not None:
        new_state.wake = state.wake
    new_state.wake.clear()
    version: str | None = None
    try:
        backend, key = await _backend_for(ctx, provider, state)
        new_state.backend, new_state.backend_key = backend, key
        if provider.spec.gateway_ca_secret_ref is not None:
            new_state.gateway_ca = await _secret_value(
                ctx, provider.spec.gateway_ca_secret_ref, "Gateway CA bundle"
            )
        info = await backend.check()
        version = info.version
        outcome = Outcome(Reason.CONNECTED, f"connected to Tyk at {provider.spec.url}")
    except RetryableError as exc:
        outcome = exc.outcome
    except TykAuthError as exc:
        outcome = Outcome(Reason.UNAUTHORIZED, f"Tyk rejected the credentials: {exc.tyk_message or exc}")
    except TykPolicyWritesRefused:
        outcome = Outcome(
            Reason.POLICY_WRITES_REFUSED, policy_writes_refused(provider.name, provider.spec.url)
        )
    except TykUnavailable as exc:
        outcome = Outcome(Reason.UNREACHABLE, f"Tyk at {provider.spec.url} is unreachable: {exc}")
    except TykError as exc:
        outcome = Outcome(Reason.TYK_REJECTED, f"Tyk answered unexpectedly: {exc}")
    new_state.ready = outcome.ready
    new_state.message = outcome.message
    ctx.providers[provider.name] = new_state
    return outcome, version


async def forget_provider(ctx: Context, name: str) -> None:
    """Drop a deleted provider and close its connections."""
    state = ctx.providers.pop(name, None)
    if state and state.backend is not None:
        await state.backend.aclose()


async def resolve_provider(ctx: Context, ref: LocalObjectRef | None) -> ProviderState:
    """The ready provider an object publishes to (`providerRef`, else the default one).

    Raises:
        NotYetKnown: the provider exists but has not been checked yet by this process.
        RetryableError: `ProviderNotReady`, naming what is missing.
    """
    if ref is not None:
        state = ctx.providers.get(ref.name)
        if state is None:
            found = await ctx.kube.get_resource("tykproviders", None, ref.name)
            if found is None:
                raise RetryableError(Reason.PROVIDER_NOT_READY, f'TykProvider "{ref.name}" not found')
            if not manages(ctx, found):
                raise not_managed_error(ctx, ref.name, found)
            raise NotYetKnown(Reason.PROVIDER_NOT_READY, f'TykProvider "{ref.name}" not checked yet')
    else:
        defaults = sorted(
            (s for s in ctx.providers.values() if s.default and not s.deleting), key=lambda s: s.name
        )
        if not defaults:
            listed = await ctx.kube.list_resources("tykproviders")
            if any(
                (item.get("spec") or {}).get("default")
                and manages(ctx, item)
                and not (item.get("metadata") or {}).get("deletionTimestamp")
                for item in listed
            ):
                raise NotYetKnown(Reason.PROVIDER_NOT_READY, "the default TykProvider is not checked yet")
            raise RetryableError(
                Reason.PROVIDER_NOT_READY, "no providerRef given and no TykProvider is marked default: true"
            )
        if len(defaults) > 1:
            names = ", ".join(s.name for s in defaults)
            raise RetryableError(
                Reason.PROVIDER_NOT_READY, f"several TykProviders are marked default ({names})"
            )
        state = defaults[0]
    if state.deleting:
        raise RetryableError(Reason.PROVIDER_NOT_READY, f'TykProvider "{state.name}" is being deleted')
    if not state.ready or state.backend is None:
        raise RetryableError(
            Reason.PROVIDER_NOT_READY, f'TykProvider "{state.name}" is not Ready: {state.message}'
        )
    return state
