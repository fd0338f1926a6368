"""Server-side field validation: the `fieldValidation` query parameter of POST, PUT and PATCH.

Like the real server: unknown fields (those pruning drops) and duplicate JSON fields are reported
as `unknown field "spec.x"` / `duplicate field "x"`. `Strict` answers 400 BadRequest with a
`strict decoding error: ...` message, `Warn` (the default when the parameter is absent, as since
v1.27) accepts the request and sends one `Warning: 299 - "..."` header per problem, `Ignore` says
nothing. Custom resources are checked against their CRD schema; built-in kinds against the
definitions in `openapi_types` (those without one are not checked).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .errors import ApiError
from .openapi import definition_name
from .openapi_types import BUILTIN_DEFINITIONS, META
from .patching import APPLY_PATCH, JSON_PATCH, apply_patch
from .resources import ResourceType

__all__ = [
    "IGNORE",
    "STRICT",
    "WARN",
    "FieldProblems",
    "directive",
    "problems_for_body",
    "problems_for_patch",
    "warning_header",
]

STRICT, WARN, IGNORE = "Strict", "Warn", "Ignore"
_ALLOWED = ("", IGNORE, STRICT, WARN)
_JSON_PATCH_KEYS = ("op", "path", "value", "from")
_ROOT_KEPT = ("apiVersion", "kind", "metadata")


def directive(query: Any, options_kind: str) -> str:
    """The request's directive (Warn when absent); 422 like the real server for an unknown value."""
    value = query.get("fieldValidation", "")
    if value not in _ALLOWED:
        supported = ", ".join(json.dumps(v) for v in _ALLOWED)
        body = f"Unsupported value: {json.dumps(value)}: supported values: {supported}"
        raise ApiError(
            422,
            "Invalid",
            f'{options_kind}.meta.k8s.io "" is invalid: fieldValidation: {body}',
            {
                "group": "meta.k8s.io",
                "kind": options_kind,
                "causes": [{"reason": "FieldValueNotSupported", "message": body, "field": "fieldValidation"}],
            },
        )
    return value or WARN


# ----- duplicate fields -----------------------------------------------------------------------
class _Duplicates:
    def __init__(self) -> None:
        self.found: list[str] = []

    def hook(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                self.found.append(key)
            seen[key] = value
        return seen


def _duplicates(raw: bytes) -> list[str]:
    """The duplicated keys of a JSON document, in document order (innermost objects first)."""
    tracker = _Duplicates()
    try:
        json.loads(raw, object_pairs_hook=tracker.hook)
    except ValueError:
        return []
    return tracker.found


# ----- unknown fields -------------------------------------------------------------------------
def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref` / single `allOf` references into the built-in definitions."""
    while True:
        target = schema.get("$ref")
        if target is None and len(schema.get("allOf") or []) == 1 and not schema.get("properties"):
            target = schema["allOf"][0].get("$ref")
        if not target:
            return schema
        schema = BUILTIN_DEFINITIONS.get(str(target).rsplit("/", 1)[-1], {})


def _unknown(schema: dict[str, Any], value: Any, path: str, *, root: bool = False) -> Iterator[str]:
    schema = _resolve(schema)
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if (root or embedded) and key == "metadata":
                yield from _unknown({"$ref": META + "ObjectMeta"}, item, child)
            elif key in props:
                yield from _unknown(props[key], item, child)
            elif (root or embedded) and key in _ROOT_KEPT:
                continue
            elif isinstance(additional, dict):
                yield from _unknown(additional, item, child)
            elif not (preserve or additional is True):
                yield child
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _unknown(schema["items"], item, f"{path}[{index}]")


def _schema_of(rtype: ResourceType) -> dict[str, Any] | None:
    if rtype.custom:
        return rtype.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    name = definition_name(rtype)
    return BUILTIN_DEFINITIONS.get(name) if name else None


def unknown_fields(rtype: ResourceType, obj: Any) -> list[str]:
    """Paths of the fields of `obj` that the kind's schema does not declare (sorted, as the server)."""
    schema = _schema_of(rtype)
    if schema is None or not isinstance(obj, dict):
        return []
    return sorted(_unknown(schema, obj, "", root=True))


# ----- results --------------------------------------------------------------------------------
class FieldProblems:
    """What a request's field validation found, in the server's order."""

    def __init__(self, messages: list[str], prefix: str) -> None:
        self.messages = messages
        self.prefix = prefix  # what precedes "strict decoding error: ..." in the Strict error

    def enforce(self, mode: str) -> list[str]:
        """Raise the Strict error; return the warnings to send (empty unless Warn)."""
        if not self.messages or mode == IGNORE:
            return []
        if mode == STRICT:
            raise ApiError.bad_request(f"{self.prefix}strict decoding error: {', '.join(self.messages)}")
        return list(self.messages)


def problems_for_body(rtype: ResourceType, raw: bytes, body: Any) -> FieldProblems:
    """Duplicate and unknown fields of a create (POST) or update (PUT) body."""
    messages = [f"duplicate field {json.dumps(key)}" for key in _duplicates(raw)]
    messages += [f"unknown field {json.dumps(path)}" for path in unknown_fields(rtype, body)]
    prefix = f"{rtype.kind} in version {json.dumps(rtype.version)} cannot be handled as a {rtype.kind}: "
    return FieldProblems(messages, prefix)


def problems_for_patch(
    rtype: ResourceType, content_type: str, raw: bytes, patch: Any, current: dict[str, Any] | None
) -> FieldProblems:
    """Duplicate fields of the patch and unknown fields of the patched object."""
    messages: list[str] = []
    if content_type == APPLY_PATCH:
        return FieldProblems([], "")
    if content_type == JSON_PATCH:
        if isinstance(patch, list):
            for operation in patch:
                if isinstance(operation, dict):
                    messages += [
                        f"json patch unknown field {json.dumps(key)}"
                        for key in operation
                        if key not in _JSON_PATCH_KEYS
                    ]
            # Only the operations' own keys: duplicates inside values are lost by the patch library.
            messages += [
                f"json patch duplicate field {json.dumps(key)}"
                for key in _duplicates(raw)
                if key in _JSON_PATCH_KEYS
            ]
    else:
        messages += [f"duplicate field {json.dumps(key)}" for key in _duplicates(raw)]
    if current is not None:
        try:
            patched = apply_patch(content_type, current, patch, custom=rtype.custom)
        except ApiError:
            patched = None  # the store reports the patch's own error
        if patched is not None:
            messages += [f"unknown field {json.dumps(path)}" for path in unknown_fields(rtype, patched)]
    return FieldProblems(messages, "")


def warning_header(message: str) -> str:
    """A `Warning` header value as the real server writes it (code 299, agent "-")."""
    return "299 - " + json.dumps(message)


async def check_request(
    request: Any, rtype: ResourceType, body: Any, options_kind: str, current: dict[str, Any] | None = None
) -> list[str]:
    """Validate a write's fields per its `fieldValidation`; returns the warnings to send."""
    mode = directive(request.query, options_kind)
    if mode == IGNORE:
        return []
    raw: bytes = await request.read()
    if options_kind == "PatchOptions":
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        found = problems_for_patch(rtype, content_type, raw, body, current)
    else:
        found = problems_for_body(rtype, raw, body)
    return found.enforce(mode)


def with_warnings(response: Any, warnings: list[str]) -> Any:
    """Add one `Warning` header per message to an aiohttp response."""
    for message in warnings:
        response.headers.add("Warning", warning_header(message))
    return response
