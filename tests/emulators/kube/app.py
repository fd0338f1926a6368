"""The HTTP face of the emulator: kube-apiserver paths, verbs, query parameters and watch streams."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .apply import APPLY_PATCH, parse_apply_body, parse_force, request_manager
from .auth import Authentication, auth_middleware
from .errors import ApiError, status_object
from .fieldvalidation import check_request, with_warnings
from .managedfields import UpdateTracker
from .openapi import add_openapi_routes
from .resources import ResourceType
from .store import ListOptions, Store
from .tables import negotiate

__all__ = ["BOOKMARK_INTERVAL", "make_app"]

logger = logging.getLogger(__name__)

BOOKMARK_INTERVAL = 1.0  # seconds between BOOKMARK events on an idle watch
_DEFAULT_WATCH_TIMEOUT = 1800.0
_JSON = "application/json"
STORE_KEY: web.AppKey[Store] = web.AppKey("store", Store)


@dataclass
class Target:
    """What a request path addresses."""

    rtype: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def _respond(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type=_JSON)


def _error(error: ApiError) -> web.Response:
    return _respond(error.status(), error.code)


def _resolve(store: Store, group: str, version: str, parts: list[str]) -> Target:
    registry = store.registry

    def lookup(plural: str) -> ResourceType:
        rtype = registry.get(group, version, plural)
        if rtype is None:
            raise ApiError.path_not_found()
        return rtype

    if len(parts) >= 3 and parts[0] == "namespaces":
        namespaced = registry.get(group, version, parts[2])
        if namespaced is not None and namespaced.namespaced:
            if len(parts) > 5:
                raise ApiError.path_not_found()
            name = parts[3] if len(parts) > 3 else None
            sub = parts[4] if len(parts) > 4 else None
            return Target(namespaced, parts[1], name, sub)
    rtype = lookup(parts[0])
    if len(parts) > 3:
        raise ApiError.path_not_found()
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    if name is not None and rtype.namespaced:
        raise ApiError.path_not_found()
    return Target(rtype, None, name, sub)


def _list_options(query: Any) -> ListOptions:
    limit = query.get("limit")
    try:
        parsed_limit = int(limit) if limit else 0
    except ValueError as exc:
        raise ApiError.bad_request(f"invalid limit: {limit}") from exc
    return ListOptions(
        label_selector=query.get("labelSelector"),
        field_selector=query.get("fieldSelector"),
        limit=max(parsed_limit, 0),
        continue_token=query.get("continue") or None,
    )


async def _json_body(request: web.Request, *, optional: bool = False) -> Any:
    raw = await request.read()
    if not raw.strip():
        if optional:
            return None
        raise ApiError.bad_request("the request body is empty")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError.bad_request(f"the request body is not valid JSON: {exc}") from exc


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


def _tracker(request: web.Request) -> UpdateTracker:
    """managedFields bookkeeping for a create, update or non-apply patch (validates its options)."""
    user_agent = request.headers.get("User-Agent", "")
    return UpdateTracker(request_manager(request.method, request.query, user_agent, apply=False))


def _dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise ApiError.bad_request(f"unsupported dryRun value: {value}")
    return bool(values)


class Handlers:
    """The request handlers, bound to one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def version(self, request: web.Request) -> web.Response:
        return _respond(
            {
                "major": "1",
                "minor": "33",
                "gitVersion": "v1.33.0-emulator",
                "gitCommit": "emulator",
                "gitTreeState": "clean",
                "buildDate": "2025-01-01T00:00:00Z",
                "goVersion": "go1.24",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        )

    async def core(self, request: web.Request) -> web.Response:
        tail = request.match_info.get("tail", "")
        parts = [p for p in tail.split("/") if p]
        if not parts:
            return _respond(self.store.registry.api_versions())
        version, rest = parts[0], parts[1:]
        return await self._dispatch(request, "", version, rest)

    async def groups(self, request: web.Request) -> web.Response:
        tail = request.match_info.get("tail", "")
        parts = [p for p in tail.split("/") if p]
        if not parts:
            return _respond(self.store.registry.api_group_list())
        if len(parts) == 1:
            doc = self.store.registry.api_group(parts[0])
            if doc is None:
                raise ApiError.path_not_found()
            return _respond(doc)
        return await self._dispatch(request, parts[0], parts[1], parts[2:])

    async def _dispatch(
        self, request: web.Request, group: str, version: str, parts: list[str]
    ) -> web.Response:
        if not parts:
            doc = self.store.registry.resource_list(group, version)
            if doc is None:
                raise ApiError.path_not_found()
            return _respond(doc)
        target = _resolve(self.store, group, version, parts)
        method = request.method
        if target.name is None:
            if method == "GET":
                if _truthy(request.query.get("watch")):
                    return await self._watch(request, target)  # type: ignore[return-value]
                listing = self.store.list_objects(
                    target.rtype, target.namespace, _list_options(request.query)
                )
                return _respond(negotiate(request, self.store, target.rtype, listing))
            if method == "POST":
                if target.rtype.namespaced and target.namespace is None:
                    raise ApiError.method_not_allowed(method)
                body = await _json_body(request)
                warnings = await check_request(request, target.rtype, body, "CreateOptions")
                created = self.store.create(
                    target.rtype, target.namespace, body, dry_run=_dry_run(request), tracker=_tracker(request)
                )
                return with_warnings(_respond(created, 201), warnings)
            if method == "DELETE":
                options = await _json_body(request, optional=True) or {}
                listing = self.store.delete_collection(
                    target.rtype, target.namespace, _list_options(request.query), options
                )
                return _respond(listing)
            raise ApiError.method_not_allowed(method)
        sub = target.subresource
        if sub is not None:
            allowed = {"status"} if target.rtype.has_status else set()
            if target.rtype.group == "" and target.rtype.plural == "namespaces":
                allowed.add("finalize")
            if sub not in allowed:
                raise ApiError.path_not_found()
        if method == "GET":
            found = self.store.get(target.rtype, target.namespace, target.name)
            return _respond(negotiate(request, self.store, target.rtype, found))
        if method == "PUT":
            body = await _json_body(request)
            warnings = await check_request(request, target.rtype, body, "UpdateOptions")
            replaced = self.store.replace(
                target.rtype,
                target.namespace,
                target.name,
                body,
                subresource=sub,
                dry_run=_dry_run(request),
                tracker=_tracker(request),
            )
            return with_warnings(_respond(replaced), warnings)
        if method == "PATCH":
            content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if content_type == APPLY_PATCH:
                return await self._apply(request, target)
            body = await _json_body(request)
            warnings = await check_request(request, target.rtype, body, "PatchOptions", self._current(target))
            patched = self.store.patch(
                target.rtype,
                target.namespace,
                target.name,
                content_type,
                body,
                subresource=sub,
                dry_run=_dry_run(request),
                tracker=_tracker(request),
            )
            return with_warnings(_respond(patched), warnings)
        if method == "DELETE" and sub is None:
            options = await _json_body(request, optional=True) or {}
            if not isinstance(options, dict):
                raise ApiError.bad_request("DeleteOptions must be a JSON object")
            if "propagationPolicy" in request.query:
                options["propagationPolicy"] = request.query["propagationPolicy"]
            obj, gone = self.store.delete(
                target.rtype, target.namespace, target.name, options, dry_run=_dry_run(request)
            )
            rtype = target.rtype
            if gone and not rtype.custom and rtype.plural != "namespaces":
                details = {"name": target.name, "kind": rtype.plural, "uid": obj["metadata"]["uid"]}
                if rtype.group:
                    details["group"] = rtype.group
                return _respond(status_object(200, "", "", details, success=True))
            return _respond(obj)
        raise ApiError.method_not_allowed(method)

    async def _apply(self, request: web.Request, target: Target) -> web.Response:
        """Server-side apply: 201 when it created the object."""
        manager = request_manager("PATCH", request.query, request.headers.get("User-Agent", ""), apply=True)
        force = parse_force(request.query)
        config = parse_apply_body(await request.read())
        obj, created = self.store.server_side_apply(
            target.rtype,
            target.namespace,
            target.name or "",
            config,
            manager=manager,
            force=force,
            subresource=target.subresource,
            dry_run=_dry_run(request),
        )
        return _respond(obj, 201 if created else 200)

    def _current(self, target: Target) -> dict[str, Any] | None:
        """The object a PATCH addresses (None if it does not exist: the store reports that)."""
        try:
            return self.store.get(target.rtype, target.namespace, target.name or "")
        except ApiError:
            return None

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        query = request.query
        options = _list_options(query)
        options.limit, options.continue_token = 0, None
        bookmarks = _truthy(query.get("allowWatchBookmarks"))
        initial = _truthy(query.get("sendInitialEvents"))
        try:
            timeout = (
                float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else _DEFAULT_WATCH_TIMEOUT
            )
        except ValueError as exc:
            raise ApiError.bad_request(f"invalid timeoutSeconds: {query.get('timeoutSeconds')}") from exc
        rtype = target.rtype
        response = web.StreamResponse(status=200, headers={"Content-Type": _JSON})
        response.enable_chunked_encoding()
        try:
            sub, backlog = self.store.subscribe(
                rtype, target.namespace, options, query.get("resourceVersion"), initial
            )
        except ApiError as error:
            if error.code != 410:
                raise
            await response.prepare(request)
            await self._send(response, "ERROR", error.status())
            await response.write_eof()
            return response
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await response.prepare(request)
            for kind, obj in backlog:
                await self._send(response, kind, obj)
            if initial:
                await self._send(response, "BOOKMARK", self._bookmark(rtype, initial_end=True))
            while request.transport is not None and not request.transport.is_closing():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    event = await asyncio.wait_for(sub.queue.get(), min(remaining, BOOKMARK_INTERVAL))
                except TimeoutError:
                    if bookmarks and deadline - loop.time() > 0:
                        await self._send(response, "BOOKMARK", self._bookmark(rtype))
                    continue
                if event is None:
                    break
                seen = sub.translate(event)
                if seen is not None:
                    obj = dict(seen[1], apiVersion=rtype.api_version, kind=rtype.kind)
                    await self._send(response, seen[0], obj)
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client went away
        finally:
            self.store.unsubscribe(sub)
        return response

    def _bookmark(self, rtype: ResourceType, *, initial_end: bool = False) -> dict[str, Any]:
        meta: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": meta}

    @staticmethod
    async def _send(response: web.StreamResponse, kind: str, obj: dict[str, Any]) -> None:
        await response.write((json.dumps({"type": kind, "object": obj}) + "\n").encode())


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except ApiError as error:
        return _error(error)
    except web.HTTPException:
        raise
    except Exception as exc:
        logger.exception("Emulator failed on %s %s", request.method, request.path_qs)
        return _respond(status_object(500, "InternalError", f"Internal error occurred: {exc}"), 500)


def make_app(store: Store, authentication: Authentication | None = None) -> web.Application:
    """The aiohttp application serving the Kubernetes API over `store` (open unless `authentication`)."""
    handlers = Handlers(store)
    middlewares = [_errors, auth_middleware(store, authentication)]
    app = web.Application(middlewares=middlewares, client_max_size=16 * 1024 * 1024)
    app[STORE_KEY] = store
    app.router.add_get("/version", handlers.version)
    add_openapi_routes(app, store)
    app.router.add_route("*", "/api", handlers.core)
    app.router.add_route("*", "/api/{tail:.*}", handlers.core)
    app.router.add_route("*", "/apis", handlers.groups)
    app.router.add_route("*", "/apis/{tail:.*}", handlers.groups)
    return app
