"""JWT validation on ``enable_jwt`` APIs, modelled on the Gateway's ``gateway/mw_jwt.go``.

Two modes, chosen by the API definition:

- **Per consumer** (no ``jwt_source``): the token names a key, by its ``kid`` header (unless
  ``jwt_skip_kid``), else by the claim ``jwt_identity_base_field``, else ``sub``. The key's
  ``jwt_data.secret`` verifies the signature: the consumer's public key (PEM key or certificate) for
  ``rsa``/``ecdsa``, the shared secret for ``hmac``. That key's session (its policies) then governs
  access, as for any key.
- **Central** (``jwt_source`` = base64 of a PEM key or HMAC secret): the policy comes from the claim
  named ``jwt_policy_field_name``, else the first of ``jwt_default_policies``; the identity from
  ``jwt_identity_base_field`` or ``sub``. [choice] A ``jwt_source`` that is a JWKS URL is not
  emulated (refused as "Key not authorized").

Answers: no token 400 "Authorization field missing"; wrong algorithm family 403
"Key not authorized: Unexpected signing method"; unknown key, bad signature or undecodable token 403
"Key not authorized"; ``exp`` passed / ``iat`` or ``nbf`` in the future 401
"Key not authorized: token has expired" (…"token used before issued", "token is not valid yet").
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .state import JSON, TykState

__all__ = ["JWTRefused", "JWTSession", "validate_jwt"]

_FAMILIES = {
    "hmac": ("HS256", "HS384", "HS512"),
    "rsa": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "ecdsa": ("ES256", "ES384", "ES512"),
}


@dataclass(frozen=True)
class JWTRefused:
    status: int
    message: str
    reason: str


@dataclass(frozen=True)
class JWTSession:
    """The session the request runs under; ``key`` is the stored key (per consumer) or ``None``."""

    session: JSON
    usage_key: str
    key: Any = None


def _not_authorized(reason: str) -> JWTRefused:
    return JWTRefused(403, "Key not authorized", reason)


def _verification_key(method: str, secret: bytes) -> Any:
    if method not in ("rsa", "ecdsa"):
        return secret
    try:
        return serialization.load_pem_public_key(secret)
    except ValueError:
        pass
    try:
        return x509.load_pem_x509_certificate(secret).public_key()
    except ValueError:
        return None


def _claim(claims: JSON, name: str) -> str | None:
    value = claims.get(name) if name else None
    return value if isinstance(value, str) and value else None


def _identity(api: JSON, header: JSON, claims: JSON) -> str | None:
    if not api.get("jwt_skip_kid") and isinstance(header.get("kid"), str) and header["kid"]:
        return str(header["kid"])
    return _claim(claims, api.get("jwt_identity_base_field") or "") or _claim(claims, "sub")


def _time_error(api: JSON, claims: JSON) -> str | None:
    now = time.time()

    def number(name: str) -> float | None:
        value = claims.get(name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    exp, iat, nbf = number("exp"), number("iat"), number("nbf")
    if exp is not None and now - int(api.get("jwt_expires_at_validation_skew") or 0) > exp:
        return "token has expired"
    if iat is not None and now + int(api.get("jwt_issued_at_validation_skew") or 0) < iat:
        return "token used before issued"
    if nbf is not None and now + int(api.get("jwt_not_before_validation_skew") or 0) < nbf:
        return "token is not valid yet"
    return None


def validate_jwt(state: TykState, api: JSON, presented: str) -> JWTSession | JWTRefused:
    """Validate ``presented`` (the auth header's value) for ``api`` (an API definition)."""
    raw = re.sub(r"(?i)^bearer ", "", presented.strip())
    if not raw:
        return JWTRefused(400, "Authorization field missing", "no token")
    method = (api.get("jwt_signing_method") or "hmac").lower()
    try:
        header = jwt.get_unverified_header(raw)
        unverified = jwt.decode(raw, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return _not_authorized("malformed token")
    alg = str(header.get("alg", ""))
    if alg not in _FAMILIES.get(method, _FAMILIES["hmac"]):
        return JWTRefused(403, "Key not authorized: Unexpected signing method", f"alg {alg}")

    stored = None
    source = api.get("jwt_source") or ""
    if source:
        try:
            secret = base64.b64decode(source, validate=True)
        except (binascii.Error, ValueError):
            return _not_authorized("jwt_source is not base64")
        if re.match(rb"^https?://", secret):
            return _not_authorized("JWKS URLs are not emulated")
    else:
        identity = _identity(api, header, unverified)
        stored = state.gateway_lookup(identity) if identity else None
        if stored is None:
            return _not_authorized("token invalid, key not found")
        secret = str((stored.session.get("jwt_data") or {}).get("secret", "")).encode()
    key = _verification_key(method, secret)
    if key is None or (method == "rsa" and not isinstance(key, rsa.RSAPublicKey)):
        return _not_authorized("Failed to decode JWT key")
    if method == "ecdsa" and not isinstance(key, ec.EllipticCurvePublicKey):
        return _not_authorized("Failed to decode JWT key")
    try:
        claims: JSON = jwt.decode(
            raw,
            key,
            algorithms=[alg],
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidTokenError as exc:
        return _not_authorized(f"signature: {type(exc).__name__}")
    problem = _time_error(api, claims)
    if problem is not None:
        return JWTRefused(401, f"Key not authorized: {problem}", problem)

    if stored is not None:
        return JWTSession(stored.request_session(), stored.key, stored)
    policy_id = _claim(claims, api.get("jwt_policy_field_name") or "")
    defaults = [p for p in api.get("jwt_default_policies") or [] if isinstance(p, str)]
    policy_ids = [policy_id] if policy_id else defaults
    if not policy_ids or policy_ids[0] not in state.gateway_policies():
        return JWTRefused(403, "key not authorized: no matching policy", "no matching policy")
    identity = _claim(claims, api.get("jwt_identity_base_field") or "") or _claim(claims, "sub") or ""
    session: JSON = {"org_id": state.org_id, "alias": identity, "apply_policies": policy_ids}
    return JWTSession(session, f"jwt:{api['api_id']}:{identity}")
