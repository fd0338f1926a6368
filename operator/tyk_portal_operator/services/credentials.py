"""Carry out a credential plan (`core/lifecycle.py`): Tyk and Kubernetes calls, in the plan's order.

Nothing is decided here. Each action maps to one adapter call (a lost credential to a few); the
first failure stops the run and propagates: the next reconcile reads the Secret and Tyk again and
plans from there, which is what makes every step safe to repeat.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core.conditions import Reason
from ..core.credential_type_mtls import KIND_CERTIFICATE, KIND_CERTIFICATE_KEY, MutualTLS
from ..core.credential_type_oauth import META_OAUTH_CLIENT, OAUTH_CLIENT_TAG, OAuthClient, oauth_policy_id
from ..core.credential_types import CredentialType, Material, TykObject, TykRef
from ..core.credentials import META_REQUEST_UID
from ..core.lifecycle import (
    Action,
    CreateInTyk,
    DeleteInTyk,
    EnsureFinalizer,
    RevokeLost,
    SecretRecord,
    UpdateInTyk,
    WriteSecret,
    refs_to_observe,
)
from ..core.naming import REQUEST_FINALIZER
from ..errors import RetryableError, StalledError
from ..logging_setup import remember_secret
from ..tyk import TykBackend, TykError, TykRejected
from ..tyk.certificates import TykCertificateStore
from .context import Context

__all__ = ["entropy", "execute", "observe", "remember"]


def entropy(size: int) -> bytes:
    """Random bytes for new credential material, from the OS's CSPRNG."""
    return secrets.token_bytes(size)


def remember(materials: Iterable[Material]) -> None:
    """Mask every value of these materials in log output."""
    for material in materials:
        for value in material.secrets():
            remember_secret(value)


async def observe(
    backend: TykBackend, credential_type: CredentialType, record: SecretRecord
) -> dict[TykRef, Mapping[str, Any] | None]:
    """What Tyk holds for the Secret's credentials, as far as the lifecycle needs it (one GET per
    object; None where missing; see `core.lifecycle.refs_to_observe`).

    Raises:
        TykError: a lookup failed.
    """
    _check_supported(backend, credential_type)
    observed: dict[TykRef, Mapping[str, Any] | None] = {}
    while wanted := refs_to_observe(record, credential_type, observed):
        for ref in wanted:
            observed[ref] = await _get(backend, ref, observed)
    return observed


async def _get(
    backend: TykBackend, ref: TykRef, observed: Mapping[TykRef, Mapping[str, Any] | None]
) -> Mapping[str, Any] | None:
    if ref.kind in ("key", KIND_CERTIFICATE_KEY):
        return await backend.get_key(ref.id)
    if ref.kind == KIND_CERTIFICATE:
        return await _certificates(backend).get_certificate(ref.id)
    if ref.kind == "policy":
        return await backend.get_policy(ref.id)
    if ref.kind == "oauth_client":
        return await _get_oauth_client(
            backend, ref.id, observed.get(TykRef("policy", oauth_policy_id(ref.id)))
        )
    raise ValueError(f"no Tyk adapter call for objects of kind {ref.kind!r}")


async def _oauth_api_ids(backend: TykBackend) -> list[str]:
    return [api.api_id for api in await backend.list_apis() if api.auth_type == "oauth"]


async def _get_oauth_client(
    backend: TykBackend, client_id: str, policy: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """Where an OAuth client is registered: `{"registrations": {api_id: client}}` (None: nowhere).

    The APIs asked are those its policy grants (read just before); without the policy, every OAuth API.
    """
    api_ids = list((policy or {}).get("access_rights") or {}) if policy else await _oauth_api_ids(backend)
    registrations = {}
    for api_id in api_ids:
        client = await backend.get_oauth_client(api_id, client_id)
        if client is not None:
            registrations[api_id] = client
    return {"registrations": registrations} if registrations else None


async def _delete(backend: TykBackend, ref: TykRef) -> None:
    if ref.kind in ("key", KIND_CERTIFICATE_KEY):
        await backend.delete_key(ref.id)
    elif ref.kind == KIND_CERTIFICATE:
        await _certificates(backend).delete_certificate(ref.id)
    elif ref.kind == "policy":
        await backend.delete_policy(ref.id)
    elif ref.kind == "oauth_client":
        for api_id in await _oauth_api_ids(backend):
            await backend.delete_oauth_client(api_id, ref.id)
    else:
        raise ValueError(f"no Tyk adapter call for objects of kind {ref.kind!r}")


async def _create(backend: TykBackend, obj: TykObject) -> str | None:
    """Create the object; Tyk's key hash for a key."""
    if obj.ref.kind == "key":
        return (await backend.create_key(obj.ref.id, obj.body)).key_hash
    if obj.ref.kind == KIND_CERTIFICATE:
        await _certificates(backend).upload_certificate(obj.body["cert"])
        return None
    if obj.ref.kind == KIND_CERTIFICATE_KEY:
        return (await _certificates(backend).create_certificate_key(obj.body)).key_hash
    if obj.ref.kind == "policy":
        await backend.create_policy(obj.body)
        return None
    if obj.ref.kind == "oauth_client":
        for api_id in obj.body["api_ids"]:
            await backend.create_oauth_client(api_id, obj.body["client"])
        return None
    raise ValueError(f"no Tyk adapter call for objects of kind {obj.ref.kind!r}")


async def _update(backend: TykBackend, obj: TykObject, body: dict[str, Any]) -> str | None:
    """Update the object; Tyk's key hash when it had to be created again."""
    if obj.ref.kind == "key":
        await backend.update_key(obj.ref.id, body)
        return None
    if obj.ref.kind == KIND_CERTIFICATE_KEY:
        # Tyk would store an update by the fingerprint beside the key it derived: replace the key.
        await backend.delete_key(obj.ref.id)
        return (await _certificates(backend).create_certificate_key(body)).key_hash
    if obj.ref.kind == "policy":
        await backend.update_policy(obj.ref.id, body)
        return None
    if obj.ref.kind == "oauth_client":
        for api_id in body["register_api_ids"]:
            await backend.create_oauth_client(api_id, body["client"])
        for api_id in body["remove_api_ids"]:
            await backend.delete_oauth_client(api_id, obj.ref.id)
        return None
    raise ValueError(f"no Tyk adapter call for updating objects of kind {obj.ref.kind!r}")


def _certificates(backend: TykBackend) -> TykCertificateStore:
    if not isinstance(backend, TykCertificateStore):
        raise ValueError("this Tyk backend has no certificate store")
    return backend


def _check_supported(backend: TykBackend, credential_type: CredentialType) -> None:
    """Refuse, before anything is written, a type this Tyk backend cannot carry."""
    if not isinstance(credential_type, MutualTLS):
        return
    if not isinstance(backend, TykCertificateStore):
        raise StalledError(
            Reason.CREDENTIAL_TYPE_UNSUPPORTED,
            "MutualTLS credentials need a TykProvider in Dashboard mode (the operator registers "
            "client certificates through the Dashboard's certificate store); request AuthToken "
            "credentials from this provider, or use a Dashboard-mode provider",
        )
    try:
        backend.certificate_id("")
    except TykError as exc:
        raise StalledError(
            Reason.CREDENTIAL_TYPE_UNSUPPORTED,
            "MutualTLS credentials need the TykProvider's spec.orgID (Tyk's certificate ids start "
            "with the organisation id); set it to the Dashboard organisation's id",
        ) from exc


async def _revoke_lost_oauth_clients(backend: TykBackend, request_uid: str) -> None:
    """The OAuth clients (and their policies) of a request whose Secret was lost: every policy the
    operator keeps for a client of this request (its tag and the request's uid mark it)."""
    for policy in await backend.list_policies():
        meta = policy.get("meta_data") or {}
        if OAUTH_CLIENT_TAG not in (policy.get("tags") or []) or meta.get(META_REQUEST_UID) != request_uid:
            continue
        client_id = str(meta.get(META_OAUTH_CLIENT) or "")
        if client_id:
            remember_secret(client_id)
            for api_id in policy.get("access_rights") or {}:
                await backend.delete_oauth_client(api_id, client_id)
        await backend.delete_policy(str(policy.get("id") or policy.get("_id")))


async def _revoke_lost(backend: TykBackend, action: RevokeLost) -> None:
    # Every key carrying the request's uid in its session (the operator writes it into each key); a
    # Tyk that does not hash keys lists the keys themselves, one that does lists their hashes.
    found = await backend.find_keys(META_REQUEST_UID, action.request_uid)
    if found is None:  # this Tyk cannot list keys: the hashes status recorded
        if not action.key_hashes:
            raise RetryableError(
                Reason.TYK_REJECTED,
                "cannot revoke the credential lost with its Secret: Tyk does not list keys and no key "
                "hash is recorded; enable enable_hashed_keys_listing in Tyk, or set "
                "spec.deletionPolicy: Orphan, delete the request and delete its key in Tyk by hand",
            )
        for key_hash in action.key_hashes:
            await _delete_by_hash(backend, key_hash)
        return
    for key in found:
        if key.key_id:
            remember_secret(key.key_id)
            await backend.delete_key(key.key_id)
        elif key.key_hash:
            await _delete_by_hash(backend, key.key_hash)


async def _delete_by_hash(backend: TykBackend, key_hash: str) -> None:
    try:
        await backend.delete_key_by_hash(key_hash)
    except TykRejected as exc:
        raise RetryableError(
            Reason.TYK_REJECTED,
            f"Tyk refused to revoke the credential lost with its Secret by its hash ({exc.tyk_message or exc}); "
            "a Dashboard deletes keys by hash only with enable_delete_key_by_hash: true in its "
            "configuration. No new credential is issued until the lost one is revoked",
        ) from exc


async def _ensure_finalizer(ctx: Context, body: dict[str, Any]) -> None:
    metadata = body.setdefault("metadata", {})
    finalizers = list(metadata.get("finalizers") or [])
    if REQUEST_FINALIZER in finalizers:
        return
    await ctx.kube.add_finalizer(
        "provisioningrequests", metadata.get("namespace"), metadata["name"], REQUEST_FINALIZER, finalizers
    )
    metadata["finalizers"] = [*finalizers, REQUEST_FINALIZER]


async def _write_secret(ctx: Context, action: WriteSecret) -> None:
    manifest = dict(action.manifest)
    metadata = manifest["metadata"]
    if action.resource_version is None:
        await ctx.kube.create_secret(metadata["namespace"], manifest)
        return
    manifest["metadata"] = {**metadata, "resourceVersion": action.resource_version}
    await ctx.kube.replace_secret(metadata["namespace"], metadata["name"], manifest)


async def execute(
    ctx: Context, body: dict[str, Any], backend: TykBackend, actions: Sequence[Action]
) -> dict[TykRef, str | None]:
    """Run the actions in order; returns Tyk's key hash for every object created.

    Raises:
        TykError: a Tyk call failed (nothing after it ran).
        KubeError: a Kubernetes call failed (e.g. `KubeConflict` when the Secret changed meanwhile).
        RetryableError: a credential lost with its Secret cannot be revoked (`TykRejected`: Tyk's
            configuration must change; retried with backoff, since no Kubernetes change signals it).
    """
    created: dict[TykRef, str | None] = {}
    for action in actions:
        if isinstance(action, DeleteInTyk):
            await _delete(backend, action.ref)
        elif isinstance(action, RevokeLost):
            if ((body.get("spec") or {}).get("credentialType") or "AuthToken") == OAuthClient.name:
                await _revoke_lost_oauth_clients(backend, action.request_uid)
            else:
                await _revoke_lost(backend, action)
        elif isinstance(action, WriteSecret):
            await _write_secret(ctx, action)
        elif isinstance(action, EnsureFinalizer):
            await _ensure_finalizer(ctx, body)
        elif isinstance(action, CreateInTyk):
            created[action.obj.ref] = await _create(backend, action.obj)
        elif isinstance(action, UpdateInTyk):
            recreated = await _update(backend, action.obj, action.body)
            if recreated is not None:
                created[action.obj.ref] = recreated
    return created
