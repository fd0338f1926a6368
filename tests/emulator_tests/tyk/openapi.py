"""Validate emulator responses against the published Dashboard and Gateway OpenAPI documents (when present)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
SPEC_PATH = REPO_ROOT.parent / "shared/reference/tyk/dashboard-swagger.yml"
GATEWAY_SPEC_PATH = SPEC_PATH.parent / "gateway-swagger.yml"


def _convert(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable`` becomes a ``null`` type alternative."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in ("nullable", "example", "examples")}
    if node.get("nullable") is True:
        if "$ref" in out:
            return {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def _components() -> dict[str, Any]:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    converted: dict[str, Any] = _convert(spec["components"])
    return converted


def require_spec() -> None:
    if not SPEC_PATH.parent.is_dir():
        pytest.skip(f"Tyk reference folder {SPEC_PATH.parent} is absent; cannot validate against the spec")


def validate(instance: Any, schema_name: str) -> None:
    """Raise ``jsonschema.ValidationError`` if ``instance`` does not fit ``components/schemas/<name>``."""
    require_spec()
    components = _components()
    assert schema_name in components["schemas"], f"spec has no schema {schema_name}"
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    jsonschema.Draft202012Validator(schema).validate(instance)


@functools.cache
def gateway_spec() -> dict[str, Any]:
    """The Gateway's OpenAPI document (``gateway-swagger.yml``), schemas converted to JSON Schema."""
    require_spec()
    spec: dict[str, Any] = yaml.safe_load(GATEWAY_SPEC_PATH.read_text())
    spec["components"] = _convert(spec["components"])
    return spec


def validate_gateway(instance: Any, schema: str | dict[str, Any]) -> None:
    """Like :func:`validate`, against the Gateway document; ``schema`` is a component name or a
    schema that may ``$ref`` the components (e.g. an array of them)."""
    components = gateway_spec()["components"]
    if isinstance(schema, str):
        assert schema in components["schemas"], f"gateway spec has no schema {schema}"
        schema = {"$ref": f"#/components/schemas/{schema}"}
    jsonschema.Draft202012Validator({**schema, "components": components}).validate(instance)
