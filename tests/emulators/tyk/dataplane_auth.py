"""Who is calling: the emulated Gateway's authentication step, per API auth mode.

Returns the session a request runs under; the caller (``app.gateway_proxy``) then applies what
every mode shares: expiry, policies re-applied at request time, access rights, rate and quota.
Modelled on the Gateway's middleware chain, in its order:

1. ``POST {listen_path}/oauth/token`` on ``use_oauth2`` APIs (outside the middleware chain).
2. Static mTLS (``use_mutual_tls_auth`` + ``client_certificates``, ``mw_certificate_check.go``): the
   client certificate, or a CA that issued it, must be in the allow list and the store.
3. ``use_keyless``.
4. One auth method: ``use_oauth2`` (bearer access token of a client registered on this API),
   else ``enable_jwt`` (``jwt_auth.py``), else the auth token (``mw_auth_key.go``), which also covers
   certificate authentication (``auth_configs.authToken.use_certificate``: the key is derived from the
   client certificate's id) and tokens bound to certificates (``mtls_static_certificate_bindings``
   with ``use_mutual_tls_auth``). [choice] When several methods are enabled, the first of that order
   authenticates alone (Tyk's multi-auth chaining is not emulated).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from .certs import cert_key_id
from .gateway_tls import peer_certificate
from .jwt_auth import JWTRefused, validate_jwt
from .oauth import issue_token
from .state import JSON, StoredKey, TykState

__all__ = ["Authenticated", "Keyless", "Refused", "Reply", "authenticate"]


@dataclass(frozen=True)
class Refused:
    """A Gateway error answer: ``{"error": message}`` with ``status``; ``reason`` for humans."""

    status: int
    message: str
    reason: str = ""


@dataclass(frozen=True)
class Reply:
    """A complete answer that is not an error of the proxy path (the token endpoint's)."""

    status: int
    body: JSON


@dataclass(frozen=True)
class Keyless:
    """The API needs no credential."""


@dataclass(frozen=True)
class Authenticated:
    """The session to evaluate (policies not yet applied) and the key its counters are kept under."""

    session: JSON
    usage_key: str


Outcome = Refused | Reply | Keyless | Authenticated

_DISALLOWED = "Access to this API has been disallowed"


def _auth_config(api: JSON, kind: str) -> JSON:
    configs = api.get("auth_configs") or {}
    config = configs.get(kind) if isinstance(configs, dict) else None
    if isinstance(config, dict):
        return config
    legacy = api.get("auth") or {}
    return legacy if isinstance(legacy, dict) and kind == "authToken" else {}


def _header(request: web.Request, api: JSON, kind: str) -> str:
    name = _auth_config(api, kind).get("auth_header_name") or "Authorization"
    return request.headers.get(name, "").strip()


def _fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _expired(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc.timestamp() < time.time()


def _issued_by(cert: x509.Certificate, record: JSON) -> bool:
    try:
        issuer = x509.load_pem_x509_certificate(record["pem"].encode())
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _static_mtls(state: TykState, api: JSON, tls: bool, peer: x509.Certificate | None) -> Refused | None:
    if not tls:
        return Refused(403, "TLS not enabled", "static mTLS over plain HTTP")
    if peer is None:
        return Refused(403, "Client TLS certificate is required", "no client certificate")
    sha = _fingerprint(peer)
    for cert_id in api.get("client_certificates") or []:
        record = state.certs.get(cert_id)
        if record is None or record.get("is_public_key"):
            continue
        if record.get("is_ca") and _issued_by(peer, record):
            return None
        if record["fingerprint"] == sha:
            if record.get("not_after") and record["not_after"] < time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime()
            ):
                return Refused(403, "Certificate has expired", "allowed certificate expired")
            return None
    return Refused(403, f"Certificate with SHA256 {sha} not allowed", "certificate not in allow list")


async def _form(request: web.Request) -> dict[str, str]:
    raw = await request.read()
    if request.content_type == "application/json":
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    form = dict(parse_qsl(raw.decode(errors="replace")))
    return {**dict(request.query), **form}


def _session_source(state: TykState, presented: str) -> tuple[JSON, str, Any] | None:
    """A key or an OAuth access token, as the Gateway's session store would find it."""
    stored = state.gateway_lookup(presented) if presented else None
    if stored is not None:
        return stored.request_session(), stored.key, stored
    token = state.oauth_tokens.get(presented) if presented else None
    if token is not None:
        return token.request_session(), token.token, token
    return None


def _oauth(state: TykState, api: JSON, request: web.Request) -> Outcome:
    parts = _header(request, api, "oauth").split(" ")
    if len(parts) < 2:
        return Refused(400, "Authorization field missing", "no bearer token")
    if parts[0].lower() != "bearer":
        return Refused(400, "Bearer token malformed", "not a bearer token")
    found = _session_source(state, parts[1])
    if found is None:
        return Refused(403, "Key not authorised", "unknown access token")
    session, usage_key, _ = found
    if session.get("oauth_client_id", "") not in state.oauth_clients.get(api["api_id"], {}):
        return Refused(403, "Key not authorised. OAuth client access was revoked", "client deleted")
    return Authenticated(session, usage_key)


def _auth_token(
    state: TykState, api: JSON, request: web.Request, tls: bool, peer: x509.Certificate | None
) -> Outcome:
    presented = _header(request, api, "authToken")
    if presented.lower().startswith("bearer "):
        presented = presented[7:].strip()
    use_certificate = bool(_auth_config(api, "authToken").get("use_certificate"))
    found = _session_source(state, presented)
    cert_hash = ""
    if not use_certificate:
        if not presented:
            return Refused(401, "Authorization field missing")
        if found is None:
            return Refused(403, _DISALLOWED, "unknown key")
    if use_certificate and tls:
        if peer is not None:
            if _expired(peer):
                return Refused(403, "Certificate has expired", "client certificate expired")
            cert_hash = state.org_id + _fingerprint(peer)
        if not cert_hash:
            return Refused(401, "Client certificate required", "no client certificate")
        found = _session_source(state, cert_key_id(state, cert_hash)) or _session_source(state, cert_hash)
        if found is None:
            return Refused(401, _DISALLOWED, "no key for this certificate")
    elif found is None:
        # a plain-HTTP request to a certificate-auth API without a known token (Tyk tries the
        # empty certificate hash, finds nothing)
        return Refused(403, _DISALLOWED, "unknown key")
    session, usage_key, source = found
    stored = source.session if isinstance(source, StoredKey) else session
    bindings = list(stored.get("mtls_static_certificate_bindings") or [])
    bound = bool(bindings) and bool(api.get("use_mutual_tls_auth"))
    if use_certificate or bound:
        if peer is not None:
            cert_hash = cert_hash or state.org_id + _fingerprint(peer)
            if bound:
                if _expired(peer):
                    return Refused(403, "Certificate has expired", "client certificate expired")
                if cert_hash not in bindings:
                    return Refused(401, _DISALLOWED, "certificate not bound to this key")
            elif cert_hash not in state.certs:
                return Refused(403, _DISALLOWED, "certificate not in the store")
        elif stored.get("certificate") and stored["certificate"] not in state.certs:
            return Refused(403, _DISALLOWED, "certificate not in the store")
    return Authenticated(session, usage_key)


async def authenticate(state: TykState, api: JSON, rel_path: str, request: web.Request) -> Outcome:
    """Authenticate ``request`` for ``api`` (its definition); ``rel_path`` is below the listen path."""
    if api.get("use_oauth2") and rel_path.rstrip("/") == "/oauth/token":
        status, body = issue_token(
            state, api, request.method, await _form(request), request.headers.get("Authorization", "")
        )
        return Reply(status, body)
    tls, peer = peer_certificate(request)
    if api.get("use_mutual_tls_auth"):
        refused = _static_mtls(state, api, tls, peer)
        if refused is not None:
            return refused
    if api.get("use_keyless"):
        return Keyless()
    if api.get("use_oauth2"):
        return _oauth(state, api, request)
    if api.get("enable_jwt"):
        result = validate_jwt(state, api, _header(request, api, "jwt"))
        if isinstance(result, JWTRefused):
            return Refused(result.status, result.message, result.reason)
        return Authenticated(result.session, result.usage_key)
    if not (api.get("use_standard_auth") or api.get("use_basic_auth")) and api.get("use_mutual_tls_auth"):
        # [choice] an API whose only protection is the static allow list: the certificate is the pass
        return Keyless()
    return _auth_token(state, api, request, tls, peer)
