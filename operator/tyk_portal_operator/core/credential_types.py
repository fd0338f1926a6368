"""Credential types: what differs between kinds of credential, behind the one interface the
lifecycle (`core/lifecycle.py`) uses without knowing which kind it handles.

A type answers, without I/O:

- `generate(entropy)`: new secret material, from random bytes the caller draws;
- `read(data)` / `render(current, previous)`: the material in the Secret's data, both ways;
- `tyk_objects(material, grant)`: what Tyk must hold for the material to grant the access, and
  `differences` / `update_body` to compare it with what Tyk holds;
- `refs(material)`: what to delete in Tyk to revoke it;
- `auth_types`: the Tyk API authentication modes such a credential authenticates to (a request
  for APIs of another mode is `AuthTypeMismatch` before anything is written to Tyk), and
  `api_problem(api)`: why an API of such a mode still cannot take the credential (e.g. a JWT API
  validating another signing method), also `AuthTypeMismatch`.

Adding a type adds a class here and a `credentialType` value to the CRD; the lifecycle (issue,
rotate with overlap, renew, suspend, revoke, recover a lost Secret) does not change.

Only `AuthToken` exists yet. How the others fit, from what Tyk's APIs take:

- `OAuthClient`: material is a client id and secret (Tyk's create accepts both given); the Secret
  holds `client-id`, `client-secret` and the token URL; the Tyk object is an OAuth client (kind
  `oauth_client`, `POST /api/apis/oauth/{apiId}`; its ref the client id, which is not secret and can
  go into status for revoking a lost Secret) bound to one `policy_id`; `auth_types` `{"oauth"}`.
- `JWT` (`credential_type_jwt.py`): an ECDSA P-256 key pair derived from the entropy; the Secret
  holds the private key and the key id; the Tyk object is a key whose id is the key id and whose
  session carries the public key (`jwt_data.secret`) and the policies; `auth_types` `{"jwt"}`, and
  `api_problem` refuses JWT APIs that do not validate ES256 with per-consumer keys named by `kid`.
- `MutualTLS` (`credential_type_mtls.py`): a client certificate and key; the Tyk objects are the
  certificate in Tyk's store (kind `certificate`) and the key bound to it (kind `certificate_key`,
  its session's `certificate`); `auth_types` `{"certificate"}`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..models import ProvisioningRequest
from ..models.api_product import ResolvedAPI
from .credentials import (
    DATA_API_KEY,
    DATA_API_KEY_PREVIOUS,
    MIN_KEY_ENTROPY_BYTES,
    credential_fingerprint,
    key_from_entropy,
    key_session,
    merge_session_for_update,
    session_differs,
)

__all__ = [
    "CREDENTIAL_TYPES",
    "AuthToken",
    "CredentialType",
    "Entropy",
    "Grant",
    "Material",
    "TykObject",
    "TykRef",
    "credential_type_of",
]

Entropy = Callable[[int], bytes]
"""Returns n random bytes (the services pass `secrets.token_bytes`; tests a deterministic source)."""


@dataclass(frozen=True)
class Material:
    """The secret material of one credential: named values, all secret, never shown.

    Attributes:
        values: The secret values by name (e.g. `{"key": ...}`); left out of `repr`.
        fingerprint: A short, non-reversible fingerprint for status, events and logs.
    """

    values: Mapping[str, str] = field(repr=False)
    fingerprint: str

    def secrets(self) -> tuple[str, ...]:
        """Every secret value (for log masking)."""
        return tuple(self.values.values())


@dataclass(frozen=True)
class TykRef:
    """How to address one object in Tyk.

    Attributes:
        kind: `key` (the only kind so far; `oauth_client` and `certificate` later).
        id: The object's id; for a key this is the credential itself, so it is left out of `repr`.
    """

    kind: str
    id: str = field(repr=False)


@dataclass(frozen=True)
class TykObject:
    """An object Tyk must hold, with the body the operator wants it to have."""

    ref: TykRef
    body: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Grant:
    """The access a credential carries in Tyk, whatever its type.

    Attributes:
        request: The request (its name, namespace, uid and app mark the Tyk objects).
        policy_ids: The products' policy ids in the request's order, then the plan's.
        org_id: The provider's org id (None: left for Tyk to fill).
        expires_at: Unix seconds at which the credential expires, 0 for never.
        suspended: Whether the request is suspended.
        apis: The products' resolved APIs, in the request's order (types that register the
            credential per API, or tell the workload where to get tokens, need them).
        policies: The products' and the plan's desired policy bodies, in `policy_ids` order (types
            that cannot apply several policies combine them).
        gateway_url: The provider's public Gateway URL (None: not configured).
        expired: `expires_at` has passed (types whose Tyk objects cannot expire by themselves
            disable them then).
    """

    request: ProvisioningRequest
    policy_ids: tuple[str, ...]
    org_id: str | None
    expires_at: int
    suspended: bool
    apis: tuple[ResolvedAPI, ...] = ()
    policies: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    gateway_url: str | None = None
    expired: bool = False

    def session(self) -> dict[str, Any]:
        """The Tyk key session that carries this access (`core.credentials.key_session`): the
        products' policies, then the plan's."""
        policies = self.policy_ids
        return key_session(
            self.request,
            list(policies[:-1]),
            policies[-1],
            self.org_id,
            self.expires_at,
            suspended=self.suspended,
        )


class CredentialType(ABC):
    """One kind of credential (a `spec.credentialType` value)."""

    name: ClassVar[str]
    auth_types: ClassVar[frozenset[str]]
    """Tyk API auth types (see `tyk.models.derive_auth_type`) this credential authenticates to."""
    key_session: ClassVar[bool] = True
    """Tyk holds it as a key session carrying the request's mark and policies (the bulk key check
    of `services/keys.py` finds it); False: only the round-robin full check covers it."""

    @abstractmethod
    def generate(self, entropy: Entropy) -> Material:
        """New material from caller-drawn randomness."""

    @abstractmethod
    def read(self, data: Mapping[str, str]) -> tuple[Material | None, Material | None]:
        """The current and previous material in a Secret's decoded data (None where absent)."""

    @abstractmethod
    def render(self, current: Material, previous: Material | None) -> dict[str, str]:
        """The Secret data keys (plain values) holding the current and, during an overlap, the
        previous material."""

    @abstractmethod
    def refs(self, material: Material) -> list[TykRef]:
        """What Tyk holds for the material: deleting these revokes it."""

    @abstractmethod
    def tyk_objects(self, material: Material, grant: Grant) -> list[TykObject]:
        """The objects Tyk must hold for the material to carry the grant (same order as `refs`)."""

    @abstractmethod
    def differences(self, desired: TykObject, actual: Mapping[str, Any]) -> list[str]:
        """The managed fields in which Tyk's object differs (empty when in sync)."""

    @abstractmethod
    def update_body(self, desired: TykObject, actual: Mapping[str, Any]) -> dict[str, Any]:
        """The full body of an update that makes Tyk's object the desired one."""

    def api_problem(self, api: ResolvedAPI) -> str | None:
        """Why an API of one of `auth_types` still cannot take this credential, as a phrase naming
        what the API uses (e.g. "validates JWTs with rsa"); None when it can (the default)."""
        return None

    def connection_data(self, grant: Grant) -> dict[str, str]:
        """Non-secret Secret data telling a workload how to use the credential for this grant
        (e.g. an OAuth token URL); none by default."""
        return {}


class AuthToken(CredentialType):
    """A Tyk API key (auth token) with a custom id the operator generates: 256 random bits, hex.

    The Secret holds it as `api-key` (and the rotated-out one as `api-key-previous`). In Tyk it is
    one key whose session applies the products' and the plan's policies.
    """

    name = "AuthToken"
    auth_types = frozenset({"authToken"})

    def generate(self, entropy: Entropy) -> Material:
        """A key from 32 random bytes."""
        return self._material(key_from_entropy(entropy(MIN_KEY_ENTROPY_BYTES)))

    @staticmethod
    def _material(key: str) -> Material:
        return Material(values={"key": key}, fingerprint=credential_fingerprint(key))

    def read(self, data: Mapping[str, str]) -> tuple[Material | None, Material | None]:
        """`api-key` and `api-key-previous`."""
        current, previous = data.get(DATA_API_KEY), data.get(DATA_API_KEY_PREVIOUS)
        return (
            self._material(current) if current else None,
            self._material(previous) if previous else None,
        )

    def render(self, current: Material, previous: Material | None) -> dict[str, str]:
        """`api-key`, plus `api-key-previous` during an overlap."""
        data = {DATA_API_KEY: current.values["key"]}
        if previous is not None:
            data[DATA_API_KEY_PREVIOUS] = previous.values["key"]
        return data

    def refs(self, material: Material) -> list[TykRef]:
        """The key, by its id."""
        return [TykRef("key", material.values["key"])]

    def tyk_objects(self, material: Material, grant: Grant) -> list[TykObject]:
        """The key with its session (`Grant.session`)."""
        return [TykObject(self.refs(material)[0], grant.session())]

    def differences(self, desired: TykObject, actual: Mapping[str, Any]) -> list[str]:
        """`core.credentials.session_differs`."""
        return session_differs(desired.body, actual)

    def update_body(self, desired: TykObject, actual: Mapping[str, Any]) -> dict[str, Any]:
        """`core.credentials.merge_session_for_update`."""
        return merge_session_for_update(desired.body, actual)


def _implemented() -> list[CredentialType]:
    # Types in their own modules import this one: they are imported on first use, not at import.
    from .credential_type_jwt import JWT
    from .credential_type_mtls import MutualTLS
    from .credential_type_oauth import OAuthClient

    return [
        AuthToken(),
        JWT(),
        MutualTLS(),
        OAuthClient(),
    ]


class _Registry(Mapping[str, CredentialType]):
    """The implemented types by name, built on first use."""

    def __init__(self) -> None:
        self._types: dict[str, CredentialType] | None = None

    def _load(self) -> dict[str, CredentialType]:
        if self._types is None:
            self._types = {kind.name: kind for kind in _implemented()}
        return self._types

    def __getitem__(self, name: str) -> CredentialType:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


CREDENTIAL_TYPES: Mapping[str, CredentialType] = _Registry()
"""Every implemented type by its `spec.credentialType` value."""


def credential_type_of(request: ProvisioningRequest) -> CredentialType:
    """The request's credential type (`AuthToken` when `spec.credentialType` is omitted).

    Raises:
        KeyError: for a value no type implements (the CRD's enum prevents this).
    """
    return CREDENTIAL_TYPES[request.spec.credential_type or AuthToken.name]
