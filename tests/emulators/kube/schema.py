"""Custom resource schemas: pruning, defaulting, OpenAPI v3 validation (jsonschema) and CEL rules (celpy).

The behaviour follows the apiextensions-apiserver: unknown fields are dropped unless
`x-kubernetes-preserve-unknown-fields` is set, `default`s are applied, the structural schema is
checked, and every `x-kubernetes-validations` rule is evaluated where its node has a value
(transition rules that use `oldSelf` only on updates, where the old value exists).
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import celpy
import jsonschema  # type: ignore[import-untyped]
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from .errors import FieldError

__all__ = ["CelRuleError", "compile_rules", "default_and_prune", "validate_object"]

_MISSING = object()
_OLDSELF_RE = re.compile(r"\boldSelf\b")
_ROOT_KEPT = ("apiVersion", "kind", "metadata")


# ----- pruning and defaulting -----------------------------------------------------------------
def default_and_prune(schema: dict[str, Any], value: Any, *, root: bool = True) -> Any:
    """Return `value` with schema defaults applied and unknown fields dropped (a new object)."""
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        result: dict[str, Any] = {}
        for key, item in value.items():
            if key in props:
                if root and key == "metadata":
                    result[key] = copy.deepcopy(item)
                else:
                    result[key] = default_and_prune(props[key], item, root=False)
            elif (root or embedded) and key in _ROOT_KEPT:
                result[key] = copy.deepcopy(item)
            elif isinstance(additional, dict):
                result[key] = default_and_prune(additional, item, root=False)
            elif preserve or additional is True:
                result[key] = copy.deepcopy(item)
        for key, sub in props.items():
            if key not in result and "default" in sub:
                result[key] = default_and_prune(sub, copy.deepcopy(sub["default"]), root=False)
        return result
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            return [default_and_prune(items, item, root=False) for item in value]
        return copy.deepcopy(value)
    return value


# ----- OpenAPI v3 → JSON Schema ---------------------------------------------------------------
def _translate(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_translate(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, val in schema.items():
        if key.startswith("x-kubernetes-") or key in (
            "nullable",
            "default",
            "format",
            "example",
            "externalDocs",
        ):
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: _translate(sub) for name, sub in val.items()}
        else:
            out[key] = _translate(val)
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable"):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(_translate(json.loads(schema_json)))


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    if value is None:
        return "null"
    return str(value)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _schema_errors(schema: dict[str, Any], obj: dict[str, Any]) -> Iterator[FieldError]:
    validator = _validator(json.dumps(schema, sort_keys=True))
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        field = _path(error.absolute_path)
        value = error.instance
        kind = error.validator
        limit = error.validator_value
        if kind == "required":
            match = re.match(r"^'(.*)' is a required property$", error.message)
            missing = match.group(1) if match else str(limit)
            yield FieldError(
                f"{field}.{missing}" if field else missing, "FieldValueRequired", "Required value"
            )
        elif kind == "enum":
            allowed = ", ".join(_render(v) for v in limit if v is not None)
            yield FieldError(
                field,
                "FieldValueNotSupported",
                f"Unsupported value: {_render(value)}: supported values: {allowed}",
            )
        elif kind == "type":
            expected = limit if isinstance(limit, str) else next(t for t in limit if t != "null")
            name = _type_name(value)
            yield FieldError(
                field,
                "FieldValueTypeInvalid",
                f'Invalid value: "{name}": {field} in body must be of type {expected}: "{name}"',
            )
        elif kind == "maxLength":
            yield FieldError(field, "FieldValueTooLong", f"Too long: may not be more than {limit} bytes")
        elif kind == "maxItems":
            yield FieldError(
                field, "FieldValueTooMany", f"Too many: {len(value)}: must have at most {limit} items"
            )
        else:
            phrases = {
                "pattern": f"should match '{limit}'",
                "minLength": f"should be at least {limit} chars long",
                "minItems": f"should have at least {limit} items",
                "minimum": f"should be greater than or equal to {limit}",
                "maximum": f"should be less than or equal to {limit}",
                "minProperties": f"should have at least {limit} properties",
                "maxProperties": f"should have at most {limit} properties",
                "uniqueItems": "shouldn't contain duplicates",
            }
            shown = len(value) if kind in ("minItems",) else value
            detail = f"{field} in body {phrases[kind]}" if kind in phrases else error.message
            yield FieldError(field, "FieldValueInvalid", f"Invalid value: {_render(shown)}: {detail}")


# ----- CEL ------------------------------------------------------------------------------------
class CelRuleError(Exception):
    """A CRD carries a CEL rule that does not compile."""


def _lower_ascii(text: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(str(text).lower())


def _upper_ascii(text: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(str(text).upper())


def _trim(text: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(str(text).strip())


def _split(text: celtypes.StringType, sep: celtypes.StringType) -> celtypes.ListType:
    return celtypes.ListType([celtypes.StringType(p) for p in str(text).split(str(sep))])


def _join(items: celtypes.ListType, sep: celtypes.StringType | None = None) -> celtypes.StringType:
    return celtypes.StringType(("" if sep is None else str(sep)).join(str(i) for i in items))


def _index_of(text: celtypes.StringType, sub: celtypes.StringType) -> celtypes.IntType:
    return celtypes.IntType(str(text).find(str(sub)))


# Kubernetes CEL library functions that cel-python lacks (a subset of the strings extension).
_EXTRA_FUNCTIONS: dict[str, Any] = {
    "lowerAscii": _lower_ascii,
    "upperAscii": _upper_ascii,
    "trim": _trim,
    "split": _split,
    "join": _join,
    "indexOf": _index_of,
}
_ENV = celpy.Environment()
# cel-python logs every evaluation step at DEBUG level, which slows the emulator down in tests that
# capture all logs; its debug output is never needed here.
logging.getLogger("celpy").setLevel(logging.INFO)


@lru_cache(maxsize=1024)
def _program(rule: str) -> celpy.Runner:
    try:
        ast = _ENV.compile(rule)
    except CELParseError as exc:
        raise CelRuleError(f"compilation failed: {exc}") from exc
    return _ENV.program(ast, functions=_EXTRA_FUNCTIONS)


def _iter_rules(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(schema, dict):
        return
    for rule in schema.get("x-kubernetes-validations") or []:
        yield path, rule
    for name, sub in (schema.get("properties") or {}).items():
        yield from _iter_rules(sub, f"{path}.{name}" if path else name)
    if isinstance(schema.get("items"), dict):
        yield from _iter_rules(schema["items"], f"{path}[*]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _iter_rules(schema["additionalProperties"], f"{path}[*]")


def compile_rules(schema: dict[str, Any]) -> list[FieldError]:
    """Compile every CEL rule of a schema; errors for the CRD's own validation."""
    errors = []
    for path, rule in _iter_rules(schema):
        for key in ("rule", "messageExpression"):
            if key not in rule:
                continue
            try:
                _program(rule[key])
            except CelRuleError as exc:
                field = f"spec.validation.openAPIV3Schema.{path}.x-kubernetes-validations[{key}]"
                errors.append(
                    FieldError(field, "FieldValueInvalid", f"Invalid value: {_render(rule[key])}: {exc}")
                )
    return errors


def _cel_eval(rule: str, self_value: Any, old_value: Any) -> Any:
    activation: dict[str, Any] = {"self": json_to_cel(self_value)}
    if old_value is not _MISSING:
        activation["oldSelf"] = json_to_cel(old_value)
    return _program(rule).evaluate(activation)


def _cel_node(schema: dict[str, Any], value: Any, old: Any, path: str, errors: list[FieldError]) -> None:
    for rule in schema.get("x-kubernetes-validations") or []:
        text = rule["rule"]
        if _OLDSELF_RE.search(text) and old is _MISSING:
            continue  # a transition rule: only on updates where the old value exists
        try:
            result = _cel_eval(text, value, old)
            failure = isinstance(result, CELEvalError)
            ok = bool(result) if not failure else False
        except CELEvalError as exc:
            failure, ok, result = True, False, exc
        field = path
        if rule.get("fieldPath"):
            suffix = str(rule["fieldPath"]).lstrip(".")
            field = f"{path}.{suffix}" if path else suffix
        if failure:
            detail = f"{result.args[0] if result.args else result} evaluating rule: {text}"
            errors.append(
                FieldError(field, "FieldValueInvalid", f'Invalid value: "{_type_name(value)}": {detail}')
            )
            continue
        if ok:
            continue
        message = rule.get("message") or f"failed rule: {text}"
        if rule.get("messageExpression"):
            try:
                produced = _cel_eval(rule["messageExpression"], value, old)
                if isinstance(produced, str) and produced.strip():
                    message = str(produced)
            except CELEvalError:
                pass
        reason = rule.get("reason") or "FieldValueInvalid"
        if reason == "FieldValueForbidden":
            body = f"Forbidden: {message}"
        elif reason == "FieldValueRequired":
            body = f"Required value: {message}"
        elif reason == "FieldValueDuplicate":
            body = f"Duplicate value: {message}"
        else:
            body = f'Invalid value: "{_type_name(value)}": {message}'
        errors.append(FieldError(field, reason, body))

    def child(sub: dict[str, Any], item: Any, old_item: Any, sub_path: str) -> None:
        _cel_node(sub, item, old_item, sub_path, errors)

    if isinstance(value, dict):
        old_map = old if isinstance(old, dict) else {}
        props = schema.get("properties") or {}
        for name, sub in props.items():
            if name in value:
                child(sub, value[name], old_map.get(name, _MISSING), f"{path}.{name}" if path else name)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for name, item in value.items():
                if name not in props:
                    child(additional, item, old_map.get(name, _MISSING), f"{path}[{name}]")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        keys = schema.get("x-kubernetes-list-map-keys") or []
        old_by_key: dict[Any, Any] = {}
        if schema.get("x-kubernetes-list-type") == "map" and isinstance(old, list):
            for old_item in old:
                if isinstance(old_item, dict):
                    old_by_key[tuple(old_item.get(k) for k in keys)] = old_item
        for index, item in enumerate(value):
            old_item = _MISSING
            if old_by_key and isinstance(item, dict):
                old_item = old_by_key.get(tuple(item.get(k) for k in keys), _MISSING)
            child(items, item, old_item, f"{path}[{index}]")


def validate_object(
    schema: dict[str, Any], obj: dict[str, Any], old: dict[str, Any] | None, *, only_status: bool = False
) -> list[FieldError]:
    """All schema and CEL errors for a (pruned, defaulted) custom object."""
    checked = {k: v for k, v in obj.items() if k != "metadata"}
    errors = list(
        _schema_errors({k: v for k, v in schema.items() if k != "x-kubernetes-validations"}, checked)
    )
    if only_status:
        errors = [e for e in errors if e.field == "status" or e.field.startswith(("status.", "status["))]
    cel_errors: list[FieldError] = []
    _cel_node(schema, obj, _MISSING if old is None else old, "", cel_errors)
    if only_status:
        cel_errors = [
            e for e in cel_errors if e.field == "status" or e.field.startswith(("status.", "status["))
        ]
    return errors + cel_errors
