"""The `JWT` credential type: a signing key pair per credential, the private half only in the Secret.

The operator generates an ECDSA P-256 key pair (tokens are signed ES256: Tyk's `jwt_signing_method:
ecdsa`; Tyk has no EdDSA) from caller-drawn random bytes, so generation stays a pure function of its
input. The key id (`kid`) is derived from the public key (the SHA-256 of its DER encoding, hex), so a
Secret cannot carry a key id that does not match its key.

In Tyk this is Tyk's per-consumer JWT mode: a key whose id is the `kid` and whose session carries
the public key in `jwt_data.secret` and the products' and plan's policies. A token whose header
names that `kid` and which the private key signed is accepted, with that session's access, on the
`enable_jwt` APIs the policies grant; the key id alone is not a credential (the product's APIs all
use JWT, which the lifecycle checks before anything is written to Tyk).

Secret data: `jwt-private-key` (PKCS#8 PEM), `jwt-key-id`, `jwt-algorithm` (`ES256`) and, during
a rotation's overlap, `jwt-private-key-previous` and `jwt-key-id-previous`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..models import ResolvedAPI
from .credential_types import CredentialType, Entropy, Grant, Material, TykObject, TykRef
from .credentials import (
    MIN_KEY_ENTROPY_BYTES,
    credential_fingerprint,
    merge_session_for_update,
    session_differs,
)

__all__ = [
    "DATA_JWT_ALGORITHM",
    "DATA_JWT_KEY_ID",
    "DATA_JWT_KEY_ID_PREVIOUS",
    "DATA_JWT_PRIVATE_KEY",
    "DATA_JWT_PRIVATE_KEY_PREVIOUS",
    "JWT",
    "JWT_ALGORITHM",
    "jwt_key_id",
    "jwt_private_key",
]

DATA_JWT_PRIVATE_KEY = "jwt-private-key"
DATA_JWT_KEY_ID = "jwt-key-id"
DATA_JWT_ALGORITHM = "jwt-algorithm"
DATA_JWT_PRIVATE_KEY_PREVIOUS = "jwt-private-key-previous"
DATA_JWT_KEY_ID_PREVIOUS = "jwt-key-id-previous"

JWT_ALGORITHM = "ES256"
"""The JWS algorithm of the tokens (ECDSA P-256, SHA-256): Tyk's `jwt_signing_method: ecdsa`."""
TYK_SIGNING_METHOD = "ecdsa"
"""The API definition's `jwt_signing_method` that validates such tokens."""
_TYK_DEFAULT_SIGNING_METHOD = "hmac"
"""What Tyk validates when an API sets no `jwt_signing_method`."""

_CURVE = ec.SECP256R1()
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
"""The order n of P-256's base point (SEC 2, section 2.4.2)."""


def jwt_private_key(pem: str) -> ec.EllipticCurvePrivateKey | None:
    """The P-256 private key in a PEM text (None: not a readable unencrypted P-256 key)."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != _CURVE.name:
        return None
    return key


def _public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def jwt_key_id(key: ec.EllipticCurvePrivateKey) -> str:
    """The key id (`kid`) of a key pair: hex SHA-256 of the public key's DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


class JWT(CredentialType):
    """A JWT signing key pair (ES256); Tyk validates tokens with the public key, per consumer."""

    name: ClassVar[str] = "JWT"
    auth_types: ClassVar[frozenset[str]] = frozenset({"jwt"})

    def api_problem(self, api: ResolvedAPI) -> str | None:
        """A JWT API must validate ES256 tokens with per-consumer keys named by the token's `kid`:
        `jwt_signing_method: ecdsa`, no central `jwt_source`, no `jwt_skip_kid`. (An API resolved
        before these facts were recorded, `jwt` None, is not refused: its product records them when
        it is next resolved.)"""
        jwt = api.jwt
        if jwt is None:
            return None
        if jwt.central_source:
            return (
                "uses a central jwt_source (one key for every token); JWT credentials need "
                "per-consumer keys (no jwt_source)"
            )
        if jwt.skip_kid:
            return "sets jwt_skip_kid; JWT credentials name their key by the token's kid"
        method = (jwt.signing_method or _TYK_DEFAULT_SIGNING_METHOD).lower()
        if method != TYK_SIGNING_METHOD:
            unset = "" if jwt.signing_method else " (jwt_signing_method unset)"
            return (
                f"validates JWTs with {method}{unset}; JWT credentials are signed with "
                f"{TYK_SIGNING_METHOD} ({JWT_ALGORITHM})"
            )
        return None

    def generate(self, entropy: Entropy) -> Material:
        """A P-256 key pair whose private scalar comes from 32 random bytes.

        The scalar is reduced into [1, n-1]; the bias this leaves (n is within 2^-32 of 2^256) is
        negligible.
        """
        scalar = int.from_bytes(entropy(MIN_KEY_ENTROPY_BYTES), "big") % (_ORDER - 1) + 1
        return self._material(ec.derive_private_key(scalar, _CURVE))

    @staticmethod
    def _material(key: ec.EllipticCurvePrivateKey) -> Material:
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        kid = jwt_key_id(key)
        return Material(
            values={"private_key": private, "kid": kid, "public_key": _public_pem(key)},
            fingerprint=credential_fingerprint(kid),
        )

    def _read_one(self, pem: str | None) -> Material | None:
        key = jwt_private_key(pem) if pem else None
        return self._material(key) if key is not None else None

    def read(self, data: Mapping[str, str]) -> tuple[Material | None, Material | None]:
        """`jwt-private-key` and `jwt-private-key-previous` (the key ids are derived from them; an
        unreadable key counts as absent)."""
        return (
            self._read_one(data.get(DATA_JWT_PRIVATE_KEY)),
            self._read_one(data.get(DATA_JWT_PRIVATE_KEY_PREVIOUS)),
        )

    def render(self, current: Material, previous: Material | None) -> dict[str, str]:
        """The private key, its key id and the algorithm; the previous pair during an overlap."""
        data = {
            DATA_JWT_PRIVATE_KEY: current.values["private_key"],
            DATA_JWT_KEY_ID: current.values["kid"],
            DATA_JWT_ALGORITHM: JWT_ALGORITHM,
        }
        if previous is not None:
            data[DATA_JWT_PRIVATE_KEY_PREVIOUS] = previous.values["private_key"]
            data[DATA_JWT_KEY_ID_PREVIOUS] = previous.values["kid"]
        return data

    def refs(self, material: Material) -> list[TykRef]:
        """The Tyk key whose id is the key id."""
        return [TykRef("key", material.values["kid"])]

    def tyk_objects(self, material: Material, grant: Grant) -> list[TykObject]:
        """The key's session: the policies (as for an auth token) plus the public key."""
        session = grant.session()
        session["jwt_data"] = {"secret": material.values["public_key"]}
        return [TykObject(self.refs(material)[0], session)]

    def differences(self, desired: TykObject, actual: Mapping[str, Any]) -> list[str]:
        """The session's managed fields, then `jwt_data` (the public key)."""
        changed = session_differs(desired.body, actual)
        want = desired.body["jwt_data"]["secret"]
        have = (actual.get("jwt_data") or {}).get("secret")
        if not isinstance(have, str) or have.strip() != want.strip():
            changed.append("jwt_data")
        return changed

    def update_body(self, desired: TykObject, actual: Mapping[str, Any]) -> dict[str, Any]:
        """Tyk's session with the managed fields and `jwt_data` set (Tyk replaces the whole session)."""
        body = merge_session_for_update(desired.body, actual)
        body["jwt_data"] = {**(actual.get("jwt_data") or {}), **desired.body["jwt_data"]}
        return body
