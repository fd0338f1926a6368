"""aiohttp applications: Dashboard API, Gateway data plane and the ``/_emulator/`` control endpoints."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .certs import certificate_key_id, check_session_certificates
from .dataplane_auth import Authenticated, Keyless, Refused, Reply, authenticate
from .faults import Fault, FaultBook, RequestLog
from .gateway_tls import GatewayTLS
from .state import (
    JSON,
    MalformedBody,
    StoredKey,
    TykError,
    TykState,
    apply_policies,
    effective_limits,
    paginate,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CONTROL_PREFIX = "/_emulator/"
CORE_KEY: web.AppKey[Core] = web.AppKey("core")
NAME_KEY: web.AppKey[str] = web.AppKey("server_name", str)


@dataclass
class Core:
    """Everything the three listeners share."""

    state: TykState
    api_key: str
    # The Gateway's tyk.conf "secret" (x-tyk-authorization on /tyk/*); None: the same as api_key.
    gateway_secret: str | None = None
    faults: FaultBook = field(default_factory=FaultBook)
    log: RequestLog = field(default_factory=RequestLog)
    urls: dict[str, str] = field(default_factory=dict)
    # set by the server: (re)open or close listeners to honour an outage fault; stop_listening only
    # closes the listening sockets (safe to await from a request on one of those listeners)
    apply_outage: Callable[[], Awaitable[None]] | None = None
    stop_listening: Callable[[], Awaitable[None]] | None = None
    gateway_tls: GatewayTLS | None = None  # set by the server when it runs the TLS Gateway listener

    @property
    def effective_gateway_secret(self) -> str:
        return self.api_key if self.gateway_secret is None else self.gateway_secret

    def outage_for(self, server: str) -> bool:
        fault = self.faults.outage
        return fault is not None and fault.target in (server, "both")


def envelope(status: str, message: str, meta: Any = None, **extra: Any) -> JSON:
    return {"Status": status, "Message": message, "Meta": meta, **extra}


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, separators=(",", ":")))


def error_response(status: int, message: str) -> web.Response:
    return json_response(envelope("Error", message), status)


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise MalformedBody() from exc


def _query(request: web.Request) -> dict[str, str]:
    return dict(request.query)


def _hashed(request: web.Request) -> bool:
    return request.query.get("hashed", "") in ("1", "true", "True")


def _drop_connection(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=499)


# ---------------------------------------------------------------------------------------------------
# Dashboard


def _authorised(request: web.Request, core: Core) -> bool:
    header = request.headers.get("Authorization", "").strip()
    if header.lower().startswith("bearer "):
        header = header[7:].strip()
    return bool(header) and secrets.compare_digest(header, core.api_key)


@web.middleware
async def dashboard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    core = request.app[CORE_KEY]
    server = request.app[NAME_KEY]
    path = request.path
    if path.startswith(CONTROL_PREFIX):
        return await handler(request)
    if core.outage_for(server):
        return _drop_connection(request)
    fired = core.faults.take(server, request.method, path)
    for fault in fired:
        if fault.mode == "latency":
            await asyncio.sleep(fault.seconds)
    terminal = next((f for f in fired if f.mode in ("error", "drop")), None)
    query = _query(request)
    if terminal is not None and terminal.mode == "error":
        core.log.record(server, request.method, path, query, terminal.status, fault="error")
        message = terminal.message or "Emulated failure"
        if server == "gateway" and path.startswith("/tyk/"):
            return json_response({"status": "error", "message": message}, terminal.status)
        if server == "gateway":
            return json_response({"error": message}, terminal.status)
        return error_response(terminal.status, message)
    try:
        if server == "dashboard" and not _authorised(request, core):
            response: web.StreamResponse = error_response(401, "Not authorised")
        else:
            response = await handler(request)
    except TykError as exc:
        response = error_response(exc.status, exc.message)
    except web.HTTPException as exc:
        if server == "gateway":
            response = json_response({"error": exc.reason}, exc.status)
        else:
            response = error_response(exc.status, exc.reason)
    if terminal is not None and terminal.mode == "drop":
        core.log.record(server, request.method, path, query, response.status, fault="drop")
        return _drop_connection(request)
    core.log.record(server, request.method, path, query, response.status)
    return response


def _policy_list(core: Core, request: web.Request, items: list[JSON]) -> web.Response:
    page, pages = paginate(items, request.query.get("p"), core.state.page_size)
    return json_response({"Data": [copy.deepcopy(p) for p in page], "Pages": pages})


async def list_policies(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    return _policy_list(
        core, request, core.state.search_policies({"active": request.query.get("active", "")})
    )


async def search_policies(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    ids = request.query.get("policy_ids", "")
    if ids and not all(re.fullmatch(r"[0-9a-fA-F]{24}", i) for i in ids.split(",")):
        raise TykError(400, "Policy ID is not in hex format.")
    return _policy_list(core, request, core.state.search_policies(_query(request)))


async def get_policy(request: web.Request) -> web.Response:
    pol = request.app[CORE_KEY].state.find_policy(request.match_info["id"])
    if pol is None:
        raise TykError(404, "Could not retrieve portal object.")
    return json_response(pol)


async def create_policy(request: web.Request) -> web.Response:
    pol = request.app[CORE_KEY].state.create_policy(await read_json(request))
    return json_response(envelope("OK", pol["_id"]))


async def update_policy(request: web.Request) -> web.Response:
    request.app[CORE_KEY].state.update_policy(request.match_info["id"], await read_json(request))
    return json_response(envelope("OK", "Data updated"))


async def delete_policy(request: web.Request) -> web.Response:
    request.app[CORE_KEY].state.delete_policy(request.match_info["id"])
    return json_response(envelope("OK", "Data deleted"))


async def list_apis(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    page, pages = paginate(
        core.state.search_apis(_query(request)), request.query.get("p"), core.state.page_size
    )
    return json_response({"apis": copy.deepcopy(page), "pages": pages})


async def create_api(request: web.Request) -> web.Response:
    wrapper = request.app[CORE_KEY].state.add_api(await read_json(request), replace=False)
    d = wrapper["api_definition"]
    return json_response(envelope("OK", "API created", d["id"], ID=d["api_id"]))


async def get_api(request: web.Request) -> web.Response:
    wrapper = request.app[CORE_KEY].state.find_api(request.match_info["api_id"])
    if wrapper is None:
        raise TykError(400, "Could not retrieve API detail")
    return json_response(wrapper)


async def update_api(request: web.Request) -> web.Response:
    state = request.app[CORE_KEY].state
    wrapper = state.find_api(request.match_info["api_id"])
    body = await read_json(request)
    if wrapper is None:
        raise TykError(400, "Could not retrieve API detail")
    if not isinstance(body, dict):
        raise MalformedBody()
    definition = dict(body.get("api_definition", body))
    definition["api_id"] = wrapper["api_definition"]["api_id"]
    state.add_api({**body, "api_definition": definition} if "api_definition" in body else definition)
    return json_response(envelope("OK", "Api updated"))


async def delete_api(request: web.Request) -> web.Response:
    state = request.app[CORE_KEY].state
    wrapper = state.find_api(request.match_info["api_id"])
    if wrapper is None:
        raise TykError(404, "API not found")
    del state.apis[wrapper["api_definition"]["api_id"]]
    return json_response(envelope("OK", "API deleted"))


def _key_ids(core: Core, keys: list[StoredKey]) -> list[str]:
    return [core.state.public_key_id(k) for k in keys]


def _check_listing(core: Core) -> None:
    if core.state.hash_keys and not core.state.enable_hashed_keys_listing:
        raise TykError(404, "Could not retrieve keys.")


async def list_key_ids(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    _check_listing(core)
    api_id = request.match_info.get("api_id")
    keys = list(core.state.keys.values())
    if api_id is not None:
        api = core.state.find_api(api_id)
        real_id = api["api_definition"]["api_id"] if api else api_id
        keys = [k for k in keys if real_id in (k.session.get("access_rights") or {})]
    ids = _key_ids(core, keys)
    if request.query.get("q"):
        ids = [i for i in ids if request.query["q"] in i]
    page, pages = paginate(ids, request.query.get("p"), core.state.page_size)
    return json_response({"data": {"keys": page}, "pages": pages})


async def list_keys_detailed(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    _check_listing(core)
    items = [core.state.key_data(k) for k in core.state.keys.values()]
    if request.query.get("q"):
        items = [i for i in items if request.query["q"] in i["key_id"]]
    page, pages = paginate(items, request.query.get("p"), core.state.page_size)
    return json_response({"keys": page, "pages": pages})


# The Gateway's answer to a lookup by hash while it does not hash keys (gateway/api.go
# handleGetDetail; the Gateway OpenAPI document shows it as the 400 example of GET /tyk/keys/{keyID},
# with a trailing period).
HASHING_OFF = "Key requested by hash but key hashing is not enabled"


def _check_hashed(core: Core, request: web.Request, *, config_flag: str | None = None) -> bool:
    """Whether the request addresses a key by its hash, refusing what the configuration does not allow:
    any operation by hash while keys are not hashed (400, the Gateway's text: [choice] the Dashboard
    relays it), and updates/deletes by hash unless `enable_update_key_by_hash` /
    `enable_delete_key_by_hash` is on ([choice] status and text: undocumented)."""
    hashed = _hashed(request)
    if not hashed:
        return False
    if not core.state.hash_keys:
        raise TykError(400, HASHING_OFF)
    if config_flag is not None and not getattr(core.state, config_flag):
        raise TykError(400, f"Operations on keys by hash are disabled ({config_flag} is false).")
    return True


async def create_key(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    body = await read_json(request)
    custom_id = request.match_info.get("key_id")
    if isinstance(body, dict):
        check_session_certificates(core.state, body, None)
        if custom_id is None:
            custom_id = certificate_key_id(core.state, body)
    stored, key_id = core.state.create_key(body, custom_id)
    return json_response(core.state.key_data(stored, key_id=key_id))


async def preview_key(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    session = core.state._prepare_session(await read_json(request), creating=True)
    return json_response({"key_id": "", "key_hash": "", "data": session, "api_model": {}})


async def get_key(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    stored = core.state.find_key(request.match_info["key_id"], _check_hashed(core, request))
    if stored is None:
        raise TykError(404, "Could not retrieve key detail.")
    return json_response(core.state.key_data(stored))


async def update_key(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    hashed = _check_hashed(core, request, config_flag="enable_update_key_by_hash")
    body = await read_json(request)
    existing = core.state.find_key(request.match_info["key_id"], hashed)
    if isinstance(body, dict) and existing is not None:
        check_session_certificates(core.state, body, existing.session)
    stored = core.state.update_key(request.match_info["key_id"], body, hashed)
    return json_response(core.state.key_data(stored))


async def delete_key(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    hashed = _check_hashed(core, request, config_flag="enable_delete_key_by_hash")
    core.state.delete_key(request.match_info["key_id"], hashed)
    return json_response(envelope("OK", "Key deleted successfully."))


def add_dashboard_routes(app: web.Application) -> None:
    from .credential_routes import add_cert_routes, add_oauth_routes  # they import this module

    r = app.router
    r.add_get("/api/portal/policies", list_policies)
    r.add_post("/api/portal/policies", create_policy)
    r.add_get("/api/portal/policies/search", search_policies)
    r.add_get("/api/portal/policies/{id}", get_policy)
    r.add_put("/api/portal/policies/{id}", update_policy)
    r.add_delete("/api/portal/policies/{id}", delete_policy)
    r.add_get("/api/apis", list_apis)
    r.add_post("/api/apis", create_api)
    r.add_get("/api/apis/search", list_apis)
    r.add_get("/api/apis/keys", list_key_ids)
    add_oauth_routes(app)
    r.add_get("/api/apis/{api_id}/keys", list_key_ids)
    r.add_get("/api/apis/{api_id}", get_api)
    r.add_put("/api/apis/{api_id}", update_api)
    r.add_delete("/api/apis/{api_id}", delete_api)
    r.add_get("/api/keys/detailed", list_keys_detailed)
    r.add_post("/api/keys/preview", preview_key)
    r.add_post("/api/keys", create_key)
    r.add_post("/api/keys/{key_id:.+}", create_key)
    r.add_get("/api/keys/{key_id:.+}", get_key)
    r.add_put("/api/keys/{key_id:.+}", update_key)
    r.add_delete("/api/keys/{key_id:.+}", delete_key)
    add_cert_routes(app)


# ---------------------------------------------------------------------------------------------------
# Gateway data plane


def gateway_error(status: int, message: str, reason: str = "") -> web.Response:
    response = json_response({"error": message}, status)
    if reason:
        response.headers["X-Emulator-Reason"] = reason
    return response


async def gateway_hello(request: web.Request) -> web.Response:
    state = request.app[CORE_KEY].state
    return json_response(
        {"status": "pass", "version": state.gateway_version, "description": "Tyk GW", "details": {}}
    )


def _match_api(state: TykState, path: str) -> JSON | None:
    best: JSON | None = None
    best_len = -1
    for wrapper in state.apis.values():
        d = wrapper["api_definition"]
        listen = d.get("proxy", {}).get("listen_path") or "/"
        prefix = listen.rstrip("/")
        if (path == prefix or path.startswith(prefix + "/") or prefix == "") and len(prefix) > best_len:
            best, best_len = d, len(prefix)
    return best


def _url_allowed(access: JSON, rel_path: str, method: str) -> bool:
    urls = access.get("allowed_urls") or []
    if not urls:
        return True
    for spec in urls:
        try:
            if re.match(spec.get("url", ""), rel_path) or re.match(spec.get("url", ""), rel_path.lstrip("/")):
                methods = spec.get("methods") or []
                if not methods or method.upper() in (m.upper() for m in methods):
                    return True
        except re.error:
            continue
    return False


async def gateway_proxy(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    state = core.state
    api = _match_api(state, request.path)
    if api is None or not api.get("active", True):
        return gateway_error(404, "Not Found", "no API for this listen path")
    api_id = api["api_id"]
    prefix = (api.get("proxy", {}).get("listen_path") or "/").rstrip("/")
    rel_path = request.path[len(prefix) :] or "/"
    outcome = await authenticate(state, api, rel_path, request)
    if isinstance(outcome, Reply):
        return json_response(outcome.body, outcome.status)
    if isinstance(outcome, Refused):
        return gateway_error(outcome.status, outcome.message, outcome.reason)
    if isinstance(outcome, Keyless):
        return json_response({"api_id": api_id, "keyless": True, "path": rel_path, "method": request.method})
    assert isinstance(outcome, Authenticated)
    raw_session, usage_key = outcome.session, outcome.usage_key
    expires = raw_session.get("expires") or 0
    if expires > 0 and expires < time.time():
        # [choice] the brief asks for 403; a real Gateway answers 401 "Key has expired, please renew".
        return gateway_error(403, "Key has expired, please renew", "expired")
    try:
        applied = apply_policies(raw_session, state.gateway_policies(), state.org_id, request_time=True)
    except TykError as exc:
        return gateway_error(403, "Access to this API has been disallowed", exc.message)
    session = applied.session
    if session.get("is_inactive"):
        return gateway_error(403, "Key is inactive, please renew", "inactive")
    access = (session.get("access_rights") or {}).get(api_id)
    if access is None:
        return gateway_error(403, "Access to this API has been disallowed", "API not in access rights")
    if not _url_allowed(access, rel_path, request.method):
        return gateway_error(403, "Access to this resource has been disallowed", "URL not allowed")
    limits = effective_limits(session, api_id)
    now = time.monotonic()
    if limits["rate"] > 0 and limits["per"] > 0:
        window = [t for t in state.usage.get(usage_key, []) if now - t < limits["per"]]
        if len(window) >= limits["rate"]:
            state.usage[usage_key] = window
            return gateway_error(429, "Rate Limit Exceeded", "rate limit")
        window.append(now)
        state.usage[usage_key] = window
    if limits["quota_max"] > 0:
        used = state.quota_used.get(usage_key, 0)
        if used >= limits["quota_max"]:
            return gateway_error(403, "Quota exceeded", "quota")
        state.quota_used[usage_key] = used + 1
    return json_response(
        {
            "api_id": api_id,
            "key_alias": session.get("alias", ""),
            "rate": limits["rate"],
            "per": limits["per"],
            "quota_max": limits["quota_max"],
            "quota_renewal_rate": limits["quota_renewal_rate"],
            "policies": [p.get("id") for p in applied.policies],
            "tags": session.get("tags") or [],
            "meta_data": session.get("meta_data") or {},
            "path": rel_path,
            "method": request.method,
        }
    )


def add_gateway_routes(app: web.Application) -> None:
    from .gateway_api import add_gateway_api_routes  # imports this module: registered here, lazily

    app.router.add_get("/hello", gateway_hello)
    add_gateway_api_routes(app)  # /tyk/* before the data plane's catch-all
    app.router.add_route("*", "/{tail:.*}", gateway_proxy)


# ---------------------------------------------------------------------------------------------------
# Control endpoints (no auth)


async def ctl_info(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    return json_response({**core.urls, "org_id": core.state.org_id})


async def ctl_seed_apis(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    try:
        body = json.loads(await request.read())
    except ValueError:
        return json_response({"error": "body must be JSON"}, 400)
    items = body.get("apis") if isinstance(body, dict) and "apis" in body else body
    if not isinstance(items, list):
        items = [items]
    try:
        created = [core.state.add_api(item) for item in items]
    except TykError as exc:
        return json_response({"error": exc.message}, 400)
    return json_response({"apis": created})


async def ctl_requests(request: web.Request) -> web.Response:
    return json_response({"requests": request.app[CORE_KEY].log.entries})


async def ctl_clear_requests(request: web.Request) -> web.Response:
    request.app[CORE_KEY].log.entries.clear()
    return json_response({"status": "ok"})


_background: set[asyncio.Future[None]] = set()


async def _sync_outage(request: web.Request) -> None:
    core = request.app[CORE_KEY]
    if core.apply_outage is None:
        return
    if request.app[NAME_KEY] == "control":
        await core.apply_outage()
    else:
        # Cannot wait for our own listener's connections to close while answering on one of them:
        # stop accepting now, close the remaining connections right after this answer.
        if core.faults.outage is not None and core.stop_listening is not None:
            await core.stop_listening()
        task = asyncio.ensure_future(core.apply_outage())
        _background.add(task)
        task.add_done_callback(_background.discard)


async def ctl_add_fault(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    try:
        fault = Fault.from_json(json.loads(await request.read()))
    except ValueError as exc:
        return json_response({"error": str(exc)}, 400)
    core.faults.faults.append(fault)
    if fault.mode == "outage":
        await _sync_outage(request)
    return json_response({"faults": [f.to_json() for f in core.faults.faults]})


async def ctl_list_faults(request: web.Request) -> web.Response:
    return json_response({"faults": [f.to_json() for f in request.app[CORE_KEY].faults.faults]})


async def ctl_clear_faults(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    had_outage = core.faults.outage is not None
    core.faults.clear()
    if had_outage:
        await _sync_outage(request)
    return json_response({"faults": []})


async def ctl_reset(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    core.state.reset()
    core.log.entries.clear()
    had_outage = core.faults.outage is not None
    core.faults.clear()
    if had_outage:
        await _sync_outage(request)
    return json_response({"status": "ok"})


async def ctl_state(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    state = core.state
    return json_response(
        {
            "config": _config(core),
            "policies": list(state.policies.values()),
            "apis": [a["api_definition"] for a in state.apis.values()],
            "keys": [
                {"key_hash": state.hash_key(k.key), "key_id": state.public_key_id(k), "data": k.session}
                for k in state.keys.values()
            ],
            "oauth_clients": {api: list(c) for api, c in state.oauth_clients.items()},
            "certs": list(state.certs),
            "gateway": {
                "policy_files": sorted(state.policy_files),
                "loaded_policies": sorted(state.loaded_policies),
                "api_files": {api: d is not None for api, d in state.api_files.items()},
                "reloads": state.reloads,
            },
            "oauth_tokens": len(state.oauth_tokens),
        }
    )


def _config(core: Core) -> JSON:
    s = core.state
    return {
        "org_id": s.org_id,
        "hash_keys": s.hash_keys,
        "dashboard_version": s.dashboard_version,
        "gateway_version": s.gateway_version,
        "enable_hashed_keys_listing": s.enable_hashed_keys_listing,
        "enable_delete_key_by_hash": s.enable_delete_key_by_hash,
        "enable_update_key_by_hash": s.enable_update_key_by_hash,
        "page_size": s.page_size,
        "policy_source": s.policy_source,
        "reload_delay": s.reload_delay,
        "oauth_token_expire": s.oauth_token_expire,
    }


async def ctl_get_config(request: web.Request) -> web.Response:
    return json_response(_config(request.app[CORE_KEY]))


async def ctl_set_config(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    try:
        body = json.loads(await request.read())
    except ValueError:
        return json_response({"error": "body must be JSON"}, 400)
    if not isinstance(body, dict):
        return json_response({"error": "body must be an object"}, 400)
    kinds = {
        "api_key": str,
        "org_id": str,
        "hash_keys": bool,
        "dashboard_version": str,
        "gateway_version": str,
        "version": str,
        "enable_hashed_keys_listing": bool,
        "enable_delete_key_by_hash": bool,
        "enable_update_key_by_hash": bool,
        "page_size": int,
        "gateway_secret": str,
        "policy_source": str,
        "reload_delay": (int, float),
        "oauth_token_expire": int,
    }
    for name, value in body.items():
        if (
            name not in kinds
            or not isinstance(value, kinds[name])
            or isinstance(value, bool) is not (kinds[name] is bool)
        ):
            return json_response({"error": f"unknown or mistyped config field {name!r}"}, 400)
    if body.get("policy_source", "file") not in ("file", "service"):
        return json_response({"error": "policy_source must be 'file' or 'service'"}, 400)
    for name, value in body.items():
        if name == "api_key":
            core.api_key = value
        elif name == "gateway_secret":
            core.gateway_secret = value
        elif name == "version":
            core.state.dashboard_version = value
            core.state.gateway_version = value if value.startswith("v") else f"v{value}"
        else:
            setattr(core.state, name, value)
    return json_response(_config(core))


def add_control_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/_emulator/info", ctl_info)
    r.add_post("/_emulator/apis", ctl_seed_apis)
    r.add_get("/_emulator/requests", ctl_requests)
    r.add_delete("/_emulator/requests", ctl_clear_requests)
    r.add_get("/_emulator/faults", ctl_list_faults)
    r.add_post("/_emulator/faults", ctl_add_fault)
    r.add_delete("/_emulator/faults", ctl_clear_faults)
    r.add_post("/_emulator/reset", ctl_reset)
    r.add_get("/_emulator/state", ctl_state)
    r.add_get("/_emulator/config", ctl_get_config)
    r.add_post("/_emulator/config", ctl_set_config)


def make_app(core: Core, name: str) -> web.Application:
    """``name``: "dashboard" (API + control), "gateway" (data plane) or "control" (control only)."""
    middlewares = [dashboard_middleware] if name in ("dashboard", "gateway") else []
    app = web.Application(middlewares=middlewares, client_max_size=16 * 1024 * 1024)
    app[CORE_KEY] = core
    app[NAME_KEY] = name
    if name == "gateway":
        add_gateway_routes(app)
    else:
        add_control_routes(app)
        if name == "dashboard":
            add_dashboard_routes(app)
    return app
