"""Tyk as an OAuth 2.0 authorization server: clients, the client credentials grant, access tokens.

Pure behaviour on :class:`TykState` (no I/O), modelled on the Gateway (``gateway/oauth_manager.go``,
``gateway/mw_oauth2_key_exists.go``, ``gateway/api.go``) and its osin fork:

- Clients are registered per API (``state.oauth_clients[api_id][client_id]``); a client created
  again with the same ``client_id`` replaces the old one (the Gateway's ``SetClient``).
- ``POST {listen_path}/oauth/token``: the grant must be in the API's
  ``oauth_meta.allowed_access_types``; the client authenticates with HTTP Basic only (osin's
  ``AllowClientSecretInParams`` is off in Tyk, so ``client_secret`` in the form is ignored); the
  client must have a ``redirect_uri``. Errors are osin's ``{"error","error_description"}`` with
  status 403 (Tyk's default ``oauth_error_status_code``); an unknown client is ``server_error``
  (Tyk's client storage answers an error, not "no client").
- The token's session comes from the client's policy (``generateSessionFromPolicy``): it applies
  that policy, so the policy is re-applied at request time like any key's; an inactive or missing
  policy refuses new tokens (``server_error``) and makes issued ones fail. ``expires_in`` is
  ``oauth_token_expire`` (3600 by default).
- A deleted client's tokens are refused on ``use_oauth2`` APIs (the Gateway checks the client still
  exists on every request), although the Dashboard spec says they stay valid until they expire; the
  same token still works on ``use_standard_auth`` APIs its policy grants (no client check there).
"""

from __future__ import annotations

import base64
import binascii
import copy
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .state import JSON, MalformedBody, TykError, TykState

__all__ = [
    "OAuthToken",
    "client_tokens",
    "create_client",
    "find_client",
    "issue_token",
    "revoke_all",
    "revoke_token",
]

_OSIN_ERRORS = {
    "invalid_request": "The request is missing a required parameter, includes an invalid parameter "
    "value, includes a parameter more than once, or is otherwise malformed.",
    "unauthorized_client": "The client is not authorized to request a token using this method.",
    "server_error": "The authorization server encountered an unexpected condition that prevented it "
    "from fulfilling the request.",
    "unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
}
OAUTH_ERROR_STATUS = 403


@dataclass
class OAuthToken:
    """An issued access token: a session like a key's, tied to its client."""

    token: str
    api_id: str
    client_id: str
    session: JSON  # as submitted: the policy is re-applied at request time
    created: float = field(default_factory=time.time)

    def request_session(self) -> JSON:
        return copy.deepcopy(self.session)


def _oauth_error(error: str) -> tuple[int, JSON]:
    return OAUTH_ERROR_STATUS, {"error": error, "error_description": _OSIN_ERRORS[error]}


def create_client(state: TykState, api: JSON, body: Any) -> JSON:
    """``POST /api/apis/oauth/{apiId}``: register a client for one API.

    Raises:
        TykError: for a non-OAuth API, a malformed body or an unknown policy.
    """
    if not isinstance(body, dict):
        raise MalformedBody()
    for name in ("client_id", "secret", "redirect_uri", "policy_id", "description", "client_name"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise MalformedBody()
    if body.get("meta_data") is not None and not isinstance(body["meta_data"], dict):
        raise MalformedBody()
    policy_id = body.get("policy_id") or ""
    if policy_id and state.find_policy(policy_id) is None:
        raise TykError(500, "Could not retrieve policy details.")
    if not api.get("use_oauth2"):
        # [choice] the Dashboard hands the client to the Gateway, which refuses it with this message.
        raise TykError(400, "API is not OAuth2")
    client: JSON = {
        "client_id": body.get("client_id") or secrets.token_hex(16),
        "secret": body.get("secret") or base64.b64encode(secrets.token_hex(18).encode()).decode(),
        "redirect_uri": body.get("redirect_uri") or "",
        "policy_id": policy_id,
        "meta_data": body.get("meta_data") or {},
        "description": body.get("description") or "",
        "client_name": body.get("client_name") or "",
        "dcr_registration": {"access_token": "", "client_uri": "", "provider": ""},
    }
    state.oauth_clients.setdefault(api["api_id"], {})[client["client_id"]] = client
    return client


def find_client(state: TykState, client_id: str) -> JSON | None:
    """The client with this id on any API (the Dashboard's revoke endpoints name no API)."""
    for clients in state.oauth_clients.values():
        if client_id in clients:
            return clients[client_id]
    return None


def _basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme != "Basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return unquote(user), unquote(password)


def issue_token(
    state: TykState, api: JSON, method: str, form: dict[str, str], authorization: str
) -> tuple[int, JSON]:
    """The token endpoint: returns the HTTP status and JSON body the Gateway would answer."""
    if method != "POST":
        return _oauth_error("invalid_request")
    grant = form.get("grant_type", "")
    allowed = (api.get("oauth_meta") or {}).get("allowed_access_types") or []
    if grant not in allowed or grant != "client_credentials":
        # [choice] only the client credentials grant is emulated; other allowed grants are refused too.
        return _oauth_error("unsupported_grant_type")
    if not authorization:
        return _oauth_error("invalid_request")
    credentials = _basic_auth(authorization)
    if credentials is None:
        return _oauth_error("invalid_request")
    client_id, secret = credentials
    client = state.oauth_clients.get(api["api_id"], {}).get(client_id)
    if client is None:
        return _oauth_error("server_error")
    if not secrets.compare_digest(client["secret"], secret) or not client["redirect_uri"]:
        return _oauth_error("unauthorized_client")
    policy = state.gateway_policies().get(client["policy_id"]) if client["policy_id"] else None
    if policy is None:
        # "Couldn't use policy or key rules to create token, failing" -> osin server_error
        return _oauth_error("server_error")
    expire = state.oauth_token_expire
    session: JSON = {
        "org_id": policy.get("org_id") or state.org_id,
        "apply_policies": [client["policy_id"]],
        "oauth_client_id": client_id,
        "meta_data": copy.deepcopy(client["meta_data"]),
        "expires": int(time.time()) + expire,
    }
    token = state.generate_key()
    state.oauth_tokens[token] = OAuthToken(token, api["api_id"], client_id, session)
    return 200, {"access_token": token, "expires_in": expire, "token_type": "bearer"}


def client_tokens(state: TykState, api_id: str, client_id: str) -> list[JSON]:
    """``GET …/{clientId}/tokens``: hashes when keys are hashed, else the tokens themselves."""
    return [
        {
            "code": state.hash_key(t.token) if state.hash_keys else t.token,
            "expires": t.session.get("expires", 0),
        }
        for t in state.oauth_tokens.values()
        if t.api_id == api_id and t.client_id == client_id
    ]


def revoke_token(state: TykState, token: str) -> None:
    state.oauth_tokens.pop(token, None)


def revoke_all(state: TykState, client_id: str, secret: str) -> None:
    """Revoke every token of a client.

    Raises:
        TykError: 404 for an unknown client, 401 for a wrong secret (the Gateway's answers).
    """
    client = find_client(state, client_id)
    if client is None:
        raise TykError(404, "oauth client doesn't exist")
    if not secrets.compare_digest(client["secret"], secret):
        raise TykError(401, "client secret is wrong")
    for token in [t.token for t in state.oauth_tokens.values() if t.client_id == client_id]:
        del state.oauth_tokens[token]
