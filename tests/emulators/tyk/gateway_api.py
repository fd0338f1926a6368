"""The open-source Tyk Gateway's management API (``/tyk/*``), served on the gateway listener.

Modelled on the Gateway's OpenAPI document (``gateway-swagger.yml`` in the shared reference folder)
and on the Gateway's own behaviour (TykTechnologies/tyk, ``gateway/api.go``, ``gateway/server.go``,
``gateway/cert.go``):

* ``x-tyk-authorization: <secret>``; a bad or missing secret is ``403`` "Attempted administrative
  access with invalid or missing key!". Bodies are lower-case (``status``, ``message``, ``key``,
  ``action``); lists are bare arrays.
* Policies and API definitions written through the API are *files*: nothing changes for the data
  plane, nor for ``GET /tyk/policies`` / ``GET /tyk/apis`` (which show what is loaded), until a
  reload: ``GET /tyk/reload?block=true`` reloads before answering; ``GET /tyk/reload`` and
  ``GET /tyk/reload/group`` (pub/sub to every node) queue one, done ``reload_delay`` seconds later.
* ``DELETE /tyk/policies/{id}`` of a policy with no file answers ``500 "Delete failed"``.
* ``policy_source: service`` (policies come from a Dashboard): policy writes answer ``500 "Due to
  enabled service policy source, please use the Dashboard API"``.
* Keys live in the shared key store (Redis in Tyk), so keys created here work on the data plane at
  once. A custom key id is stored under the token that wraps it (with the org of the session);
  addressing it by the raw id needs ``?org_id=`` (the Gateway rebuilds the token from it), the
  token works as is, ``?hashed=<anything>`` addresses the hash. ``POST /tyk/keys/{id}`` of an
  existing key overwrites it. Listing keys with hashing on answers 404 unless
  ``enable_hashed_keys_listing``.

Choices where the Gateway's behaviour needs Redis or files we do not have are marked ``[choice]``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import json
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .app import CORE_KEY, Core, json_response
from .state import (
    JSON,
    POLICY_ID_RE,
    MalformedBody,
    StoredKey,
    TykError,
    apply_policies,
    omit_zero,
    validate_policy_body,
    validate_session_body,
)

__all__ = ["add_gateway_api_routes"]

GatewayHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_OBJECT_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)
_INVALID_POLICY_ID = "Invalid Policy ID: Allowed characters: a-z, A-Z, 0-9, ., _, -, ~"
_KEY_CREATE_FAILED = "Failed to create key, ensure security settings are correct."


class GatewayError(Exception):
    """An error answer of the Gateway: ``{"status": "error", "message": ...}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> web.Response:
    return json_response({"status": "error", "message": message}, status)


def _ok(message: str = "") -> web.Response:
    return json_response({"status": "ok", "message": message})


def _modified(key: str, action: str, key_hash: str = "") -> web.Response:
    body: JSON = {"key": key, "status": "ok", "action": action}
    if key_hash:
        body["key_hash"] = key_hash
    return json_response(body)


def _guarded(handler: GatewayHandler) -> GatewayHandler:
    """The Gateway's checkIsAPIOwner in front of every ``/tyk/`` handler, and its error bodies."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        core = request.app[CORE_KEY]
        presented = request.headers.get("x-tyk-authorization", "")
        if not secrets.compare_digest(presented, core.effective_gateway_secret):
            return _error(403, "Attempted administrative access with invalid or missing key!")
        try:
            return await handler(request)
        except GatewayError as exc:
            return _error(exc.status, exc.message)

    return guarded


async def _decode(request: web.Request, status: int = 400, message: str = "Request malformed") -> Any:
    try:
        return json.loads(await request.read())
    except ValueError as exc:
        raise GatewayError(status, message) from exc


def _core(request: web.Request) -> Core:
    return request.app[CORE_KEY]


# ---------------------------------------------------------------------------------------------------
# Reload


def _queue_reload(core: Core) -> None:
    """Queue one reload; one already queued covers this request too (as in the Gateway)."""
    state = core.state
    if state.reload_queued:
        return
    state.reload_queued = True
    resets = state.reset_count

    def run() -> None:
        if state.reset_count == resets:
            state.reload_queued = False
            state.gateway_reload()

    asyncio.get_running_loop().call_later(max(0.0, state.reload_delay), run)


async def reload(request: web.Request) -> web.Response:
    core = _core(request)
    if request.query.get("block") == "true":
        core.state.gateway_reload()
    else:
        _queue_reload(core)
    return _ok()


async def reload_group(request: web.Request) -> web.Response:
    # The group reload is published to every node; each (this one too) queues a reload.
    _queue_reload(_core(request))
    return _ok()


# ---------------------------------------------------------------------------------------------------
# Policies


async def list_policies(request: web.Request) -> web.Response:
    return json_response([copy.deepcopy(p) for p in _core(request).state.gateway_policies().values()])


async def get_policy(request: web.Request) -> web.Response:
    policy = _core(request).state.gateway_policies().get(request.match_info["id"])
    if policy is None:
        raise GatewayError(404, "Policy not found")
    return json_response(policy)


async def write_policy(request: web.Request) -> web.Response:
    state = _core(request).state
    path_id = request.match_info.get("id", "")
    if request.method == "PUT" and not path_id:
        raise GatewayError(400, "Must specify an apiID to update")
    if state.policy_source == "service":
        raise GatewayError(500, "Due to enabled service policy source, please use the Dashboard API")
    body = await _decode(request)
    if not isinstance(body, dict) or not isinstance(body.get("id", ""), str | None):
        raise GatewayError(400, "Request malformed")
    try:
        validate_policy_body({**body, "id": ""})  # Go's decoding: types only; the id is checked below
    except MalformedBody as exc:
        raise GatewayError(400, "Request malformed") from exc
    policy = copy.deepcopy(body)
    policy_id = policy.get("id") or ""
    if not POLICY_ID_RE.match(policy_id):
        raise GatewayError(400, _INVALID_POLICY_ID)
    if request.method == "PUT" and policy_id != path_id:
        raise GatewayError(
            400, "Request ID does not match that in policy! For Update operations these must match."
        )
    if not policy_id:
        object_id = policy.get("_id")
        if not isinstance(object_id, str) or not _OBJECT_ID_RE.match(object_id):
            raise GatewayError(400, "Unable to create policy without id.")
        policy["id"] = policy_id = object_id
    state.policy_files[policy_id] = policy
    return _modified(policy_id, "added" if request.method == "POST" else "modified")


async def delete_policy(request: web.Request) -> web.Response:
    state = _core(request).state
    policy_id = request.match_info.get("id", "")
    if not policy_id:
        raise GatewayError(400, "Must specify an apiID to delete")
    if state.policy_files.pop(policy_id, None) is None:
        raise GatewayError(500, "Delete failed")
    return _modified(policy_id, "deleted")


# ---------------------------------------------------------------------------------------------------
# API definitions


def _loaded_api(core: Core, api_id: str) -> JSON | None:
    wrapper = core.state.apis.get(api_id)
    return wrapper["api_definition"] if wrapper is not None else None


async def list_apis(request: web.Request) -> web.Response:
    return json_response([copy.deepcopy(w["api_definition"]) for w in _core(request).state.apis.values()])


async def get_api(request: web.Request) -> web.Response:
    definition = _loaded_api(_core(request), request.match_info["api_id"])
    if definition is None:
        raise GatewayError(404, "API not found")
    return json_response(definition)


async def create_api(request: web.Request) -> web.Response:
    body = await _decode(request)
    if not isinstance(body, dict):
        raise GatewayError(400, "Request malformed")
    definition = copy.deepcopy(body)
    definition["api_id"] = definition.get("api_id") or uuid.uuid4().hex
    _core(request).state.api_files[definition["api_id"]] = definition
    return _modified(definition["api_id"], "added")


async def update_api(request: web.Request) -> web.Response:
    core = _core(request)
    api_id = request.match_info["api_id"]
    if _loaded_api(core, api_id) is None:
        raise GatewayError(404, "API not found")
    body = await _decode(request)
    if not isinstance(body, dict):
        raise GatewayError(400, "Request malformed")
    if body.get("api_id") != api_id:
        raise GatewayError(
            400, "Request APIID does not match that in Definition! For Update operations these must match."
        )
    core.state.api_files[api_id] = copy.deepcopy(body)
    return _modified(api_id, "modified")


async def delete_api(request: web.Request) -> web.Response:
    state = _core(request).state
    api_id = request.match_info["api_id"]
    if api_id not in state.apis:
        raise GatewayError(404, "API not found")
    # The definition's file is there unless a delete since the last reload removed it.
    if api_id in state.api_files and state.api_files[api_id] is None:
        raise GatewayError(500, "Delete failed")
    state.api_files[api_id] = None
    return _modified(api_id, "deleted")


# ---------------------------------------------------------------------------------------------------
# Keys


def _hashed(request: web.Request) -> bool:
    return request.query.get("hashed", "") != ""  # the Gateway: any non-empty value


def _find_key(core: Core, ref: str, org_id: str, hashed: bool) -> StoredKey | None:
    """The Gateway's SessionDetail: by hash, by the stored name (the token), or by a raw custom id
    whose token the Gateway rebuilds from ``org_id``."""
    keys = core.state.keys.values()
    if hashed:
        return next((k for k in keys if k.key_hash == ref), None)
    for stored in keys:
        if ref == stored.token:
            return stored
        if ref == stored.key and (stored.session.get("org_id") or "") == org_id:
            return stored
    return None


def _session_body(body: Any) -> JSON:
    try:
        return copy.deepcopy(validate_session_body(body))
    except MalformedBody as exc:
        raise GatewayError(400, "Request malformed") from exc


def _applied(core: Core, session: JSON, *, failure: str) -> tuple[JSON, int]:
    """Apply the session's policies as loaded; every failure is the Gateway's one 500."""
    org = session.get("org_id") or ""
    try:
        applied = apply_policies(session, core.state.gateway_policies(), org)
    except TykError as exc:
        raise GatewayError(500, failure) from exc
    if not applied.session.get("access_rights"):
        raise GatewayError(500, failure)  # "Master keys not allowed" (allow_master_keys is off)
    return applied.session, applied.key_expires_in


def _store_key(core: Core, name: str, body: JSON, existing: StoredKey | None) -> StoredKey:
    state = core.state
    session, key_expires_in = _applied(core, body, failure=_KEY_CREATE_FAILED)
    now = int(time.time())
    previous = existing.session if existing is not None else {}
    expires = int(session.get("expires") or 0)
    if expires > 1 and expires < now:
        # "set the original expiry if the content in payload is a past time" (1 stays: suspended)
        session["expires"] = previous.get("expires", 0)
    elif existing is None and key_expires_in > 0 and expires <= 0:
        session["expires"] = now + key_expires_in
    session["org_id"] = body.get("org_id") or ""
    session["date_created"] = previous.get("date_created") or time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime()
    )
    session["last_updated"] = str(now)
    if existing is not None:
        existing.session, existing.submitted = session, copy.deepcopy(body)
        return existing
    if name:
        raw, token = name, _token(session["org_id"], name) if state.hash_keys else name
    else:
        raw = token = state.generate_key()
    # Kept by the custom id; the data plane accepts it and the token (as the Gateway does).
    stored = StoredKey(key=raw, token=token, key_hash=state.hash_key(token), session=session, submitted=body)
    state.keys[raw] = stored
    state.usage.pop(raw, None)
    state.quota_used.pop(raw, None)
    return stored


def _token(org_id: str, raw_id: str) -> str:
    """The Gateway's key name for a custom id: a base64 JSON token naming the session's org."""
    doc = json.dumps({"org": org_id, "id": raw_id, "h": "murmur64"}, separators=(",", ":"))
    return base64.b64encode(doc.encode()).decode()


def _token_org(core: Core, body: JSON) -> str:
    return str(body.get("org_id") or "")


async def create_key(request: web.Request) -> web.Response:
    """``POST /tyk/keys[/{id}]``: create, or overwrite an existing key of that id."""
    core = _core(request)
    body = _session_body(await _decode(request))
    name = request.match_info.get("key_id", "")
    existing = None
    if name:  # an existing key of that id is overwritten (no existence check on the Gateway)
        keys = core.state.keys
        existing = keys.get(name) or next((k for k in keys.values() if k.token == name), None)
    stored = _store_key(core, name, body, existing)
    key_hash = stored.key_hash if core.state.hash_keys else ""
    return _modified(stored.token, "added", key_hash)


async def create_generated_key(request: web.Request) -> web.Response:
    """``POST /tyk/keys/create``: a generated key; its own error wording."""
    core = _core(request)
    body = await _decode(request, 500, "Unmarshalling failed")
    body = _session_body(body)
    try:
        applied = apply_policies(body, core.state.gateway_policies(), body.get("org_id") or "")
    except TykError as exc:
        raise GatewayError(500, f"Failed to create key - {exc.message}") from exc
    if not applied.session.get("access_rights"):
        raise GatewayError(400, "Failed to create key, keys must have at least one Access Rights record set.")
    stored = _store_key(core, "", body, None)
    key_hash = stored.key_hash if core.state.hash_keys else ""
    return _modified(stored.token, "added", key_hash)


async def get_key(request: web.Request) -> web.Response:
    core = _core(request)
    hashed = _hashed(request)
    if hashed and not core.state.hash_keys:
        raise GatewayError(400, "Key requested by hash but key hashing is not enabled")
    stored = _find_key(core, request.match_info["key_id"], request.query.get("org_id", ""), hashed)
    if stored is None:
        raise GatewayError(404, "Key not found")
    session = stored.session
    # Policies are applied again as loaded now (the Gateway does so on every read; errors ignored).
    with contextlib.suppress(TykError):
        session = apply_policies(session, core.state.gateway_policies(), session.get("org_id") or "").session
    return json_response(omit_zero(copy.deepcopy(session)))


async def update_key(request: web.Request) -> web.Response:
    core = _core(request)
    body = _session_body(await _decode(request))
    stored = _find_key(core, request.match_info["key_id"], _token_org(core, body), _hashed(request))
    if stored is None:
        raise GatewayError(404, "Key is not found")
    _store_key(core, stored.key, body, stored)
    return _modified(stored.token, "modified")


async def delete_key(request: web.Request) -> web.Response:
    core = _core(request)
    stored = _find_key(core, request.match_info["key_id"], request.query.get("org_id", ""), _hashed(request))
    if stored is None:
        raise GatewayError(404, "There is no such key found")
    del core.state.keys[stored.key]
    core.state.usage.pop(stored.key, None)
    core.state.quota_used.pop(stored.key, None)
    return _modified(stored.token, "deleted")


async def list_keys(request: web.Request) -> web.Response:
    state = _core(request).state
    if state.hash_keys:
        if not state.enable_hashed_keys_listing:
            raise GatewayError(404, "Hashed key listing is disabled in config (enable_hashed_keys_listing)")
        return json_response({"keys": [k.key_hash for k in state.keys.values()]})
    return json_response({"keys": [k.token for k in state.keys.values()]})


async def set_key_policies(request: web.Request) -> web.Response:
    """``POST /tyk/keys/policy/{keyHash}``: replace a hashed key's policies (nothing re-applied)."""
    core = _core(request)
    body = await _decode(request, 400, "Couldn't decode instruction")
    if not isinstance(body, dict):
        raise GatewayError(400, "Couldn't decode instruction")
    policies = [str(p) for p in body.get("apply_policies") or []]
    if body.get("policy"):
        policies.append(str(body["policy"]))
    stored = _find_key(core, request.match_info["key_id"], "", True)
    if stored is None:
        raise GatewayError(404, "Key not found")
    stored.session["apply_policies"] = policies
    stored.submitted["apply_policies"] = list(policies)
    stored.session["last_updated"] = str(int(time.time()))
    return _modified(stored.token, "updated")


# ---------------------------------------------------------------------------------------------------
# OAuth clients


def _reportable(client: JSON) -> JSON:
    """The Gateway's NewClientRequest as it answers: ``policy_id`` only when set, no ``api_id``."""
    out: JSON = {"client_id": client["client_id"], "redirect_uri": client.get("redirect_uri", "")}
    if client.get("policy_id"):
        out["policy_id"] = client["policy_id"]
    out.update(
        secret=client["secret"], meta_data=client.get("meta_data"), description=client.get("description", "")
    )
    return out


def _new_secret() -> str:
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


async def create_oauth_client(request: web.Request) -> web.Response:
    core = _core(request)
    body = await _decode(request, 500, "Unmarshalling failed")
    if not isinstance(body, dict):
        raise GatewayError(500, "Unmarshalling failed")
    client = {
        "client_id": body.get("client_id") or uuid.uuid4().hex,
        "secret": body.get("secret") or _new_secret(),
        "redirect_uri": body.get("redirect_uri", ""),
        "policy_id": body.get("policy_id", ""),
        "meta_data": body.get("meta_data"),
        "description": body.get("description", ""),
    }
    targets: list[str] = []
    if body.get("api_id"):
        api = _loaded_api(core, str(body["api_id"]))
        if api is None:
            raise GatewayError(400, "API doesn't exist")
        if not api.get("use_oauth2"):
            raise GatewayError(400, "API is not OAuth2")
        targets.append(api["api_id"])
    else:
        # Every OAuth2 (or JWT) API the policy grants gets the client.
        policy = core.state.gateway_policies().get(client["policy_id"])
        if policy is None:
            raise GatewayError(400, "Policy doesn't exist")
        for api_id in policy.get("access_rights") or {}:
            api = _loaded_api(core, api_id)
            if api is None:
                raise GatewayError(400, "API doesn't exist")
            if api.get("use_oauth2") or api.get("enable_jwt"):
                targets.append(api_id)
        if not targets:
            raise GatewayError(400, "API is not OAuth2")
    for api_id in targets:
        core.state.oauth_clients.setdefault(api_id, {})[client["client_id"]] = copy.deepcopy(client)
    return json_response(_reportable(client))


def _oauth_api(core: Core, api_id: str, missing: str) -> JSON:
    api = _loaded_api(core, api_id)
    if api is None:
        raise GatewayError(404, missing)
    return api


async def list_oauth_clients(request: web.Request) -> web.Response:
    core = _core(request)
    api = _oauth_api(core, request.match_info["api_id"], "OAuth client not found")
    if not api.get("use_oauth2"):
        return json_response([])
    clients = core.state.oauth_clients.get(api["api_id"], {}).values()
    return json_response([_reportable(c) for c in clients])


def _oauth_client(core: Core, api_id: str, client_id: str, missing_api: str) -> JSON:
    _oauth_api(core, api_id, missing_api)
    client = core.state.oauth_clients.get(api_id, {}).get(client_id)
    if client is None:
        raise GatewayError(404, "OAuth Client ID not found")
    return client


async def get_oauth_client(request: web.Request) -> web.Response:
    client = _oauth_client(
        _core(request),
        request.match_info["api_id"],
        request.match_info["client_id"],
        "OAuth Client ID not found",
    )
    return json_response(_reportable(client))


async def update_oauth_client(request: web.Request) -> web.Response:
    core = _core(request)
    body = await _decode(request, 500, "Unmarshalling failed")
    if not isinstance(body, dict):
        raise GatewayError(500, "Unmarshalling failed")
    api_id = request.match_info["api_id"]
    _oauth_api(core, api_id, "API doesn't exist")
    policy_id = body.get("policy_id") or ""
    if policy_id:
        policy = core.state.gateway_policies().get(policy_id)
        if policy is None:
            raise GatewayError(404, "Policy doesn't exist")
        if api_id not in (policy.get("access_rights") or {}):
            raise GatewayError(400, "Policy access rights doesn't contain API this OAuth client belongs to")
    client = _oauth_client(core, api_id, request.match_info["client_id"], "API doesn't exist")
    # Redirect URI, policy, metadata and description are replaced by what was sent (even if empty).
    client.update(
        redirect_uri=body.get("redirect_uri", ""),
        policy_id=policy_id,
        meta_data=body.get("meta_data"),
        description=body.get("description", ""),
    )
    return json_response(_reportable(client))


async def rotate_oauth_client(request: web.Request) -> web.Response:
    client = _oauth_client(
        _core(request), request.match_info["api_id"], request.match_info["client_id"], "API doesn't exist"
    )
    client["secret"] = _new_secret()
    return json_response(_reportable(client))


async def delete_oauth_client(request: web.Request) -> web.Response:
    core = _core(request)
    api = _oauth_api(core, request.match_info["api_id"], "OAuth Client ID not found")
    if not api.get("use_oauth2"):
        raise GatewayError(404, "OAuth Client ID not found")
    # Deleting a client that is not there is not an error (Redis deletes of missing keys succeed).
    client_id = request.match_info["client_id"]
    core.state.oauth_clients.get(api["api_id"], {}).pop(client_id, None)
    return _modified(client_id, "deleted")


async def oauth_client_tokens(request: web.Request) -> web.Response:
    _oauth_api(_core(request), request.match_info["api_id"], "OAuth Client ID not found")
    return json_response([])  # [choice] this emulator issues no OAuth tokens through /tyk/


# ---------------------------------------------------------------------------------------------------
# Certificates


def _cert_meta(cert: JSON) -> JSON:
    return {
        "id": cert["id"],
        "fingerprint": cert["fingerprint"],
        "has_private": cert["has_private"],
        "is_ca": False,
    }


async def add_cert(request: web.Request) -> web.Response:
    core = _core(request)
    pem = await request.read()
    match = _PEM_CERT.search(pem)
    if match is None:
        # [choice] the Gateway's certificate manager error wording for a body without a certificate
        raise GatewayError(403, "Failed to decode certificate")
    try:
        der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
    except ValueError as exc:
        raise GatewayError(403, "Failed to decode certificate") from exc
    fingerprint = hashlib.sha256(der).hexdigest()
    cert_id = request.query.get("org_id", "") + fingerprint
    if cert_id in core.state.certs:
        raise GatewayError(403, f"Certificate with {cert_id} id already exists")
    core.state.certs[cert_id] = {
        "id": cert_id,
        "fingerprint": fingerprint,
        "has_private": b"PRIVATE KEY-----" in pem,
        "pem": pem.decode(errors="replace"),
        "uploaded": time.time(),
    }
    return json_response({"id": cert_id, "status": "ok", "message": "Certificate added"})


async def list_certs(request: web.Request) -> web.Response:
    certs = _core(request).state.certs.values()
    org = request.query.get("org_id", "")
    chosen = [c for c in certs if c["id"].startswith(org)]
    if request.query.get("mode") == "detailed":
        return json_response({"certs": [_cert_meta(c) for c in chosen]})
    return json_response({"certs": [c["id"] for c in chosen]})


async def get_cert(request: web.Request) -> web.Response:
    certs = _core(request).state.certs
    ids = request.match_info["cert_id"].split(",")
    if len(ids) == 1:
        cert = certs.get(ids[0])
        if cert is None:
            raise GatewayError(404, "Certificate with given SHA256 fingerprint not found")
        return json_response(_cert_meta(cert))
    return json_response([_cert_meta(certs[i]) if i in certs else None for i in ids])


async def delete_cert(request: web.Request) -> web.Response:
    _core(request).state.certs.pop(request.match_info["cert_id"], None)
    return _ok("removed")


# ---------------------------------------------------------------------------------------------------


async def not_supported(request: web.Request) -> web.Response:
    return _error(405, "Method not supported")


def add_gateway_api_routes(app: web.Application) -> None:
    """Register ``/tyk/*`` (before the data plane's catch-all route)."""
    routes: list[tuple[str, str, GatewayHandler]] = [
        ("GET", "/tyk/reload", reload),
        ("GET", "/tyk/reload/", reload),
        ("GET", "/tyk/reload/group", reload_group),
        ("GET", "/tyk/policies", list_policies),
        ("POST", "/tyk/policies", write_policy),
        ("PUT", "/tyk/policies", write_policy),
        ("DELETE", "/tyk/policies", delete_policy),
        ("GET", "/tyk/policies/{id}", get_policy),
        ("POST", "/tyk/policies/{id}", write_policy),
        ("PUT", "/tyk/policies/{id}", write_policy),
        ("DELETE", "/tyk/policies/{id}", delete_policy),
        ("GET", "/tyk/apis", list_apis),
        ("POST", "/tyk/apis", create_api),
        ("GET", "/tyk/apis/{api_id}", get_api),
        ("PUT", "/tyk/apis/{api_id}", update_api),
        ("DELETE", "/tyk/apis/{api_id}", delete_api),
        ("GET", "/tyk/keys", list_keys),
        ("POST", "/tyk/keys", create_key),
        ("POST", "/tyk/keys/create", create_generated_key),
        ("POST", "/tyk/keys/policy/{key_id}", set_key_policies),
        ("POST", "/tyk/keys/{key_id}", create_key),
        ("GET", "/tyk/keys/{key_id}", get_key),
        ("PUT", "/tyk/keys/{key_id}", update_key),
        ("DELETE", "/tyk/keys/{key_id}", delete_key),
        ("POST", "/tyk/oauth/clients/create", create_oauth_client),
        ("GET", "/tyk/oauth/clients/{api_id}", list_oauth_clients),
        ("GET", "/tyk/oauth/clients/{api_id}/{client_id}", get_oauth_client),
        ("PUT", "/tyk/oauth/clients/{api_id}/{client_id}", update_oauth_client),
        ("DELETE", "/tyk/oauth/clients/{api_id}/{client_id}", delete_oauth_client),
        ("PUT", "/tyk/oauth/clients/{api_id}/{client_id}/rotate", rotate_oauth_client),
        ("GET", "/tyk/oauth/clients/{api_id}/{client_id}/tokens", oauth_client_tokens),
        ("GET", "/tyk/certs", list_certs),
        ("POST", "/tyk/certs", add_cert),
        ("GET", "/tyk/certs/{cert_id}", get_cert),
        ("DELETE", "/tyk/certs/{cert_id}", delete_cert),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guarded(handler))
    app.router.add_route("*", "/tyk/{tail:.*}", _guarded(not_supported))
