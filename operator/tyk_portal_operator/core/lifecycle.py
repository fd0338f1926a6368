"""One credential lifecycle for every credential type, as a pure plan: the request, its plan and
provider, the Secret's contents and what Tyk holds go in; the actions to take (in order) and the
next status come out. The services execute the actions and write the status; they decide nothing.

Where the state lives, so that no retry, restart or racing reconcile can lose it:

- The Secret holds the material and the rotation record, and is written before Tyk is touched:
  `apiportal.dev/issued-at` (when the current credential was issued), `apiportal.dev/expires-at`,
  `apiportal.dev/previous-key-expires-at` (end of the overlap), `apiportal.dev/rotate-token` (the
  `apiportal.dev/rotate` value the current credential answers) and `apiportal.dev/last-rotation`.
  A rotation cut short by a Tyk failure is therefore already recorded when it is retried: it is
  finished (the new credential created in Tyk), never started again.
- The status holds what is known only after Tyk answered (Tyk's key hashes) and the summary a person
  reads; it is written after the actions succeeded.

The rules (each has a test in tests/unit/core/test_lifecycle.py):

1. Material first: new material is in the Secret before anything is created for it in Tyk.
2. Retire after: a credential leaves the Secret only after it was deleted in Tyk.
3. A previous credential is deleted only when its overlap has ended and the current one is live in
   Tyk. When the current one had to be (re)created in Tyk while a previous one is kept (a retry after
   Tyk failed mid-rotation), the overlap starts again once it is live: workloads get the whole
   overlap with two working credentials.
4. One overlap at a time: a rotation asked for while a previous credential is still in its overlap
   waits until the overlap ends (`nextRotationTime` says when), so a burst of rotations never
   revokes a credential early.
5. The previous credential is only ever one Tyk has: rotating a credential Tyk does not hold, or one
   that has expired, keeps no previous (the expired one is deleted from Tyk first).
6. A lost Secret: the lost credentials are revoked before a new one is issued: every key in Tyk
   carrying the request's mark (its uid in `meta_data`), or, where Tyk cannot list keys, the keys
   whose hashes status recorded.
7. Expiry: a plan's `keyExpiry` gives each credential an expiry from its own issue time; it is
   renewed (rotated) `renewBefore` ahead of it (default a third of the lifetime, cert-manager's
   rule; "0s": never automatically); an expired credential is `Ready=False`, reason `Expired`,
   until a rotation renews it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models import ConsumerApp, ProvisioningRequest
from ..models.api_product import ResolvedAPI
from .conditions import Outcome, Reason
from .credential_types import CredentialType, Entropy, Grant, Material, TykObject, TykRef
from .credentials import (
    DATA_GATEWAY_URL,
    EXPIRES_AT_ANNOTATION,
    FINGERPRINT_ANNOTATION,
    ISSUED_AT_ANNOTATION,
    LAST_ROTATION_ANNOTATION,
    PREVIOUS_EXPIRES_ANNOTATION,
    ROTATE_ANNOTATION,
    ROTATE_TOKEN_ANNOTATION,
    SecretManifest,
    decode_secret_data,
    expiry_for,
    format_time,
    overlap_seconds,
    parse_time,
    render_secret,
    rotation_interval_seconds,
    secret_owned_by,
)
from .policies import ProviderConfig

__all__ = [
    "Action",
    "CreateInTyk",
    "CredentialPlan",
    "DeleteInTyk",
    "EnsureFinalizer",
    "LifecycleInputs",
    "RevokeLost",
    "SecretRecord",
    "UpdateInTyk",
    "WriteSecret",
    "issued_before",
    "next_due",
    "plan_credential",
    "plan_revocation",
    "read_record",
    "refs_to_observe",
]

_RECORD_ANNOTATIONS = (
    ISSUED_AT_ANNOTATION,
    EXPIRES_AT_ANNOTATION,
    FINGERPRINT_ANNOTATION,
    PREVIOUS_EXPIRES_ANNOTATION,
    ROTATE_TOKEN_ANNOTATION,
    LAST_ROTATION_ANNOTATION,
)


def _utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


# ----- what the Secret records ------------------------------------------------------------------


@dataclass(frozen=True)
class SecretRecord:
    """A credential Secret as the lifecycle reads it.

    Attributes:
        exists: A Secret with the name exists.
        owned: It is controlled by the request (materials are read only from an owned Secret).
        resource_version: Its resourceVersion (for a replace that fails on a concurrent change).
        current: The current material (None: absent or unreadable).
        previous: The rotated-out material still in its overlap.
        issued_at: When the current material was issued.
        previous_expires_at: When the previous material's overlap ends.
        rotate_token: The `apiportal.dev/rotate` value the current material answers.
        token_recorded: Whether the Secret records a rotate token (older Secrets do not; status then).
        last_rotation: When the last rotation happened.
        raw: The Secret as read (compared with the desired manifest); never shown.
    """

    exists: bool = False
    owned: bool = False
    resource_version: str | None = None
    current: Material | None = None
    previous: Material | None = None
    issued_at: datetime.datetime | None = None
    previous_expires_at: datetime.datetime | None = None
    rotate_token: str | None = None
    token_recorded: bool = False
    last_rotation: datetime.datetime | None = None
    raw: Mapping[str, Any] | None = field(default=None, repr=False)


def read_record(
    secret: Mapping[str, Any] | None, request_uid: str, credential_type: CredentialType
) -> SecretRecord:
    """Read a credential Secret (None: there is none).

    Args:
        secret: The Secret as the API returned it.
        request_uid: The request's UID (ownership).
        credential_type: The request's credential type (which data keys hold the material).
    """
    if secret is None:
        return SecretRecord()
    metadata = secret.get("metadata") or {}
    owned = secret_owned_by(secret, request_uid)
    if not owned:
        return SecretRecord(exists=True, resource_version=metadata.get("resourceVersion"), raw=secret)
    annotations = metadata.get("annotations") or {}
    current, previous = credential_type.read(decode_secret_data(secret))
    return SecretRecord(
        exists=True,
        owned=True,
        resource_version=metadata.get("resourceVersion"),
        current=current,
        previous=previous,
        issued_at=parse_time(annotations.get(ISSUED_AT_ANNOTATION)),
        previous_expires_at=parse_time(annotations.get(PREVIOUS_EXPIRES_ANNOTATION)),
        rotate_token=annotations.get(ROTATE_TOKEN_ANNOTATION),
        token_recorded=ROTATE_TOKEN_ANNOTATION in annotations,
        last_rotation=parse_time(annotations.get(LAST_ROTATION_ANNOTATION)),
        raw=secret,
    )


def refs_to_observe(
    record: SecretRecord,
    credential_type: CredentialType,
    observed: Mapping[TykRef, Mapping[str, Any] | None],
) -> list[TykRef]:
    """What must still be looked up in Tyk before planning (empty: plan now).

    The current material's objects; when one of them is missing, also the previous material's (is
    the previous credential still there to overlap with?). One GET each: in the steady state only
    the current credential is looked up.
    """
    if record.current is None:
        return []
    current = credential_type.refs(record.current)
    wanted = [ref for ref in current if ref not in observed]
    if wanted:
        return wanted
    if record.previous is not None and any(observed[ref] is None for ref in current):
        return [ref for ref in credential_type.refs(record.previous) if ref not in observed]
    return []


# ----- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteInTyk:
    """Delete an object from Tyk (already gone counts as done)."""

    ref: TykRef


@dataclass(frozen=True)
class RevokeLost:
    """Revoke the credentials of the request whose material was lost with its Secret.

    Every key in Tyk that carries the request's uid (a Tyk that does not hash keys lists the keys
    themselves, one that does their hashes); where Tyk cannot list keys, the keys with the hashes
    recorded in status (`key_hashes`).
    """

    request_uid: str
    key_hashes: tuple[str, ...]


@dataclass(frozen=True)
class WriteSecret:
    """Create the Secret (`resource_version` None) or replace it at that resourceVersion."""

    manifest: SecretManifest
    resource_version: str | None


@dataclass(frozen=True)
class EnsureFinalizer:
    """The request's finalizer is in place (before anything is created in Tyk)."""


@dataclass(frozen=True)
class CreateInTyk:
    """Create an object in Tyk."""

    obj: TykObject


@dataclass(frozen=True)
class UpdateInTyk:
    """Replace an object in Tyk with `body` (the managed fields in `changes` differ)."""

    obj: TykObject
    body: dict[str, Any] = field(repr=False)
    changes: tuple[str, ...]


Action = DeleteInTyk | RevokeLost | WriteSecret | EnsureFinalizer | CreateInTyk | UpdateInTyk


# ----- inputs and plan --------------------------------------------------------------------------


@dataclass(frozen=True)
class LifecycleInputs:
    """Everything a credential's next step depends on, gathered by the services.

    Attributes:
        request: The approved, eligible request.
        app: Its ConsumerApp (its `secretTemplate`), None when not found.
        credential_type: The request's credential type.
        products: The products as `namespace/name`, in the request's order.
        plan_ref: The plan as `namespace/name`.
        policy_ids: The products' policy ids, then the plan's.
        key_expiry: The plan's credential lifetime in seconds (None: never expires).
        renew_before: Renew this long before expiry (None: never automatically).
        provider: The provider's name, org and public gateway URL.
        secret_name: The Secret's name.
        secret: The Secret as read (`read_record`); an empty record when absent or not read.
        observed: What Tyk holds for each ref of the Secret's materials (None: missing), as
            `refs_to_observe` asks: the current material's, and the previous one's when Tyk lacks the
            current one.
        now: The current time.
        apis: The products' resolved APIs, in the request's order (`Grant.apis`).
        policies: The products' and the plan's desired policy bodies (`Grant.policies`).
    """

    request: ProvisioningRequest
    app: ConsumerApp | None
    credential_type: CredentialType
    products: tuple[str, ...]
    plan_ref: str
    policy_ids: tuple[str, ...]
    key_expiry: int | None
    renew_before: int | None
    provider: ProviderConfig
    secret_name: str
    secret: SecretRecord
    observed: Mapping[TykRef, Mapping[str, Any] | None]
    now: datetime.datetime
    apis: tuple[ResolvedAPI, ...] = ()
    policies: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class CredentialPlan:
    """What to do, in order, and what status says afterwards.

    Attributes:
        actions: To execute in this order; stop at the first failure (the next reconcile re-plans).
        outcome: The Ready condition once the actions succeeded.
        fields: Status fields (`keyHash` is completed by `status_fields` with Tyk's answer).
        events: `(type, reason, message)` to post once the actions succeeded.
        materials: Every material the plan handles (so the caller can mask them in logs).
        current_refs: The Tyk refs of the current material (whose create answers give `keyHash`).
        stalled: The outcome needs a person (no actions).
    """

    actions: tuple[Action, ...]
    outcome: Outcome
    fields: Mapping[str, Any]
    events: tuple[tuple[str, str, str], ...] = ()
    materials: tuple[Material, ...] = ()
    current_refs: tuple[TykRef, ...] = ()
    stalled: bool = False

    def status_fields(self, created: Mapping[TykRef, str | None]) -> dict[str, Any]:
        """The status fields, with the key hash Tyk answered when it created the current credential.

        Args:
            created: Tyk's key hash per ref created by the actions (None where Tyk did not report one).
        """
        fields = dict(self.fields)
        for ref in self.current_refs:
            if created.get(ref):
                fields["keyHash"] = created[ref]
        return fields


def _stop(outcome: Outcome) -> CredentialPlan:
    return CredentialPlan(actions=(), outcome=outcome, fields={}, stalled=True)


def issued_before(request: ProvisioningRequest) -> bool:
    """Whether the request's status says a credential was issued (so a missing Secret was lost)."""
    status = request.status
    return bool(status.issued_at or status.key_hash or status.key_fingerprint)


def _time(moment: datetime.datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None


def _lost_hashes(request: ProvisioningRequest) -> tuple[str, ...]:
    status = request.status
    return tuple(h for h in (status.key_hash, status.previous_key_hash) if h)


def _live(
    observed: Mapping[TykRef, Mapping[str, Any] | None], refs: Sequence[TykRef]
) -> tuple[bool, dict[TykRef, Mapping[str, Any] | None]]:
    missing = [ref for ref in refs if ref not in observed]
    if missing:
        raise ValueError(f"what Tyk holds for the current credential was not observed: {missing}")
    seen = {ref: observed[ref] for ref in refs}
    return all(value is not None for value in seen.values()), seen


def _rotation_reason(
    token: str | None,
    handled: str | None,
    renewal_at: datetime.datetime | None,
    interval_due: datetime.datetime | None,
    now: datetime.datetime,
) -> str | None:
    if token and token != handled:
        return "requested"
    if renewal_at is not None and now >= renewal_at:
        return "renewal"
    if interval_due is not None and now >= interval_due:
        return "interval"
    return None


def _secret_differs(existing: Mapping[str, Any], manifest: Mapping[str, Any]) -> bool:
    meta, want = existing.get("metadata") or {}, manifest["metadata"]
    have_annotations = meta.get("annotations") or {}
    want_annotations = want.get("annotations", {})
    stale_record = any(key in have_annotations and key not in want_annotations for key in _RECORD_ANNOTATIONS)
    return (
        (existing.get("data") or {}) != manifest.get("data")
        or {**(meta.get("labels") or {})} != want.get("labels", {})
        or {k: v for k, v in have_annotations.items() if k in want_annotations} != want_annotations
        or stale_record
        or meta.get("ownerReferences") != want.get("ownerReferences")
    )


def _earliest(*moments: datetime.datetime | None) -> datetime.datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


def plan_credential(inputs: LifecycleInputs, entropy: Entropy) -> CredentialPlan:
    """Plan the next step of an approved, eligible request's credential.

    Args:
        inputs: See `LifecycleInputs`.
        entropy: Random bytes for new material (called only when new material is needed).

    Returns:
        The plan; `stalled` (with no actions) when a person must act first (`SecretConflict`,
        `InvalidSpec`).

    Raises:
        ValueError: when the current material's Tyk objects were not observed (a caller's bug).
    """
    request, kind, record = inputs.request, inputs.credential_type, inputs.secret
    status = request.status
    now = _utc(inputs.now)
    namespace = request.namespace or ""
    secret_name = inputs.secret_name
    if record.exists and not record.owned:
        return _stop(
            Outcome(
                Reason.SECRET_CONFLICT,
                f"Secret {namespace}/{secret_name} exists and is not owned by this request; "
                "delete it or choose another spec.secretName",
            )
        )
    try:
        overlap = overlap_seconds(request)
        interval = rotation_interval_seconds(request)
    except ValueError as exc:
        return _stop(Outcome(Reason.INVALID_SPEC, str(exc)))

    token = request.annotations.get(ROTATE_ANNOTATION) or None
    handled = record.rotate_token if record.token_recorded else status.handled_rotate_token
    current, previous = record.current, record.previous
    previous_expires = record.previous_expires_at if previous is not None else None
    issued_at = record.issued_at or parse_time(status.issued_at) or now
    last_rotation = record.last_rotation or parse_time(status.last_rotation_time)
    if not record.token_recorded and record.last_rotation is None and last_rotation is not None:
        # A Secret written before the record existed: its issued-at is the first issue's.
        issued_at = max(issued_at, last_rotation)

    events: list[tuple[str, str, str]] = []
    materials: list[Material] = [m for m in (current, previous) if m is not None]
    before_secret: list[Action] = []
    fresh = False  # the current material was generated in this plan: Tyk cannot hold it yet
    restamp = False  # the overlap starts again once the current credential is live (rule 3)
    pending: str | None = None
    observed: dict[TykRef, Mapping[str, Any] | None] = {}

    live = False
    if current is None:
        if issued_before(request):
            before_secret.append(RevokeLost(request.uid, _lost_hashes(request)))
            events.append(
                (
                    "Normal",
                    "SecretRestored",
                    f"Secret {secret_name} was missing; revoked the lost credential and issued a new one",
                )
            )
        current = kind.generate(entropy)
        materials.append(current)
        previous = previous_expires = None
        issued_at, handled, fresh = now, token, True
    else:
        live, observed = _live(inputs.observed, kind.refs(current))
        if previous is not None and live and (previous_expires is None or now >= previous_expires):
            before_secret += [DeleteInTyk(ref) for ref in kind.refs(previous)]
            events.append(
                ("Normal", "PreviousKeyRevoked", "The overlap ended; revoked the previous credential")
            )
            previous = previous_expires = None
        expires_at = expiry_for(inputs.key_expiry, issued_at)
        renewal_at = _renewal_time(expires_at, inputs.renew_before)
        interval_due = issued_at + datetime.timedelta(seconds=interval) if interval else None
        why = _rotation_reason(token, handled, renewal_at, interval_due, now)
        if why is not None and previous is not None:
            pending = why  # rule 4: one overlap at a time
        elif why is not None:
            old_expired = bool(expires_at) and now.timestamp() >= expires_at
            old = current
            current = kind.generate(entropy)
            materials.append(current)
            fresh = True
            if live and not old_expired:
                previous, previous_expires = old, now + datetime.timedelta(seconds=overlap)
                kept = f"the previous one stays valid until {format_time(previous_expires)}"
            else:  # rule 5
                if live:
                    before_secret += [DeleteInTyk(ref) for ref in kind.refs(old)]
                previous = previous_expires = None
                kept = "the previous one had expired" if live else "Tyk did not hold the previous one"
            if why == "requested":
                handled = token
            issued_at = last_rotation = now
            verb = (
                "Renewed the credential before its expiry" if why == "renewal" else "Rotated the credential"
            )
            events.append(("Normal", "Rotated", f"{verb}; {kept}"))
    if not fresh and not live and previous is not None:
        if _live(inputs.observed, kind.refs(previous))[0]:
            restamp = True  # rule 3: a rotation cut short; the overlap restarts once the current is live
            previous_expires = now + datetime.timedelta(seconds=overlap)
        else:
            previous = previous_expires = None  # rule 5: Tyk does not hold it (any more)

    suspended = bool(request.spec.suspended)
    if suspended and previous is not None:
        # Suspension cuts access now: an overlap ends with it (the previous credential would
        # otherwise keep working until the overlap's end).
        before_secret += [DeleteInTyk(ref) for ref in kind.refs(previous)]
        events.append(("Normal", "PreviousKeyRevoked", "Suspended: revoked the previous credential at once"))
        previous = previous_expires = None
        restamp = False
        pending = None

    expires_at = expiry_for(inputs.key_expiry, issued_at)
    renewal_at = _renewal_time(expires_at, inputs.renew_before)
    interval_due = issued_at + datetime.timedelta(seconds=interval) if interval else None
    grant = Grant(
        request,
        inputs.policy_ids,
        inputs.provider.org_id,
        expires_at,
        suspended,
        apis=inputs.apis,
        policies=inputs.policies,
        gateway_url=inputs.provider.gateway_url,
        expired=bool(expires_at) and now.timestamp() >= expires_at,
    )
    desired = kind.tyk_objects(current, grant)

    tyk_actions: list[Action] = []
    created = False
    for obj in desired:
        actual = None if fresh else observed.get(obj.ref)
        if actual is None:
            tyk_actions.append(CreateInTyk(obj))
            created = True
            continue
        changes = kind.differences(obj, actual)
        if changes:
            tyk_actions.append(UpdateInTyk(obj, kind.update_body(obj, actual), tuple(changes)))

    annotations = {ISSUED_AT_ANNOTATION: format_time(issued_at), FINGERPRINT_ANNOTATION: current.fingerprint}
    if expires_at:
        annotations[EXPIRES_AT_ANNOTATION] = format_time(_from_unix(expires_at))
    if previous is not None and previous_expires is not None:
        annotations[PREVIOUS_EXPIRES_ANNOTATION] = format_time(previous_expires)
    if handled is not None:
        annotations[ROTATE_TOKEN_ANNOTATION] = handled
    if last_rotation is not None:
        annotations[LAST_ROTATION_ANNOTATION] = format_time(last_rotation)
    data = kind.render(current, previous)
    data.update(kind.connection_data(grant))
    if inputs.provider.gateway_url:
        data[DATA_GATEWAY_URL] = inputs.provider.gateway_url
    manifest = render_secret(
        request,
        inputs.app,
        secret_name=secret_name,
        data=data,
        annotations=annotations,
        products=inputs.products,
        plan=inputs.plan_ref,
    )
    write: list[Action] = []
    if not record.exists or record.raw is None or _secret_differs(record.raw, manifest):
        write = [WriteSecret(manifest, record.resource_version if record.exists else None)]
    actions: list[Action] = [*before_secret]
    if not restamp:
        actions += write  # material first (rule 1)
    actions += [EnsureFinalizer(), *tyk_actions]
    if restamp:
        actions += write  # only the overlap's end changes, once the current credential is live

    if created and not issued_before(request):
        events.append(
            (
                "Normal",
                "CredentialIssued",
                f"Issued a credential (fingerprint {current.fingerprint}) into Secret {secret_name}",
            )
        )
    elif created and restamp and previous_expires is not None:
        events.append(
            (
                "Normal",
                "Rotated",
                "The new credential is live in Tyk; the previous one stays valid until "
                f"{format_time(previous_expires)}",
            )
        )
    elif created and not fresh:
        events.append(
            ("Normal", "KeyRestored", "The credential was missing in Tyk; restored it from the Secret")
        )
    if suspended != bool(status.suspended):
        events.append(
            (
                "Normal",
                "Suspended" if suspended else "Resumed",
                "Disabled the credential in Tyk" if suspended else "Re-enabled the credential in Tyk",
            )
        )

    deferred_until = previous_expires if pending is not None else None
    next_rotation = _earliest(interval_due, renewal_at, deferred_until)
    expired = bool(expires_at) and now.timestamp() >= expires_at
    if suspended:
        outcome = Outcome(Reason.SUSPENDED, "the credential is suspended (spec.suspended: true)")
    elif expired:
        outcome = Outcome(
            Reason.EXPIRED,
            f"the credential in Secret {secret_name} expired at {format_time(_from_unix(expires_at))} "
            f"and its plan does not renew it automatically: rotate it to renew "
            f"(kubectl portal rotate {request.name} -n {namespace})",
        )
        if next((c.reason for c in status.conditions if c.type == "Ready"), None) != Reason.EXPIRED:
            events.append(("Warning", "Expired", outcome.message))
    else:
        message = f"credential issued into Secret {secret_name}"
        if pending is not None and previous_expires is not None:
            asked = f" ({ROTATE_ANNOTATION}={token})" if pending == "requested" else f" ({pending})"
            message += (
                f"; a rotation{asked} waits until the previous credential's overlap ends at "
                f"{format_time(previous_expires)}"
            )
        outcome = Outcome(Reason.CREDENTIAL_ISSUED, message)

    known_hashes: dict[str, str] = {}
    if status.key_hash:
        owner = status.key_fingerprint or (record.current.fingerprint if record.current else "")
        known_hashes[owner] = status.key_hash
    previous_hash = None
    if previous is not None:
        previous_hash = known_hashes.get(previous.fingerprint) or status.previous_key_hash
    fields: dict[str, Any] = {
        "secretName": secret_name,
        "keyHash": known_hashes.get(current.fingerprint),
        "keyFingerprint": current.fingerprint,
        "previousKeyHash": previous_hash,
        "policies": list(inputs.policy_ids),
        "provider": inputs.provider.name,
        "issuedAt": format_time(issued_at),
        "expiresAt": format_time(_from_unix(expires_at)) if expires_at else None,
        "renewalTime": _time(renewal_at),
        "lastRotationTime": _time(last_rotation),
        "nextRotationTime": _time(next_rotation),
        "previousKeyExpiresAt": _time(previous_expires) if previous is not None else None,
        "suspended": suspended,
        "handledRotateToken": handled,
    }
    return CredentialPlan(
        actions=tuple(actions),
        outcome=outcome,
        fields=fields,
        events=tuple(events),
        materials=tuple(materials),
        current_refs=tuple(kind.refs(current)),
    )


def _from_unix(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def _renewal_time(expires_at: int, renew_before: int | None) -> datetime.datetime | None:
    if not expires_at or not renew_before:
        return None
    return _from_unix(expires_at - renew_before)


def next_due(status: Mapping[str, Any], ready_reason: str | None) -> datetime.datetime | None:
    """When a request must be reconciled again by itself, from its status fields.

    The next rotation (interval, renewal or a deferred one) and the end of an overlap; while the
    credential is issued, also its expiry (when it is not renewed automatically, the request turns
    `Expired` then). None: only a change needs it reconciled.

    Args:
        status: The status fields (camelCase, as written).
        ready_reason: The Ready condition's reason.
    """
    names = ["nextRotationTime", "previousKeyExpiresAt"]
    if ready_reason == Reason.CREDENTIAL_ISSUED:
        names.append("expiresAt")
    return _earliest(*(parse_time(status.get(name)) for name in names))


def plan_revocation(
    request: ProvisioningRequest, credential_type: CredentialType, record: SecretRecord
) -> tuple[Action, ...]:
    """What deleting a request (deletionPolicy Revoke) deletes in Tyk, before its Secret goes.

    The credentials in its Secret; when the Secret is gone (or not the request's) while status says
    one was issued, the lost one as after a lost Secret (`RevokeLost`).
    """
    actions: list[Action] = [
        DeleteInTyk(ref)
        for material in (record.current, record.previous)
        if material is not None
        for ref in credential_type.refs(material)
    ]
    if record.current is None and issued_before(request):
        actions.append(RevokeLost(request.uid, _lost_hashes(request)))
    return tuple(actions)
