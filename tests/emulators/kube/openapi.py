"""`/openapi/v2` and `/openapi/v3` documents: the served kinds' paths and schemas.

Custom resources are published with their CRD version's `openAPIV3Schema` (metadata replaced by a
reference to ObjectMeta, `x-kubernetes-group-version-kind` added), built-in kinds with the
definitions in `openapi_types`. Every PATCH/POST/PUT operation declares the `fieldValidation` query
parameter: kubectl looks for it on the PATCH operation of a kind to decide that the server
validates fields itself (and then sends `fieldValidation=Strict` instead of validating locally).

Documents are built lazily and cached until a CustomResourceDefinition changes.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .errors import status_object
from .openapi_types import (
    API_VERSION_DESCRIPTION,
    BUILTIN_DEFINITIONS,
    KIND_DESCRIPTION,
    META,
    METADATA_DESCRIPTION,
    builtin_definition_name,
    ref,
)
from .resources import ResourceRegistry, ResourceType

__all__ = ["OpenAPIDocuments", "add_openapi_routes", "definition_name", "group_version_path"]

Schema = dict[str, Any]
_REF_V3 = "#/components/schemas/"
_REF_V2 = "#/definitions/"
_CRD_STORAGE = ("apiextensions.k8s.io", "customresourcedefinitions")

_QUERY: dict[str, tuple[str, str]] = {
    # name: (type, description)
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "dryRun": (
        "string",
        "When present, indicates that modifications should not be persisted. An invalid or unrecognized "
        "dryRun directive will result in an error response and no further processing of the request. "
        "Valid values are: - All: all dry run stages will be processed",
    ),
    "fieldManager": (
        "string",
        "fieldManager is a name associated with the actor or entity that is making these changes.",
    ),
    "fieldValidation": (
        "string",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) "
        "containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown "
        "fields that are silently dropped from the object, and will ignore all but the last duplicate "
        "field that the decoder encounters. - Warn: This will send a warning via the standard warning "
        "response header for each unknown field that is dropped from the object, and for each duplicate "
        "field that is encountered. The request will still succeed if there are no other errors. This is "
        "the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any "
        "unknown fields would be dropped from the object, or if any duplicate fields are present. The "
        "error returned from the server will contain all unknown and duplicate fields encountered.",
    ),
    "force": ("boolean", 'Force is going to "force" Apply requests.'),
    "allowWatchBookmarks": ("boolean", 'allowWatchBookmarks requests watch events with type "BOOKMARK".'),
    "continue": ("string", "The continue option should be set when retrieving more results from the server."),
    "fieldSelector": ("string", "A selector to restrict the list of returned objects by their fields."),
    "labelSelector": ("string", "A selector to restrict the list of returned objects by their labels."),
    "limit": ("integer", "limit is a maximum number of responses to return for a list call."),
    "resourceVersion": (
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be served from.",
    ),
    "resourceVersionMatch": (
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    ),
    "sendInitialEvents": ("boolean", "`sendInitialEvents=true` may be set together with `watch=true`."),
    "timeoutSeconds": ("integer", "Timeout for the list/watch call."),
    "watch": (
        "boolean",
        "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
    ),
    "gracePeriodSeconds": ("integer", "The duration in seconds before the object should be deleted."),
    "propagationPolicy": ("string", "Whether and how garbage collection will be performed."),
}
_LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")


def _query(name: str) -> Schema:
    kind, description = _QUERY[name]
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": kind, "uniqueItems": True},
    }


def _path_param(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "description": description,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


def _reverse_group(group: str) -> str:
    return ".".join(reversed(group.split(".")))


def definition_name(rtype: ResourceType) -> str | None:
    """The schema name of a kind in the documents (None: published without a schema)."""
    if rtype.custom:
        return f"{_reverse_group(rtype.group)}.{rtype.version}.{rtype.kind}"
    return builtin_definition_name(rtype.group, rtype.version, rtype.kind)


def group_version_path(group: str, version: str) -> str:
    """The key of a group version in the `/openapi/v3` discovery document."""
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _custom_schema(rtype: ResourceType) -> Schema:
    schema: Schema = copy.deepcopy(rtype.schema) if rtype.schema else {"type": "object"}
    if not rtype.schema:
        schema["x-kubernetes-preserve-unknown-fields"] = True
    props: Schema = schema.setdefault("properties", {})
    props["apiVersion"] = {
        "type": "string",
        "description": API_VERSION_DESCRIPTION,
        **_extra(props, "apiVersion"),
    }
    props["kind"] = {"type": "string", "description": KIND_DESCRIPTION, **_extra(props, "kind")}
    props["metadata"] = ref(META + "ObjectMeta", METADATA_DESCRIPTION)
    schema["x-kubernetes-group-version-kind"] = [
        {"group": rtype.group, "kind": rtype.kind, "version": rtype.version}
    ]
    return schema


def _extra(props: Schema, key: str) -> Schema:
    """Keep a CRD's own description of apiVersion/kind if it has one."""
    own = props.get(key) or {}
    return {"description": own["description"]} if own.get("description") else {}


def _list_schema(rtype: ResourceType, item: str) -> Schema:
    return {
        "type": "object",
        "description": f"{rtype.kind}List is a list of {rtype.kind}",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": API_VERSION_DESCRIPTION},
            "items": {
                "type": "array",
                "description": f"List of {rtype.plural}.",
                "items": {"$ref": _REF_V3 + item},
            },
            "kind": {"type": "string", "description": KIND_DESCRIPTION},
            "metadata": ref(META + "ListMeta", METADATA_DESCRIPTION),
        },
        "x-kubernetes-group-version-kind": [
            {"group": rtype.group, "kind": rtype.list_kind, "version": rtype.version}
        ],
    }


def _referenced(definitions: dict[str, Schema], roots: list[str]) -> dict[str, Schema]:
    """The definitions reachable from `roots` (each group version document is self-contained)."""
    seen: dict[str, Schema] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in definitions:
            continue
        seen[name] = definitions[name]
        text = json.dumps(definitions[name])
        start = 0
        while (index := text.find(_REF_V3, start)) >= 0:
            end = text.find('"', index)
            todo.append(text[index + len(_REF_V3) : end])
            start = end
    return dict(sorted(seen.items()))


@dataclass
class _Built:
    key: Any
    v3: dict[str, bytes] = field(default_factory=dict)  # group version path -> JSON document
    hashes: dict[str, str] = field(default_factory=dict)
    v2: bytes = b""


class OpenAPIDocuments:
    """The OpenAPI documents of one store, rebuilt when its CRDs change."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._built: _Built | None = None

    @property
    def registry(self) -> ResourceRegistry:
        registry: ResourceRegistry = self.store.registry
        return registry

    def _key(self) -> tuple[tuple[str, str], ...]:
        crds = self.store.objects.get(_CRD_STORAGE, {})
        return tuple(sorted((name, obj["metadata"]["resourceVersion"]) for (_, name), obj in crds.items()))

    def _current(self) -> _Built:
        key = self._key()
        if self._built is None or self._built.key != key:
            self._built = self._build(key)
        return self._built

    # ----- public -------------------------------------------------------------------------------
    def v3_index(self) -> dict[str, Any]:
        built = self._current()
        paths = {
            path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={built.hashes[path]}"}
            for path in sorted(built.v3)
        }
        return {"paths": paths}

    def v3_document(self, path: str) -> tuple[bytes, str] | None:
        """The JSON document and its hash for `api/v1` or `apis/GROUP/VERSION`; None if not served."""
        built = self._current()
        if path not in built.v3:
            return None
        return built.v3[path], built.hashes[path]

    def v2_document(self) -> bytes:
        return self._current().v2

    # ----- building -----------------------------------------------------------------------------
    def _build(self, key: Any) -> _Built:
        built = _Built(key)
        definitions: dict[str, Schema] = dict(BUILTIN_DEFINITIONS)
        by_gv: dict[tuple[str, str], list[ResourceType]] = {}
        for rtype in self.registry.types():
            by_gv.setdefault((rtype.group, rtype.version), []).append(rtype)
            name = definition_name(rtype)
            if rtype.custom and name:
                definitions[name] = _custom_schema(rtype)
                definitions[name + "List"] = _list_schema(rtype, name)
        all_paths: dict[str, Any] = {}
        for (group, version), rtypes in sorted(by_gv.items()):
            paths: dict[str, Any] = {}
            roots = [META + "Status", META + "DeleteOptions", META + "Patch"]
            for rtype in sorted(rtypes, key=lambda t: t.plural):
                name = definition_name(rtype)
                if name:
                    roots += [name, name + "List"]
                paths.update(_paths(rtype, name))
            document = {
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": "v1.33.0"},
                "paths": paths,
                "components": {
                    "schemas": _referenced(definitions, roots),
                    "securitySchemes": {
                        "BearerToken": {
                            "type": "apiKey",
                            "description": "Bearer Token authentication",
                            "name": "authorization",
                            "in": "header",
                        }
                    },
                },
            }
            data = json.dumps(document, sort_keys=True).encode()
            gv_path = group_version_path(group, version)
            built.v3[gv_path] = data
            built.hashes[gv_path] = hashlib.sha512(data).hexdigest().upper()
            all_paths.update(paths)
        built.v2 = json.dumps(_swagger(all_paths, definitions), sort_keys=True).encode()
        return built


def _operation(
    rtype: ResourceType,
    action: str,
    verb: str,
    params: tuple[str, ...],
    response: str | None,
    *,
    body: str | None = None,
    patch: bool = False,
) -> Schema:
    scope = "Namespaced" if rtype.namespaced else ""
    kind = rtype.kind
    operation: Schema = {
        "description": f"{action} {kind}",
        "operationId": f"{verb}{scope}{kind}",
        "parameters": [_query(p) for p in params],
        "responses": {"401": {"description": "Unauthorized"}},
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": {"group": rtype.group, "kind": kind, "version": rtype.version},
    }
    if response:
        content = {
            media: {"schema": {"$ref": _REF_V3 + response}}
            for media in ("application/json", "application/yaml")
        }
        operation["responses"]["200"] = {"description": "OK", "content": content}
        if verb in ("post", "put", "patch"):
            operation["responses"]["201"] = {"description": "Created", "content": content}
    if body:
        if patch:
            medias = [
                "application/apply-patch+yaml",
                "application/json-patch+json",
                "application/merge-patch+json",
            ]
            if not rtype.custom:
                medias.append("application/strategic-merge-patch+json")
        else:
            medias = ["*/*"]
        operation["requestBody"] = {
            "content": {media: {"schema": {"$ref": _REF_V3 + body}} for media in medias},
            "required": True,
        }
    return operation


def _paths(rtype: ResourceType, name: str | None) -> dict[str, Any]:
    prefix = f"/api/{rtype.version}" if not rtype.group else f"/apis/{rtype.group}/{rtype.version}"
    base = (
        f"{prefix}/namespaces/{{namespace}}/{rtype.plural}"
        if rtype.namespaced
        else f"{prefix}/{rtype.plural}"
    )
    common = [_query("pretty")]
    if rtype.namespaced:
        common = [
            _path_param("namespace", "object name and auth scope, such as for teams and projects"),
            *common,
        ]
    item_common = [_path_param("name", f"name of the {rtype.kind}"), *common]
    list_name = name + "List" if name else None
    status = META + "Status"
    paths: dict[str, Any] = {
        base: {
            "get": _operation(rtype, "list or watch objects of kind", "list", _LIST_PARAMS, list_name),
            "post": _operation(rtype, "create a", "post", _WRITE_PARAMS, name, body=name or META + "Patch"),
            "delete": _operation(
                rtype,
                "delete collection of",
                "deletecollection",
                ("dryRun", "gracePeriodSeconds", "propagationPolicy", *_LIST_PARAMS),
                status,
                body=META + "DeleteOptions",
            ),
            "parameters": common,
        },
        f"{base}/{{name}}": {
            "get": _operation(rtype, "read the specified", "get", (), name),
            "put": _operation(
                rtype, "replace the specified", "put", _WRITE_PARAMS, name, body=name or META + "Patch"
            ),
            "patch": _operation(
                rtype,
                "partially update the specified",
                "patch",
                (*_WRITE_PARAMS, "force"),
                name,
                body=META + "Patch",
                patch=True,
            ),
            "delete": _operation(
                rtype,
                "delete a",
                "delete",
                ("dryRun", "gracePeriodSeconds", "propagationPolicy"),
                status,
                body=META + "DeleteOptions",
            ),
            "parameters": item_common,
        },
    }
    for operation in paths[base].values():
        if isinstance(operation, dict) and operation.get("x-kubernetes-action") == "deletecollection":
            operation["operationId"] = (
                f"deleteCollection{'Namespaced' if rtype.namespaced else ''}{rtype.kind}"
            )
    if rtype.namespaced:
        paths[f"{prefix}/{rtype.plural}"] = {
            "get": {
                **_operation(rtype, "list or watch objects of kind", "list", _LIST_PARAMS, list_name),
                "operationId": f"list{rtype.kind}ForAllNamespaces",
            },
            "parameters": [_query("pretty")],
        }
    if rtype.has_status:
        paths[f"{base}/{{name}}/status"] = {
            "get": _operation(rtype, "read status of the specified", "get", (), name),
            "put": _operation(
                rtype,
                "replace status of the specified",
                "put",
                _WRITE_PARAMS,
                name,
                body=name or META + "Patch",
            ),
            "patch": _operation(
                rtype,
                "partially update status of the specified",
                "patch",
                (*_WRITE_PARAMS, "force"),
                name,
                body=META + "Patch",
                patch=True,
            ),
            "parameters": item_common,
        }
    return paths


# ----- Swagger 2.0 ----------------------------------------------------------------------------
def _v2_parameter(param: Schema) -> Schema:
    out = {k: v for k, v in param.items() if k != "schema"}
    out.update(param.get("schema") or {})
    return out


def _v2_operation(operation: Schema) -> Schema:
    out: Schema = {k: v for k, v in operation.items() if k not in ("parameters", "requestBody", "responses")}
    params = [_v2_parameter(p) for p in operation.get("parameters", [])]
    body = operation.get("requestBody")
    if body:
        medias = list(body["content"])
        schema = next(iter(body["content"].values()))["schema"]
        params.insert(0, {"name": "body", "in": "body", "required": True, "schema": schema})
        out["consumes"] = medias
    out["parameters"] = params
    responses: Schema = {}
    for code, response in operation.get("responses", {}).items():
        entry: Schema = {"description": response["description"]}
        if "content" in response:
            entry["schema"] = next(iter(response["content"].values()))["schema"]
        responses[code] = entry
    out["responses"] = responses
    out["produces"] = ["application/json", "application/yaml"]
    out["schemes"] = ["https"]
    return out


def _swagger(paths: dict[str, Any], definitions: dict[str, Schema]) -> Schema:
    v2_paths: dict[str, Any] = {}
    for path, item in paths.items():
        v2_item: Schema = {}
        for key, value in item.items():
            if key == "parameters":
                v2_item[key] = [_v2_parameter(p) for p in value]
            else:
                v2_item[key] = _v2_operation(value)
        v2_paths[path] = v2_item
    document = {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": v2_paths,
        "definitions": dict(sorted(definitions.items())),
        "securityDefinitions": {
            "BearerToken": {
                "type": "apiKey",
                "description": "Bearer Token authentication",
                "name": "authorization",
                "in": "header",
            }
        },
        "security": [{"BearerToken": []}],
    }
    text = json.dumps(document).replace(_REF_V3, _REF_V2)
    result: Schema = json.loads(text)
    return result


# ----- HTTP -----------------------------------------------------------------------------------
_NO_CACHE = "no-cache, private"


def _accepts_json(request: web.Request) -> bool:
    """Whether the Accept header allows JSON (kubectl's v2 client asks for protobuf only)."""
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return True
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("application/json", "*/*", "application/*"):
            return True
    return False


def _not_acceptable(request: web.Request) -> web.Response:
    # The emulator has no protobuf encoder: like a server without that media type, answer 406.
    body = status_object(
        406,
        "NotAcceptable",
        f"only the following media types are accepted: application/json (asked: {request.headers.get('Accept', '')})",
    )
    return web.Response(text=json.dumps(body), status=406, content_type="application/json")


def _document(request: web.Request, data: bytes, etag: str, cache_control: str) -> web.StreamResponse:
    quoted = f'"{etag}"'
    headers = {"Etag": quoted, "Cache-Control": cache_control, "Vary": "Accept"}
    if request.headers.get("If-None-Match") == quoted:
        return web.Response(status=304, headers=headers)
    return web.Response(body=data, status=200, content_type="application/json", headers=headers)


def add_openapi_routes(app: web.Application, store: Any) -> OpenAPIDocuments:
    """Serve `/openapi/v2`, `/openapi/v3` and `/openapi/v3/{api/v1,apis/GROUP/VERSION}` from `store`."""
    documents = OpenAPIDocuments(store)

    async def v2(request: web.Request) -> web.StreamResponse:
        if not _accepts_json(request):
            return _not_acceptable(request)
        data = documents.v2_document()
        return _document(request, data, hashlib.sha512(data).hexdigest().upper(), _NO_CACHE)

    async def v3_index(request: web.Request) -> web.StreamResponse:
        data = json.dumps(documents.v3_index(), sort_keys=True).encode()
        return _document(request, data, hashlib.sha512(data).hexdigest().upper(), _NO_CACHE)

    async def v3_group_version(request: web.Request) -> web.StreamResponse:
        if not _accepts_json(request):
            return _not_acceptable(request)
        path = request.match_info["tail"].strip("/")
        found = documents.v3_document(path)
        if found is None:
            body = status_object(404, "NotFound", "the server could not find the requested resource", {})
            return web.Response(text=json.dumps(body), status=404, content_type="application/json")
        data, digest = found
        asked = request.query.get("hash")
        if asked and asked != digest:
            # An outdated hash: the real server redirects to the document's current address.
            raise web.HTTPMovedPermanently(f"/openapi/v3/{path}?hash={digest}")
        response = _document(request, data, digest, "public, immutable" if asked else _NO_CACHE)
        if asked:
            expires = datetime.now(UTC) + timedelta(days=365)
            response.headers["Expires"] = expires.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return response

    app.router.add_get("/openapi/v2", v2)
    app.router.add_get("/openapi/v3", v3_index)
    app.router.add_get("/openapi/v3/{tail:.+}", v3_group_version)
    return documents
