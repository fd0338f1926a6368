"""`metadata.managedFields`: field sets, their FieldsV1 encoding, and who owns what after a write.

A field set is a set of paths; a path is a tuple of path elements written the way FieldsV1 writes
them: `f:<field>`, `k:<JSON object of the list-map keys>` (an item of a `map` list), `v:<JSON value>`
(an item of a `set` list) and `i:<index>`. The type of each node comes from the object's schema
(the CRD's OpenAPI schema, or a small built-in one), which decides whether a map key is a declared
field, and whether a list is atomic (owned as a whole), a set or a keyed map. Nodes without a
schema (preserved unknown fields) are granular maps and atomic lists.

The rules follow kube-apiserver's field manager:
- an Update (create, PUT, merge/JSON/strategic patch) gives its manager every field it added or
  changed, and takes those fields away from every other manager; removed fields are dropped from
  every manager; a write that changes nothing leaves the entries (and their times) alone;
- an Apply gives its manager exactly the fields of the applied configuration (see `apply.py`);
- `apiVersion`, `kind`, `metadata` itself and the server-set metadata fields are never owned;
- entries are sorted by operation, time, manager, apiVersion and subresource.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .resources import ResourceType

__all__ = [
    "Entry",
    "FieldSet",
    "ManagedFields",
    "Path",
    "UpdateTracker",
    "compare",
    "decode_entries",
    "encode_entries",
    "field_set",
    "manager_from_user_agent",
    "render_path",
    "root_schema",
]

Path = tuple[str, ...]
FieldSet = set[Path]
Schema = dict[str, Any] | None  # None: no schema (granular maps, atomic lists)

FIELD_MANAGER_MAX_LENGTH = 128

_STRING: dict[str, Any] = {"type": "string"}
_STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": _STRING}
_ATOMIC_STRINGS: dict[str, Any] = {"type": "array", "items": _STRING}
_CONDITIONS: dict[str, Any] = {
    "type": "array",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
    "items": {
        "type": "object",
        "properties": dict.fromkeys(("type", "status", "lastTransitionTime", "reason", "message"), _STRING),
    },
}
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "properties": {
        **dict.fromkeys(
            (
                "name",
                "generateName",
                "namespace",
                "selfLink",
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "deletionTimestamp",
            ),
            _STRING,
        ),
        "generation": {"type": "integer"},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "finalizers": {"type": "array", "x-kubernetes-list-type": "set", "items": _STRING},
        "ownerReferences": {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["uid"],
            "items": {
                "type": "object",
                "properties": {
                    **dict.fromkeys(("apiVersion", "kind", "name", "uid"), _STRING),
                    "controller": {"type": "boolean"},
                    "blockOwnerDeletion": {"type": "boolean"},
                },
            },
        },
        "managedFields": {"type": "array", "items": {"type": "object"}},
    },
}
# The fields of the built-in kinds (what the real server's typed schemas declare); kinds not listed
# here accept any field.
_BUILTIN_FIELDS: dict[tuple[str, str], dict[str, Any]] = {
    ("", "secrets"): {
        "data": _STRING_MAP,
        "stringData": _STRING_MAP,
        "type": _STRING,
        "immutable": {"type": "boolean"},
    },
    ("", "configmaps"): {"data": _STRING_MAP, "binaryData": _STRING_MAP, "immutable": {"type": "boolean"}},
    ("", "namespaces"): {
        "spec": {"type": "object", "properties": {"finalizers": _ATOMIC_STRINGS}},
        "status": {"type": "object", "properties": {"phase": _STRING, "conditions": _CONDITIONS}},
    },
    ("coordination.k8s.io", "leases"): {
        "spec": {
            "type": "object",
            "properties": {
                **dict.fromkeys(
                    ("holderIdentity", "acquireTime", "renewTime", "strategy", "preferredHolder"), _STRING
                ),
                "leaseDurationSeconds": {"type": "integer"},
                "leaseTransitions": {"type": "integer"},
            },
        }
    },
    ("", "serviceaccounts"): {
        "secrets": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
        "imagePullSecrets": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
        "automountServiceAccountToken": {"type": "boolean"},
    },
}
# Never owned by anyone (the real server strips these from every manager's set).
STRIPPED: frozenset[Path] = frozenset(
    {
        ("f:apiVersion",),
        ("f:kind",),
        ("f:metadata",),
        *(
            ("f:metadata", f"f:{name}")
            for name in (
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
            )
        ),
    }
)
_SERVER_META = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----- schemas ------------------------------------------------------------------------------------
def root_schema(rtype: ResourceType) -> dict[str, Any]:
    """The schema of a whole object of this type, with ObjectMeta's field rules for `metadata`."""
    top = {"apiVersion": _STRING, "kind": _STRING, "metadata": OBJECT_META}
    if rtype.custom and rtype.schema is not None:
        props = rtype.schema.get("properties") or {}
        return {**rtype.schema, "type": "object", "properties": {**props, **top}}
    fields = _BUILTIN_FIELDS.get(rtype.storage_key)
    if fields is None:
        return {"type": "object", "properties": top, "x-kubernetes-preserve-unknown-fields": True}
    return {"type": "object", "properties": {**fields, **top}}


def child_schema(schema: Schema, key: str) -> tuple[Schema, bool]:
    """The schema of a map entry and whether the key is a declared field."""
    if schema is None:
        return None, False
    props = schema.get("properties") or {}
    if key in props:
        return props[key], True
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        return additional, False
    return None, False


def _accepts(schema: Schema, key: str) -> bool:
    """Whether a map of this schema may hold `key` (false: "field not declared in schema")."""
    if schema is None or key in (schema.get("properties") or {}):
        return True
    if schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("additionalProperties"):
        return True
    return bool(schema.get("x-kubernetes-int-or-string"))


def atomic_map(schema: Schema) -> bool:
    return schema is not None and schema.get("x-kubernetes-map-type") == "atomic"


def list_type(schema: Schema) -> tuple[str, list[str]]:
    if schema is None:
        return "atomic", []
    return schema.get("x-kubernetes-list-type") or "atomic", list(
        schema.get("x-kubernetes-list-map-keys") or []
    )


def items_schema(schema: Schema) -> Schema:
    if schema is None:
        return None
    items = schema.get("items")
    return items if isinstance(items, dict) else None


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class TypedError(Exception):
    """The value does not fit its schema the way structured-merge-diff needs (`.path: problem`)."""


def item_element(schema: Schema, item: Any) -> str | None:
    """The path element of a list item (None for atomic lists)."""
    kind, keys = list_type(schema)
    if kind == "set":
        return "v:" + _json(item)
    if kind == "map":
        if not isinstance(item, dict):
            raise TypedError("expected a map as an element of an associative list")
        missing = [k for k in keys if k not in item]
        if missing:
            raise TypedError(f'associative list with keys has an element that omits key field "{missing[0]}"')
        return "k:" + _json({k: item[k] for k in keys})
    return None


def _indexed(schema: Schema, items: list[Any], *, strict: bool) -> Iterator[tuple[str, Any]]:
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            element = item_element(schema, item)
        except TypedError:
            if strict:
                raise
            element = f"i:{index}"
        assert element is not None
        if element in seen:
            if strict:
                raise TypedError(f"duplicate entries for key {render_path((element,))}")
            continue
        seen.add(element)
        yield element, item


# ----- paths --------------------------------------------------------------------------------------
def _go_quote(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else _json(value)


def render_path(path: Iterable[str]) -> str:
    """A path as the real server prints it in conflict messages: `.spec.x`, `[type="Ready"]`."""
    out = ""
    for element in path:
        kind, text = element[:2], element[2:]
        if kind == "f:":
            out += "." + text
        elif kind == "k:":
            keys = json.loads(text)
            out += "[" + ",".join(f"{k}={_go_quote(v)}" for k, v in sorted(keys.items())) + "]"
        elif kind == "v:":
            out += f"[={_go_quote(json.loads(text))}]"
        else:
            out += f"[{text}]"
    return out


def _element_sort_key(element: str) -> tuple[int, Any]:
    order = {"f:": 0, "k:": 1, "v:": 2, "i:": 3}.get(element[:2], 4)
    if element.startswith("i:") and element[2:].isdigit():
        return order, int(element[2:])
    return order, element


def encode(paths: FieldSet) -> dict[str, Any]:
    """A field set as FieldsV1 (`{"f:spec": {".": {}, "f:x": {}}}`)."""
    tree: dict[str, Any] = {}
    members: set[int] = set()
    for path in paths:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        members.add(id(node))

    def render(node: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if node and id(node) in members:
            out["."] = {}
        for element in sorted(node, key=_element_sort_key):
            out[element] = render(node[element])
        return out

    return render(tree)


def decode(fields: Any, prefix: Path = ()) -> FieldSet:
    """FieldsV1 back to a field set (ValueError when it is not FieldsV1)."""
    if not isinstance(fields, dict):
        raise ValueError("FieldsV1 must be a JSON object")
    result: FieldSet = set()
    for element, child in fields.items():
        if element == ".":
            result.add(prefix)
            continue
        if element[:2] not in ("f:", "k:", "v:", "i:"):
            raise ValueError(f"unknown path element {element!r}")
        if not isinstance(child, dict):
            raise ValueError("FieldsV1 nodes must be JSON objects")
        if child:
            result |= decode(child, (*prefix, element))
        else:
            result.add((*prefix, element))
    return result


# ----- sets of a value, comparisons, removal --------------------------------------------------------
def field_set(value: Any, schema: Schema, *, strict: bool = False, path: Path = ()) -> FieldSet:
    """Every field a value sets: leaves, atomic lists and maps, list items, undeclared map keys.

    With `strict`, fields the schema does not declare raise TypedError (as an applied
    configuration's do on the real server)."""
    result: FieldSet = set()
    if isinstance(value, dict):
        if atomic_map(schema):
            return {path}
        for key, item in value.items():
            if strict and not _accepts(schema, key):
                raise TypedError(f"{render_path((*path, f'f:{key}'))}: field not declared in schema")
            sub, declared = child_schema(schema, key)
            child_path = (*path, f"f:{key}")
            result |= field_set(item, sub, strict=strict, path=child_path)
            if item is None or item == {} or not declared:
                result.add(child_path)
        return result
    if isinstance(value, list):
        kind, _ = list_type(schema)
        if kind == "atomic":
            return {path}
        items = items_schema(schema)
        try:
            for element, item in _indexed(schema, value, strict=strict):
                child_path = (*path, element)
                result |= field_set(item, items, strict=strict, path=child_path)
                result.add(child_path)
        except TypedError as exc:
            if str(exc).startswith("."):
                raise
            raise TypedError(f"{render_path(path)}: {exc}") from exc
        return result
    return {path}


@dataclass
class Comparison:
    added: FieldSet = field(default_factory=set)
    modified: FieldSet = field(default_factory=set)
    removed: FieldSet = field(default_factory=set)

    def changed(self) -> FieldSet:
        return self.added | self.modified


_ABSENT = object()


def compare(old: Any, new: Any, schema: Schema) -> Comparison:
    """What changed between two values: added, modified (leaves) and removed paths."""
    result = Comparison()
    _compare(old, new, schema, (), result)
    return result


def _leaf(old: Any, new: Any, path: Path, result: Comparison) -> None:
    if old is _ABSENT:
        result.added.add(path)
    elif new is _ABSENT:
        result.removed.add(path)
    elif old != new or type(old) is not type(new):
        result.modified.add(path)


def _compare(old: Any, new: Any, schema: Schema, path: Path, result: Comparison) -> None:
    present = [v for v in (old, new) if v is not _ABSENT]
    if all(isinstance(v, dict) for v in present) and not atomic_map(schema):
        if all(not v for v in present):
            _leaf(old, new, path, result)
            return
        old_map = old if isinstance(old, dict) else {}
        new_map = new if isinstance(new, dict) else {}
        for key in {**old_map, **new_map}:
            sub, _ = child_schema(schema, key)
            _compare(old_map.get(key, _ABSENT), new_map.get(key, _ABSENT), sub, (*path, f"f:{key}"), result)
    elif all(isinstance(v, list) for v in present) and list_type(schema)[0] != "atomic":
        if all(not v for v in present):
            _leaf(old, new, path, result)
            return
        items = items_schema(schema)
        old_items = dict(_indexed(schema, old if isinstance(old, list) else [], strict=False))
        new_items = dict(_indexed(schema, new if isinstance(new, list) else [], strict=False))
        for element in {**old_items, **new_items}:
            _compare(
                old_items.get(element, _ABSENT),
                new_items.get(element, _ABSENT),
                items,
                (*path, element),
                result,
            )
    else:
        _leaf(old, new, path, result)
        return
    if path and old is _ABSENT:
        result.added.add(path)
    elif path and new is _ABSENT:
        result.removed.add(path)


def _schema_at(schema: Schema, path: Path) -> tuple[Schema, bool]:
    declared = False
    for element in path:
        if element.startswith("f:"):
            schema, declared = child_schema(schema, element[2:])
        else:
            schema, declared = items_schema(schema), False
    return schema, declared


def with_named_parents(paths: FieldSet, schema: Schema) -> FieldSet:
    """The set plus every declared field on the way to its paths (they count as owned for removal)."""
    result = set(paths)
    for path in paths:
        for length in range(1, len(path)):
            prefix = path[:length]
            if prefix[-1].startswith("f:") and _schema_at(schema, prefix)[1]:
                result.add(prefix)
    return result


def remove_path(value: Any, path: Path, schema: Schema) -> None:
    """Remove the node at `path` (and everything below it) from `value`, if present."""
    if not path:
        return
    parent: Any = value
    for element in path[:-1]:
        parent = _step(parent, element, schema)
        schema = _schema_at(schema, (element,))[0]
        if parent is None:
            return
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif isinstance(parent, list):
        for index, item in enumerate(parent):
            if _matches(schema, item, index, last):
                del parent[index]
                return


def _matches(schema: Schema, item: Any, index: int, element: str) -> bool:
    if element.startswith("i:"):
        return element == f"i:{index}"
    try:
        return item_element(schema, item) == element
    except TypedError:
        return False


def _step(node: Any, element: str, schema: Schema) -> Any:
    if element.startswith("f:"):
        return node.get(element[2:]) if isinstance(node, dict) else None
    if isinstance(node, list):
        for index, item in enumerate(node):
            if _matches(schema, item, index, element):
                return item
    return None


# ----- entries ------------------------------------------------------------------------------------
@dataclass
class Entry:
    """One managedFields entry."""

    manager: str
    operation: str  # Apply | Update
    api_version: str
    fields: FieldSet
    time: str | None = None
    subresource: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Who this entry is: appliers are one entry whatever apiVersion they used."""
        version = "" if self.operation == "Apply" else self.api_version
        return self.manager, self.operation, version, self.subresource

    def describe(self) -> str:
        """The manager as conflict messages name it."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text


ManagedFields = dict[tuple[str, str, str, str], Entry]


def decode_entries(raw: Any) -> ManagedFields:
    """Stored or submitted managedFields as entries (ValueError when they are not valid)."""
    if not isinstance(raw, list):
        raise ValueError("managedFields must be a list")
    result: ManagedFields = {}
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("a managedFields entry must be an object")
        fields_type = item.get("fieldsType")
        if item.get("fieldsV1") is not None and fields_type != "FieldsV1":
            raise ValueError(f"unsupported fieldsType {fields_type!r}")
        entry = Entry(
            manager=str(item.get("manager") or ""),
            operation=str(item.get("operation") or ""),
            api_version=str(item.get("apiVersion") or ""),
            fields=decode(item.get("fieldsV1") or {}),
            time=item.get("time") or None,
            subresource=str(item.get("subresource") or ""),
        )
        if entry.key in result:
            raise ValueError(f"duplicate manager entry {entry.key}")
        result[entry.key] = entry
    return result


def encode_entries(entries: ManagedFields) -> list[dict[str, Any]]:
    """Entries as `metadata.managedFields`, in the real server's order."""

    def order(entry: Entry) -> tuple[str, str, str, str, str]:
        return entry.operation, entry.time or "", entry.manager, entry.api_version, entry.subresource

    out = []
    for entry in sorted(entries.values(), key=order):
        item: dict[str, Any] = {"manager": entry.manager, "operation": entry.operation}
        item["apiVersion"] = entry.api_version
        if entry.time:
            item["time"] = entry.time
        item["fieldsType"] = "FieldsV1"
        item["fieldsV1"] = encode(entry.fields)
        if entry.subresource:
            item["subresource"] = entry.subresource
        out.append(item)
    return out


def manager_from_user_agent(user_agent: str) -> str:
    """The manager of a write without `fieldManager`: the User-Agent up to its first '/'."""
    prefix = user_agent.split("/")[0]
    printable = "".join(ch for ch in prefix if ch.isprintable())
    return printable.encode()[:FIELD_MANAGER_MAX_LENGTH].decode(errors="ignore")


def comparable(obj: dict[str, Any] | None) -> dict[str, Any]:
    """An object as the field manager compares it: without the server-maintained metadata."""
    if obj is None:
        return {}
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    meta = out.get("metadata")
    if isinstance(meta, dict):
        out["metadata"] = {k: v for k, v in meta.items() if k not in _SERVER_META}
    return out


def _scoped(paths: FieldSet, subresource: str | None, has_status: bool) -> FieldSet:
    """Drop the fields a write through this endpoint cannot set (status on the main resource, all
    but status through /status) and those nobody owns."""
    if subresource == "status":
        return {p for p in paths if p and p[0] == "f:status"}
    if has_status:
        paths = {p for p in paths if not p or p[0] != "f:status"}
    return {p for p in paths if p and p not in STRIPPED}


def changed_fields(
    rtype: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], subresource: str | None
) -> Comparison:
    cmp = compare(comparable(old), comparable(new), root_schema(rtype))
    cmp.added = _scoped(cmp.added, subresource, rtype.has_status)
    cmp.modified = _scoped(cmp.modified, subresource, rtype.has_status)
    cmp.removed = _scoped(cmp.removed, subresource, rtype.has_status)
    return cmp


def scoped(rtype: ResourceType, paths: FieldSet, subresource: str | None) -> FieldSet:
    return _scoped(paths, subresource, rtype.has_status)


def give_up(entries: ManagedFields, cmp: Comparison, skip: tuple[str, str, str, str] | None) -> None:
    """Removed fields leave every manager; changed ones leave every manager but `skip`."""
    changed = cmp.changed()
    for key, entry in list(entries.items()):
        entry.fields = entry.fields - cmp.removed
        if key != skip:
            entry.fields = entry.fields - changed


def drop_empty(entries: ManagedFields) -> None:
    for key in [k for k, e in entries.items() if not e.fields]:
        del entries[key]


class Tracker:
    """Computes the managedFields of a write's result (see UpdateTracker and apply.ApplyTracker)."""

    def record(
        self,
        rtype: ResourceType,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        submitted: Any,
        subresource: str | None,
    ) -> None:
        raise NotImplementedError

    @staticmethod
    def stored(old: dict[str, Any] | None) -> ManagedFields:
        raw = ((old or {}).get("metadata") or {}).get("managedFields")
        try:
            return decode_entries(raw or [])
        except ValueError:
            return {}

    @staticmethod
    def write(new: dict[str, Any], entries: ManagedFields) -> None:
        meta = new.setdefault("metadata", {})
        encoded = encode_entries(entries)
        if encoded:
            meta["managedFields"] = encoded
        else:
            meta.pop("managedFields", None)


@dataclass
class UpdateTracker(Tracker):
    """An Update operation (create, PUT, merge/strategic/JSON patch) by `manager`."""

    manager: str

    def record(
        self,
        rtype: ResourceType,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        submitted: Any,
        subresource: str | None,
    ) -> None:
        entries = self.stored(old)
        if isinstance(submitted, list) and submitted and not subresource:
            # A client may replace managedFields (`[{}]` clears them); an empty list or entries
            # that do not decode keep the stored ones.
            with contextlib.suppress(ValueError):
                entries = decode_entries(submitted)
        entries = copy.deepcopy(entries)
        cmp = changed_fields(rtype, old, new, subresource)
        give_up(entries, cmp, None)
        changed = cmp.changed()
        if changed:
            entry = Entry(self.manager, "Update", rtype.api_version, set(), None, subresource or "")
            entry = entries.setdefault(entry.key, entry)
            entry.fields = entry.fields | changed
            entry.api_version = rtype.api_version
            entry.time = now()
        drop_empty(entries)
        self.write(new, entries)
