"""Server-side apply (`PATCH` with `application/apply-patch+yaml`), as kube-apiserver does it.

The applied configuration (YAML or JSON) is merged into the live object field by field (keyed and
set lists item by item, atomic lists and maps as a whole). Its manager then owns exactly the fields
of that configuration: fields it applied last time and leaves out now are removed from the object
unless another manager owns them too. Changing a field another manager owns is a 409 conflict
naming every such field, unless `force=true`, which takes the fields over. Applying the value a
field already has makes the appliers co-owners. A missing object is created (201).

Request option checks (`fieldManager`, `force`) and the default manager of other writes live here
too; managedFields bookkeeping is in `managedfields.py`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import ApiError, FieldError, invalid
from .managedfields import (
    FIELD_MANAGER_MAX_LENGTH,
    STRIPPED,
    Entry,
    FieldSet,
    Path,
    Schema,
    Tracker,
    TypedError,
    atomic_map,
    changed_fields,
    child_schema,
    comparable,
    compare,
    drop_empty,
    field_set,
    give_up,
    item_element,
    items_schema,
    list_type,
    manager_from_user_agent,
    now,
    remove_path,
    render_path,
    root_schema,
    scoped,
    with_named_parents,
)
from .resources import ResourceType

__all__ = ["APPLY_PATCH", "ApplyTracker", "parse_apply_body", "plan_apply", "request_manager"]

APPLY_PATCH = "application/apply-patch+yaml"
_OPTIONS_KINDS = {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions"}


# ----- request options ----------------------------------------------------------------------------
def _options_invalid(kind: str, errors: list[FieldError]) -> ApiError:
    error = invalid(kind, "meta.k8s.io", "", errors)
    assert error.details is not None
    error.details.pop("name", None)
    return error


def request_manager(method: str, query: Mapping[str, str], user_agent: str, *, apply: bool) -> str:
    """The field manager of a write: `fieldManager`, else the User-Agent's program name.

    Raises the real server's 422 for a missing manager on apply, `force` on other writes, and a
    manager that is too long or not printable."""
    kind = _OPTIONS_KINDS.get(method, "PatchOptions")
    manager = query.get("fieldManager") or ""
    errors: list[FieldError] = []
    if apply and not manager:
        errors.append(
            FieldError("fieldManager", "FieldValueRequired", "Required value: is required for apply patch")
        )
    if not apply and method == "PATCH" and "force" in query:
        errors.append(
            FieldError("force", "FieldValueForbidden", "Forbidden: may not be specified for non-apply patch")
        )
    if len(manager) > FIELD_MANAGER_MAX_LENGTH:
        errors.append(
            FieldError(
                "fieldManager",
                "FieldValueTooLong",
                f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes",
            )
        )
    for index, char in enumerate(manager):
        if not char.isprintable():
            errors.append(
                FieldError(
                    "fieldManager",
                    "FieldValueInvalid",
                    f"Invalid value: {json.dumps(manager)}: invalid character U+{ord(char):04X} (at position {index})",
                )
            )
    if errors:
        raise _options_invalid(kind, errors)
    return manager or manager_from_user_agent(user_agent)


def parse_force(query: Mapping[str, str]) -> bool:
    value = query.get("force")
    if value is None or value.lower() in ("", "false", "0"):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise ApiError.bad_request(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def parse_apply_body(raw: bytes) -> dict[str, Any]:
    """The applied configuration: YAML (JSON is YAML too)."""
    try:
        config = yaml.safe_load(raw.decode()) if raw.strip() else None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ApiError.bad_request(f"error decoding YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise ApiError.bad_request(
            "error decoding YAML: error unmarshaling JSON: while decoding JSON: "
            "json: cannot unmarshal into Go value of type map[string]interface {}"
        )
    return config


# ----- merging and pruning ------------------------------------------------------------------------
def _without_nulls(value: Any, path: Path = ()) -> tuple[Any, list[Path]]:
    """The configuration without `null` map values, and where they were (those fields are removed)."""
    if not isinstance(value, dict):
        return value, []
    out: dict[str, Any] = {}
    nulls: list[Path] = []
    for key, item in value.items():
        if item is None:
            nulls.append((*path, f"f:{key}"))
            continue
        out[key], inner = _without_nulls(item, (*path, f"f:{key}"))
        nulls += inner
    return out, nulls


def merge(live: Any, config: Any, schema: Schema) -> Any:
    """The configuration merged into the live value (a new value)."""
    if isinstance(live, dict) and isinstance(config, dict) and not atomic_map(schema):
        out = copy.deepcopy(live)
        for key, item in config.items():
            out[key] = merge(live.get(key), item, child_schema(schema, key)[0])
        return out
    if isinstance(live, list) and isinstance(config, list) and list_type(schema)[0] != "atomic":
        return _merge_list(live, config, schema)
    return copy.deepcopy(config)


def _merge_list(live: list[Any], config: list[Any], schema: Schema) -> list[Any]:
    """Keyed or set lists: live items keep their place, applied items follow the configuration's order."""
    items = items_schema(schema)

    def element(item: Any) -> str:
        try:
            found = item_element(schema, item)
        except TypedError:
            found = None
        return found or json.dumps(item, sort_keys=True)

    wanted = [element(item) for item in config]
    by_element = dict(zip(wanted, config, strict=True))
    live_by_element = {element(item): item for item in live}
    out: list[Any] = []
    done: set[str] = set()
    position = 0

    def emit_until(stop: str | None) -> None:
        nonlocal position
        while position < len(wanted):
            current = wanted[position]
            position += 1
            if current in done:
                continue
            done.add(current)
            out.append(merge(live_by_element.get(current), by_element[current], items))
            if current == stop:
                return

    for item in live:
        key = element(item)
        if key in done:
            continue
        if key in by_element:
            emit_until(key)
        else:
            out.append(copy.deepcopy(item))
    emit_until(None)
    return out


def _prune(merged: dict[str, Any], last: FieldSet, owned: FieldSet, schema: Schema) -> None:
    """Remove what the applier applied last time and no longer applies, unless someone owns it."""
    owned = with_named_parents(owned, schema)
    for path in sorted(with_named_parents(last, schema) - owned, key=len):
        if path in STRIPPED:
            continue  # metadata itself and its server fields are never removed by apply
        if any(len(other) > len(path) and other[: len(path)] == path for other in owned):
            continue  # someone owns something below it: only the unowned parts go
        remove_path(merged, path, schema)


# ----- apply ----------------------------------------------------------------------------------------
@dataclass
class ApplyTracker(Tracker):
    """managedFields after an apply: the applier owns exactly `fields`."""

    manager: str
    fields: FieldSet

    def record(
        self,
        rtype: ResourceType,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        submitted: Any,
        subresource: str | None,
    ) -> None:
        entries = copy.deepcopy(self.stored(old))
        mine = Entry(self.manager, "Apply", rtype.api_version, set(self.fields), None, subresource or "")
        previous = entries.get(mine.key)
        give_up(entries, changed_fields(rtype, old, new, subresource), mine.key)
        if comparable(old) != comparable(new) or old is None:
            mine.time = now()
        elif previous is not None:
            mine.time = previous.time
        entries[mine.key] = mine
        drop_empty(entries)
        self.write(new, entries)


def _gvk(rtype: ResourceType) -> str:
    return f"{rtype.group}/{rtype.version}, Kind={rtype.kind}"


def _conflict(conflicts: list[tuple[Entry, Path]]) -> ApiError:
    conflicts.sort(key=lambda c: (c[0].describe(), render_path(c[1])))
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {e.describe()}",
            "field": render_path(p),
        }
        for e, p in conflicts
    ]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {entry.describe()}: {render_path(path)}"
    else:
        lines: list[str] = []
        for who in sorted({e.describe() for e, _ in conflicts}):
            lines.append(f"conflicts with {who}:")
            lines += [f"- {render_path(p)}" for e, p in conflicts if e.describe() == who]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


def plan_apply(
    rtype: ResourceType,
    namespace: str | None,
    name: str,
    live: dict[str, Any] | None,
    config: dict[str, Any],
    *,
    manager: str,
    force: bool,
    subresource: str | None,
) -> tuple[dict[str, Any], ApplyTracker]:
    """The object an apply writes (to create when `live` is None) and the tracker that records it.

    Raises the real server's errors: a wrong apiVersion or kind, managedFields in the configuration,
    fields the schema does not declare, and conflicts with other managers (unless `force`)."""
    if config.get("apiVersion") != rtype.api_version:
        raise ApiError.bad_request(
            "Incorrect version specified in apply patch. Specified patch version: "
            f"{config.get('apiVersion') or ''}, expected: {rtype.api_version}"
        )
    if config.get("kind") != rtype.kind:
        if not config.get("kind"):
            raise ApiError.bad_request(f"Object 'Kind' is missing in '{json.dumps(config)[:200]}'")
        raise ApiError.bad_request(
            f"the kind in the data ({config.get('kind')}) does not match the expected kind ({rtype.kind})"
        )
    meta = config.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise ApiError.bad_request("metadata must be an object")
    meta = meta or {}
    if meta.get("managedFields") is not None:
        raise ApiError.bad_request("metadata.managedFields must be nil")
    if meta.get("name") and meta["name"] != name:
        raise ApiError.bad_request(
            f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
        )
    schema = root_schema(rtype)
    config, nulls = _without_nulls(config)
    try:
        applied = scoped(rtype, field_set(config, schema, strict=True), subresource)
    except TypedError as exc:
        where = f"{namespace or ''}/{name}; {_gvk(rtype)}"
        raise ApiError(500, "", f"failed to create typed patch object ({where}): {exc}") from exc
    tracker = ApplyTracker(manager, applied)
    base = live if live is not None else {"apiVersion": rtype.api_version, "kind": rtype.kind}
    merged = merge(base, config, schema)
    merged.setdefault("metadata", {})["name"] = name
    for path in nulls:
        remove_path(merged, path, schema)
    entries = tracker.stored(live)
    mine = Entry(manager, "Apply", rtype.api_version, applied, None, subresource or "")
    others = [entry for key, entry in entries.items() if key != mine.key]
    last = entries.get(mine.key)
    if last is not None:
        owned: FieldSet = set(applied)
        for entry in others:
            owned |= entry.fields
        _prune(merged, last.fields, owned, schema)
    changed = scoped(rtype, compare(comparable(live), comparable(merged), schema).changed(), subresource)
    conflicts = [(entry, path) for entry in others for path in sorted(entry.fields & changed)]
    if conflicts and not force:
        raise _conflict(conflicts)
    return merged, tracker
