"""Generate CustomResourceDefinitions from the models.

The models are the single source of truth; `crds/` holds the generated YAML and a test fails when
it is stale. JSON Schema from pydantic is turned into a structural OpenAPI v3 schema: `$ref`s are
inlined, titles and defaults are dropped (server-side defaults would make GitOps tools report
drift), and `Optional[X]` becomes a non-required `X`.
"""

from __future__ import annotations

import copy
from typing import Any, cast

import yaml
from pydantic import BaseModel

from .base import API_GROUP, API_VERSION, CATEGORY, CustomResource

__all__ = ["crd_for", "crd_yaml", "openapi_schema"]

_DROPPED_KEYS = {"title", "default", "examples"}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]])
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        merged = _inline(target, defs)
        extra_rules = siblings.pop("x-kubernetes-validations", [])
        merged.update(_inline(siblings, defs))
        if extra_rules:
            merged["x-kubernetes-validations"] = merged.get("x-kubernetes-validations", []) + extra_rules
        return merged
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS or key == "$defs":
            continue
        if key == "properties":
            out[key] = {name: _inline(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _inline(value, defs)
    any_of = out.get("anyOf")
    if isinstance(any_of, list):
        non_null = [branch for branch in any_of if branch.get("type") != "null"]
        if len(non_null) == 1 and len(non_null) < len(any_of):
            del out["anyOf"]
            branch = non_null[0]
            rules = out.pop("x-kubernetes-validations", []) + branch.pop("x-kubernetes-validations", [])
            out = {**branch, **out}
            if rules:
                out["x-kubernetes-validations"] = rules
    if out.get("type") == "object" and "additionalProperties" in out and out["additionalProperties"] is False:
        # Structural schemas express "no unknown fields" by pruning, not additionalProperties.
        del out["additionalProperties"]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    return out


def openapi_schema(model: type[Any], *, mode: str = "validation") -> dict[str, Any]:
    """Return the structural OpenAPI v3 schema of a pydantic model.

    Args:
        model: A pydantic model class.
        mode: pydantic JSON schema mode.

    Returns:
        A schema with every reference inlined.
    """
    raw = model.model_json_schema(by_alias=True, mode=mode)
    defs = raw.get("$defs", {})
    schema: dict[str, Any] = _inline(raw, defs)
    return schema


def _status_schema(status_model: type[Any]) -> dict[str, Any]:
    schema = openapi_schema(status_model, mode="serialization")
    # The status is written only by the operator and approvers; list fields are optional.
    schema.pop("required", None)
    return schema


def crd_for(kind: type[CustomResource]) -> dict[str, Any]:
    """Build the CustomResourceDefinition of one kind.

    Args:
        kind: A resource model class.

    Returns:
        The CRD as a plain dict.
    """
    fields = kind.model_fields
    spec_model = cast(type[BaseModel], fields["spec"].annotation)
    status_model = cast(type[BaseModel], fields["status"].annotation)
    spec_schema = openapi_schema(spec_model)
    spec_schema["description"] = (
        spec_schema.get("description", "").strip() or f"Desired state of the {kind.kind_name}."
    )
    status_schema = _status_schema(status_model)
    singular = kind.kind_name.lower()
    columns = [
        {
            "name": column.name,
            "type": column.type,
            "jsonPath": column.json_path,
            **({"priority": column.priority} if column.priority else {}),
            **({"description": column.description} if column.description else {}),
        }
        for column in kind.printer_columns
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{kind.plural}.{API_GROUP}",
            "labels": {"app.kubernetes.io/part-of": "tyk-portal-operator"},
        },
        "spec": {
            "group": API_GROUP,
            "scope": kind.scope,
            "names": {
                "kind": kind.kind_name,
                "listKind": f"{kind.kind_name}List",
                "plural": kind.plural,
                "singular": singular,
                "shortNames": list(kind.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": kind.description,
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def crd_yaml(kind: type[CustomResource]) -> str:
    """Render the CRD of one kind as YAML (stable key order)."""
    return yaml.safe_dump(crd_for(kind), sort_keys=False, width=120)
