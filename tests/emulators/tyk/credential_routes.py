"""Dashboard endpoints for credentials other than keys: OAuth clients and the certificate store.

Shapes and messages follow ``dashboard-swagger.yml`` (``/api/apis/oauth/…``, ``/api/certs…``) and,
for the revoke endpoints the spec omits, Tyk's Dashboard API documentation. Behaviour lives in
``oauth.py`` and ``certs.py``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from . import oauth
from .app import CORE_KEY, Core, envelope, json_response, read_json
from .certs import cert_basics, cert_detail, parse_upload, upload_error
from .state import JSON, TykError, paginate

__all__ = ["add_cert_routes", "add_oauth_routes"]


# ---------------------------------------------------------------------------------------------------
# OAuth clients


def _oauth_api(request: web.Request) -> tuple[Core, JSON]:
    core = request.app[CORE_KEY]
    api = core.state.find_api(request.match_info["api_id"])
    if api is None:
        raise TykError(400, "API Reference not found.")
    return core, api["api_definition"]


def _oauth_client(request: web.Request) -> tuple[Core, str, JSON]:
    core, api = _oauth_api(request)
    client = core.state.oauth_clients.get(api["api_id"], {}).get(request.match_info["client_id"])
    if client is None:
        raise TykError(404, "Could not retrieve app detail.")
    return core, api["api_id"], client


async def create_oauth_client(request: web.Request) -> web.Response:
    core, api = _oauth_api(request)
    return json_response(oauth.create_client(core.state, api, await read_json(request)))


async def list_oauth_clients(request: web.Request) -> web.Response:
    core, api = _oauth_api(request)
    apps = list(core.state.oauth_clients.get(api["api_id"], {}).values())
    page, pages = paginate(apps, request.query.get("p", "-1"), core.state.page_size)
    return json_response({"apps": page, "pages": pages})


async def get_oauth_client(request: web.Request) -> web.Response:
    return json_response(_oauth_client(request)[2])


async def delete_oauth_client(request: web.Request) -> web.Response:
    core, api_id, client = _oauth_client(request)
    del core.state.oauth_clients[api_id][client["client_id"]]
    return json_response(envelope("OK", "OAuth client deleted successfully."))


async def oauth_client_tokens(request: web.Request) -> web.Response:
    core, api_id, client = _oauth_client(request)
    return json_response(oauth.client_tokens(core.state, api_id, client["client_id"]))


async def _body_fields(request: web.Request) -> dict[str, str]:
    """The revoke endpoints take JSON in the Dashboard docs and a form on the Gateway: accept both."""
    if request.content_type == "application/json":
        body = await read_json(request)
        if not isinstance(body, dict):
            raise TykError(403, "Request body malformed.")
        return {k: str(v) for k, v in body.items()}
    return dict(parse_qsl((await request.read()).decode(errors="replace")))


async def revoke_oauth_token(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    fields = await _body_fields(request)
    if not fields.get("token"):
        raise TykError(400, "token is required")
    oauth.revoke_token(core.state, fields["token"])
    return json_response(envelope("OK", "token revoked successfully"))


async def revoke_all_oauth_tokens(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    fields = await _body_fields(request)
    if not fields.get("client_secret"):
        raise TykError(401, "client_secret is required")
    oauth.revoke_all(core.state, request.match_info["client_id"], fields["client_secret"])
    return json_response(envelope("OK", "tokens revoked successfully"))


# ---------------------------------------------------------------------------------------------------
# Certificates


def _owned(core: Core, cert_id: str) -> None:
    if not cert_id.startswith(core.state.org_id):
        raise TykError(400, "Attempted access to non-owned certificate.")


async def _read_upload(request: web.Request) -> bytes:
    if not request.content_type.startswith("multipart/"):
        return await request.read()
    form = await request.post()
    part = form.get("cert") or form.get("file")  # Tyk's tools send `cert`; the spec's schema says `file`
    if isinstance(part, web.FileField):
        data: bytes = part.file.read()
        return data
    return part.encode() if isinstance(part, str) else b""


async def upload_cert(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    pem = await _read_upload(request)
    if not pem.strip():
        raise TykError(500, "Failed to read response body, body empty.")
    record = parse_upload(pem, core.state.org_id)
    if record["id"] in core.state.certs:
        raise upload_error(f"Certificate with {record['id']} ID already exists.")
    core.state.certs[record["id"]] = record
    if core.gateway_tls is not None:
        core.gateway_tls.trust(record)
    return json_response({"id": record["id"], "message": "Certificate added.", "status": "ok"})


async def list_certs(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    records = list(core.state.certs.values())
    detailed = request.query.get("mode") == "detailed"
    # the spec: `filter` works only together with mode=detailed
    if detailed and request.query.get("filter") == "with_pk":
        records = [c for c in records if c["has_private"]]
    elif detailed and request.query.get("filter") == "without_pk":
        records = [c for c in records if not c["has_private"]]
    page, pages = paginate(records, request.query.get("p"), core.state.page_size)
    if detailed:
        return json_response({"cert_basics": [cert_basics(c) for c in page], "pages": pages})
    return json_response({"certs": [c["id"] for c in page], "pages": pages})


async def list_certs_details(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    page, pages = paginate(list(core.state.certs.values()), request.query.get("p"), core.state.page_size)
    return json_response({"certificates": [cert_detail(c) for c in page], "pages": pages})


async def get_cert(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    cert_id = request.match_info["cert_id"]
    _owned(core, cert_id)
    record = core.state.certs.get(cert_id)
    if record is None:
        raise TykError(
            404,
            "Could not retrieve certificate details. Certificate with given SHA256 fingerprint not found.",
        )
    return json_response(cert_detail(record))


async def cert_apis(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    cert_id = request.match_info["cert_id"]
    if cert_id not in core.state.certs:
        raise TykError(404, "Certificate not found or access denied")
    apis: list[Any] = [
        {
            "api_id": d["api_id"],
            "name": d.get("name", ""),
            "usage_type": ["client"],
            "tyk_api_type": "Tyk Classic",
        }
        for d in (w["api_definition"] for w in core.state.apis.values())
        if cert_id in (d.get("client_certificates") or [])
    ]
    return json_response({"cert_id": cert_id, "apis": apis, "pages": 1 if apis else 0})


async def delete_cert(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    cert_id = request.match_info["cert_id"]
    _owned(core, cert_id)
    if core.state.certs.pop(cert_id, None) is None:
        raise TykError(404, "Could not delete certificate.")
    return json_response({"message": "removed", "status": "ok"})


def add_oauth_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/apis/oauth/{api_id}", list_oauth_clients)
    r.add_post("/api/apis/oauth/{api_id}", create_oauth_client)
    r.add_post("/api/apis/oauth/{client_id}/revoke", revoke_oauth_token)
    r.add_post("/api/apis/oauth/{client_id}/revoke_all", revoke_all_oauth_tokens)
    r.add_get("/api/apis/oauth/{api_id}/{client_id}", get_oauth_client)
    r.add_delete("/api/apis/oauth/{api_id}/{client_id}", delete_oauth_client)
    r.add_get("/api/apis/oauth/{api_id}/{client_id}/tokens", oauth_client_tokens)


def add_cert_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/certs", list_certs)
    r.add_post("/api/certs", upload_cert)
    r.add_get("/api/certs/details", list_certs_details)
    r.add_get("/api/certs/{cert_id}/apis", cert_apis)
    r.add_get("/api/certs/{cert_id}", get_cert)
    r.add_delete("/api/certs/{cert_id}", delete_cert)
