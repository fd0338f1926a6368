"""Server-side printing: `Accept: application/json;as=Table;g=meta.k8s.io;v=v1` (what `kubectl get` asks).

Custom resources get the real server's table: a Name column, then the CRD version's
`additionalPrinterColumns` (an Age column when it has none), cells evaluated with a JSONPath subset.
Namespaces, Secrets, ConfigMaps, ServiceAccounts and Leases get the columns of kube-apiserver's
printers; other built-in kinds the default table (Name, Created At). `includeObject` decides what
each row carries: `Metadata` (the default, a PartialObjectMetadata), `Object` or `None`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError
from .openapi_types import CREATION_TIMESTAMP_DESCRIPTION, NAME_DESCRIPTION
from .resources import ResourceType

__all__ = ["human_duration", "jsonpath", "negotiate", "printer_columns", "table_version", "to_table"]

Obj = dict[str, Any]
_MISSING = object()


# ----- content negotiation --------------------------------------------------------------------
def table_version(accept: str) -> str | None:
    """The meta.k8s.io version of the Table asked for, or None when plain JSON comes first."""
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        params = dict(p.split("=", 1) for p in pieces[1:] if "=" in p)
        if media not in ("application/json", "*/*", "application/*"):
            continue
        if "as" not in params:
            return None
        if (
            params.get("as") == "Table"
            and params.get("g") == "meta.k8s.io"
            and params.get("v") in ("v1", "v1beta1")
        ):
            return params["v"]
    return None


# ----- durations --------------------------------------------------------------------------------
def human_duration(seconds: float) -> str:
    """apimachinery's HumanDuration: `5s`, `2m3s`, `15m`, `3h20m`, `4d`, `2y30d` ..."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _age(timestamp: Any) -> str:
    if not isinstance(timestamp, str) or not timestamp:
        return "<unknown>"
    try:
        when = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<invalid>"
    return human_duration((datetime.now(UTC) - when).total_seconds())


# ----- a JSONPath subset --------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_\-]+)
      | \[\s*'(?P<quoted>[^']*)'\s*\]
      | \[\s*"(?P<dquoted>[^"]*)"\s*\]
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*\*\s*\]
      | \[\s*\?\(\s*@(?P<fpath>(?:\.[A-Za-z0-9_\-]+)+)\s*(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>"[^"]*"|'[^']*'|-?\d+(?:\.\d+)?|true|false))?\s*\)\s*\]
    """,
    re.VERBOSE,
)


def _steps(path: str) -> list[tuple[str, Any]] | None:
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None  # outside the subset
        if match.group("field") is not None:
            steps.append(("field", match.group("field")))
        elif match.group("quoted") is not None:
            steps.append(("field", match.group("quoted")))
        elif match.group("dquoted") is not None:
            steps.append(("field", match.group("dquoted")))
        elif match.group("index") is not None:
            steps.append(("index", int(match.group("index"))))
        elif match.group("fpath") is not None:
            literal: Any = _MISSING
            if match.group("op"):
                raw = match.group("value")
                literal = raw[1:-1] if raw[0] in "\"'" else json.loads(raw)
            steps.append(("filter", (match.group("fpath").split(".")[1:], match.group("op"), literal)))
        else:
            steps.append(("all", None))
        position = match.end()
    return steps


def _lookup(value: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        return bool({"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op])
    except TypeError:
        return False


def _apply(step: tuple[str, Any], value: Any) -> Iterator[Any]:
    kind, arg = step
    if kind == "field":
        if isinstance(value, dict) and arg in value:
            yield value[arg]
    elif kind == "index":
        if isinstance(value, list) and -len(value) <= arg < len(value):
            yield value[arg]
    elif kind == "all":
        if isinstance(value, list):
            yield from value
        elif isinstance(value, dict):
            yield from value.values()
    else:
        keys, op, literal = arg
        items = value if isinstance(value, list) else [value]
        for item in items:
            found = _lookup(item, keys)
            if found is _MISSING:
                continue
            if op is None or _compare(found, op, literal):
                yield item


def jsonpath(path: str, obj: Any) -> list[Any] | None:
    """All values `path` selects in `obj` (missing keys select nothing); None for unsupported syntax."""
    steps = _steps(path)
    if steps is None:
        return None
    values = [obj]
    for step in steps:
        values = [found for value in values for found in _apply(step, value)]
    return values


def _go_text(value: Any) -> str:
    """How Go's fmt prints a decoded JSON value (what kubectl's jsonpath printer writes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, float):
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_text(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_text(v) for v in value) + "]"
    return str(value)


def _typed_cell(column_type: str, value: Any) -> Any:
    if value is None:
        return None
    if column_type == "string":
        return _go_text(value)
    if column_type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        return _age(value)
    return None


# ----- columns ------------------------------------------------------------------------------------
def _column(name: str, kind: str, description: str, *, fmt: str = "", priority: int = 0) -> Obj:
    return {"name": name, "type": kind, "format": fmt, "description": description, "priority": priority}


_NAME = _column("Name", "string", NAME_DESCRIPTION, fmt="name")
_AGE = _column("Age", "string", CREATION_TIMESTAMP_DESCRIPTION)
CellsFn = Callable[[Obj], list[Any]]


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _builtin_printer(rtype: ResourceType) -> tuple[list[Obj], CellsFn]:
    """kube-apiserver's printer columns for the built-in kinds the emulator serves."""

    def age(obj: Obj) -> str:
        return _age(_meta(obj).get("creationTimestamp"))

    key = (rtype.group, rtype.plural)
    if key == ("", "namespaces"):
        return (
            [_NAME, _column("Status", "string", "The status of the namespace"), _AGE],
            lambda o: [_meta(o).get("name"), (o.get("status") or {}).get("phase", ""), age(o)],
        )
    if key == ("", "secrets"):
        return (
            [
                _NAME,
                _column("Type", "string", "The type of the secret"),
                _column("Data", "string", "The number of entries in the secret"),
                _AGE,
            ],
            lambda o: [_meta(o).get("name"), o.get("type", ""), len(o.get("data") or {}), age(o)],
        )
    if key == ("", "configmaps"):
        return (
            [_NAME, _column("Data", "string", "The number of entries in the configmap"), _AGE],
            lambda o: [
                _meta(o).get("name"),
                len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                age(o),
            ],
        )
    if key == ("", "serviceaccounts"):
        return (
            [_NAME, _column("Secrets", "string", "The number of secrets"), _AGE],
            lambda o: [_meta(o).get("name"), len(o.get("secrets") or []), age(o)],
        )
    if key == ("coordination.k8s.io", "leases"):
        return (
            [_NAME, _column("Holder", "string", "The holder of the lease"), _AGE],
            lambda o: [_meta(o).get("name"), (o.get("spec") or {}).get("holderIdentity", ""), age(o)],
        )
    # rest.NewDefaultTableConvertor
    created = _column("Created At", "date", CREATION_TIMESTAMP_DESCRIPTION)
    return [_NAME, created], lambda o: [_meta(o).get("name"), _meta(o).get("creationTimestamp")]


def _custom_printer(printer_columns: list[Obj]) -> tuple[list[Obj], CellsFn]:
    if not printer_columns:
        printer_columns = [
            {
                "name": "Age",
                "type": "date",
                "jsonPath": ".metadata.creationTimestamp",
                "description": CREATION_TIMESTAMP_DESCRIPTION,
            }
        ]
    columns = [_NAME]
    for column in printer_columns:
        description = column.get("description") or (
            f"Custom resource definition column (in JSONPath format): {column.get('jsonPath', '')}"
        )
        columns.append(
            _column(
                column["name"],
                column.get("type", "string"),
                description,
                fmt=column.get("format", ""),
                priority=int(column.get("priority") or 0),
            )
        )

    def cells(obj: Obj) -> list[Any]:
        row: list[Any] = [_meta(obj).get("name")]
        for column in printer_columns:
            found = jsonpath(str(column.get("jsonPath", "")), obj)
            value = found[0] if found else None
            row.append(_typed_cell(column.get("type", "string"), value))
        return row

    return columns, cells


# ----- the table -------------------------------------------------------------------------------
def _row_object(obj: Obj, include: str, version: str) -> Obj | None:
    if include == "Object":
        return obj
    if include == "None":
        return None
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": copy.deepcopy(_meta(obj)),
    }


def to_table(
    rtype: ResourceType,
    result: Obj,
    *,
    version: str,
    include: str,
    printer_columns: list[Obj] | None,
    no_headers: bool = False,
) -> Obj:
    """A `meta.k8s.io` Table for a list or a single object, as `kubectl get` prints it."""
    if include not in ("", "Metadata", "Object", "None"):
        raise ApiError.bad_request(f'unrecognized includeObject value: "{include}"')
    if rtype.custom:
        columns, cells = _custom_printer(printer_columns or [])
    else:
        columns, cells = _builtin_printer(rtype)
    is_list = isinstance(result.get("items"), list)
    items: list[Obj] = result["items"] if is_list else [result]
    metadata: Obj = {}
    source = _meta(result)
    if source.get("resourceVersion"):
        metadata["resourceVersion"] = source["resourceVersion"]
    if is_list:
        if source.get("continue"):
            metadata["continue"] = source["continue"]
        if source.get("remainingItemCount") is not None:
            metadata["remainingItemCount"] = source["remainingItemCount"]
    table: Obj = {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": metadata}
    if not no_headers:
        table["columnDefinitions"] = columns
    rows = []
    for item in items:
        row: Obj = {"cells": cells(item)}
        embedded = _row_object(item, include, version)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    table["rows"] = rows
    return table


def printer_columns(store: Any, rtype: ResourceType) -> list[Obj]:
    """The `additionalPrinterColumns` of a custom resource's version (from its CRD in the store)."""
    if not rtype.custom:
        return []
    crd = store.objects.get(("apiextensions.k8s.io", "customresourcedefinitions"), {}).get(
        ("", rtype.crd_name)
    )
    for version in ((crd or {}).get("spec") or {}).get("versions") or []:
        if version.get("name") == rtype.version:
            return list(version.get("additionalPrinterColumns") or [])
    return []


def negotiate(request: Any, store: Any, rtype: ResourceType, result: Obj) -> Obj:
    """`result` as the request's Accept header asks: a Table, or unchanged."""
    version = table_version(request.headers.get("Accept", ""))
    if version is None:
        return result
    return to_table(
        rtype,
        result,
        version=version,
        include=request.query.get("includeObject", ""),
        printer_columns=printer_columns(store, rtype),
    )
