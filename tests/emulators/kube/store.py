"""The emulated API server's state and semantics: objects, resource versions, watch history,
finalizers, and the controllers a real cluster runs beside it (garbage collector, namespace and
CRD cleanup).

Every method runs on the emulator's event loop thread, so no locking is needed: a request's
whole read-modify-write happens without an `await` in between, which makes it atomic.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import random
import re
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .apply import plan_apply
from .errors import ApiError, FieldError, gone, invalid
from .managedfields import Tracker, UpdateTracker
from .namespaces import (
    IMMORTAL_NAMESPACES,
    deletion_conditions,
    immortal_error,
    resource_label,
    terminating_error,
)
from .patching import apply_patch
from .resources import ResourceRegistry, ResourceType
from .schema import compile_rules, default_and_prune, validate_object
from .selectors import FieldSelector, LabelSelector

__all__ = ["ListOptions", "Store", "Subscriber", "WatchEvent"]

Obj = dict[str, Any]
StorageKey = tuple[str, str]
ObjKey = tuple[str, str]  # (namespace or "", name)

_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_NAME_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
_NAMESPACE_FINALIZER = "kubernetes"
_SYSTEM_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WatchEvent:
    """One change, as kept in the watch history."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    storage: StorageKey
    namespace: str
    obj: Obj
    old: Obj | None  # the previous state, for selector transitions


@dataclass(eq=False)
class Subscriber:
    """A live watch: receives matching events through its queue (None ends the stream)."""

    storage: StorageKey
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    queue: asyncio.Queue[WatchEvent | None] = field(default_factory=asyncio.Queue)

    def matches(self, obj: Obj | None) -> bool:
        return obj is not None and self.labels.matches(obj) and self.fields.matches(obj)

    def translate(self, event: WatchEvent) -> tuple[str, Obj] | None:
        """The event as this watcher sees it, honouring selector transitions; None to skip."""
        if event.storage != self.storage:
            return None
        if self.namespace is not None and event.namespace != self.namespace:
            return None
        now, before = self.matches(event.obj), self.matches(event.old)
        if event.type == "MODIFIED":
            if now and before:
                return "MODIFIED", event.obj
            if now:
                return "ADDED", event.obj
            if before:
                return "DELETED", event.obj
            return None
        return (event.type, event.obj) if now else None


@dataclass
class ListOptions:
    """Query parameters of a list or watch."""

    label_selector: str | None = None
    field_selector: str | None = None
    limit: int = 0
    continue_token: str | None = None


def _meta(obj: Obj) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
        obj["metadata"] = meta
    return meta


def _without(obj: Obj, *keys: str) -> Obj:
    return {k: v for k, v in obj.items() if k not in keys}


class Store:
    """All objects, the global resource version, the watch history and the live watchers."""

    def __init__(self, registry: ResourceRegistry, *, history_limit: int = 10_000) -> None:
        self.registry = registry
        self.history_limit = history_limit
        self.objects: dict[StorageKey, dict[ObjKey, Obj]] = {}
        self.uids: dict[str, tuple[StorageKey, ObjKey]] = {}
        self.rv = 0
        self.history: deque[WatchEvent] = deque()
        self.compacted_rv = 0  # events with rv <= this are gone from the history
        self.subscribers: set[Subscriber] = set()
        self.wake: asyncio.Event | None = None  # created on the loop by run_controllers()
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(
                self._ns_type(), None, {"metadata": {"name": ns}}, tracker=UpdateTracker("kube-apiserver")
            )

    # ----- helpers ------------------------------------------------------------------------------
    def _ns_type(self) -> ResourceType:
        rtype = self.registry.get("", "v1", "namespaces")
        assert rtype is not None
        return rtype

    def _crd_type(self) -> ResourceType:
        rtype = self.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert rtype is not None
        return rtype

    def _bucket(self, rtype: ResourceType) -> dict[ObjKey, Obj]:
        return self.objects.setdefault(rtype.storage_key, {})

    def _present(self, rtype: ResourceType, obj: Obj) -> Obj:
        out = copy.deepcopy(obj)
        out["apiVersion"] = rtype.api_version
        out["kind"] = rtype.kind
        return out

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def _record(self, kind: str, rtype: ResourceType, obj: Obj, old: Obj | None) -> None:
        event = WatchEvent(
            self.rv, kind, rtype.storage_key, obj["metadata"].get("namespace", ""), copy.deepcopy(obj), old
        )
        self.history.append(event)
        while len(self.history) > self.history_limit:
            self.compacted_rv = self.history.popleft().rv
        for sub in list(self.subscribers):
            if sub.storage == event.storage:
                sub.queue.put_nowait(event)
        if self.wake is not None:
            self.wake.set()

    def _kind_label(self, rtype: ResourceType) -> tuple[str, str]:
        return rtype.kind, rtype.group

    def _require_namespace(
        self, rtype: ResourceType, namespace: str | None, name: str, creating: bool
    ) -> None:
        if not rtype.namespaced:
            return
        ns_obj = self.objects.get(("", "namespaces"), {}).get(("", namespace or ""))
        if ns_obj is None:
            raise ApiError.not_found("", "namespaces", namespace or "")
        if creating and ns_obj["metadata"].get("deletionTimestamp"):
            raise terminating_error(rtype, namespace or "", name)

    def _find(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj:
        self._require_namespace(rtype, namespace, name, creating=False)
        obj = self._bucket(rtype).get((namespace or "", name))
        if obj is None:
            raise ApiError.not_found(rtype.group, rtype.plural, name)
        return obj

    # ----- validation and normalisation ---------------------------------------------------------
    def _check_kind(self, rtype: ResourceType, body: Obj) -> None:
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if rtype.custom and (not kind or not api_version):
            missing = "Kind" if not kind else "Version"
            raise ApiError.bad_request(f"Object '{missing}' is missing in '{json.dumps(body)[:200]}'")
        if api_version and api_version != rtype.api_version:
            raise ApiError.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rtype.api_version})"
            )
        if kind and kind != rtype.kind:
            raise ApiError.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
            )

    def _meta_errors(self, rtype: ResourceType, meta: dict[str, Any], *, creating: bool) -> list[FieldError]:
        errors: list[FieldError] = []
        name = meta.get("name") or ""
        if creating:
            if not name:
                errors.append(
                    FieldError(
                        "metadata.name",
                        "FieldValueRequired",
                        "Required value: name or generateName is required",
                    )
                )
            elif rtype.plural == "namespaces":
                if len(name) > 63 or not _LABEL_RE.match(name):
                    errors.append(
                        FieldError(
                            "metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {_LABEL_MSG}'
                        )
                    )
            elif len(name) > 253 or not _SUBDOMAIN_RE.match(name):
                errors.append(
                    FieldError(
                        "metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {_SUBDOMAIN_MSG}'
                    )
                )
        for key, value in (meta.get("labels") or {}).items():
            prefix, _, short = key.rpartition("/")
            if (
                len(short) > 63
                or not _QUALIFIED_NAME_RE.match(short)
                or (prefix and (len(prefix) > 253 or not _SUBDOMAIN_RE.match(prefix)))
            ):
                errors.append(
                    FieldError(
                        "metadata.labels",
                        "FieldValueInvalid",
                        f'Invalid value: "{key}": name part must be valid',
                    )
                )
            if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE_RE.match(value):
                errors.append(
                    FieldError(
                        "metadata.labels",
                        "FieldValueInvalid",
                        f"Invalid value: {json.dumps(value)}: a valid label must be an empty string or consist of "
                        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                    )
                )
        errors.extend(
            FieldError(f"metadata.ownerReferences.{required}", "FieldValueRequired", "Required value")
            for owner in meta.get("ownerReferences") or []
            for required in ("apiVersion", "kind", "name", "uid")
            if not owner.get(required)
        )
        return errors

    def _normalise(
        self, rtype: ResourceType, obj: Obj, old: Obj | None, *, only_status: bool = False
    ) -> list[FieldError]:
        """Kind-specific defaulting and validation; returns field errors."""
        errors: list[FieldError] = []
        if rtype.group == "" and rtype.plural == "secrets":
            data = obj.get("data") or {}
            if not isinstance(data, dict):
                raise ApiError.bad_request("Secret.data must be a map of strings")
            for key, value in list(data.items()):
                try:
                    base64.b64decode(str(value), validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise ApiError.bad_request(
                        f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data for key {key!r}'
                    ) from exc
            for key, value in (obj.pop("stringData", None) or {}).items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            if data:
                obj["data"] = data
            obj["type"] = obj.get("type") or "Opaque"
            if old is not None and old.get("type") != obj["type"]:
                errors.append(
                    FieldError(
                        "type", "FieldValueInvalid", f'Invalid value: "{obj["type"]}": field is immutable'
                    )
                )
        elif rtype.group == "" and rtype.plural == "namespaces":
            meta = obj["metadata"]
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            if old is None:
                obj["spec"] = {"finalizers": [_NAMESPACE_FINALIZER]}
                obj["status"] = {"phase": "Active"}
        elif rtype.plural == "customresourcedefinitions" and rtype.group == "apiextensions.k8s.io":
            errors += self._crd_errors(obj)
        if rtype.custom and rtype.schema:
            pruned = default_and_prune(rtype.schema, obj)
            pruned["metadata"] = obj["metadata"]  # keep the metadata dict itself (callers hold it)
            obj.clear()
            obj.update(pruned)
            errors += validate_object(rtype.schema, obj, old, only_status=only_status)
        return errors

    def _crd_errors(self, crd: Obj) -> list[FieldError]:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        errors = [
            FieldError(f"spec.{key}", "FieldValueRequired", "Required value")
            for key in ("group", "scope")
            if not spec.get(key)
        ]
        errors += [
            FieldError(f"spec.names.{key}", "FieldValueRequired", "Required value")
            for key in ("plural", "kind")
            if not names.get(key)
        ]
        if not spec.get("versions"):
            errors.append(FieldError("spec.versions", "FieldValueRequired", "Required value"))
        if errors:
            return errors
        expected = f"{names['plural']}.{spec['group']}"
        if crd["metadata"].get("name") != expected:
            errors.append(
                FieldError(
                    "metadata.name",
                    "FieldValueInvalid",
                    f'Invalid value: "{crd["metadata"].get("name")}": must be spec.names.plural+"."+spec.group',
                )
            )
        if sum(1 for v in spec["versions"] if v.get("storage")) != 1:
            errors.append(
                FieldError(
                    "spec.versions",
                    "FieldValueInvalid",
                    "Invalid value: must have exactly one version marked as storage version",
                )
            )
        for index, version in enumerate(spec["versions"]):
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema is None:
                errors.append(
                    FieldError(
                        f"spec.versions[{index}].schema.openAPIV3Schema",
                        "FieldValueRequired",
                        "Required value: schemas are required",
                    )
                )
            else:
                errors += compile_rules(schema)
        return errors

    def _crd_status(self, crd: Obj) -> None:
        spec = crd["spec"]
        now = _now()
        storage = [v["name"] for v in spec["versions"] if v.get("storage")]
        previous = (crd.get("status") or {}).get("storedVersions") or []
        conditions = [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                "lastTransitionTime": now,
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                "lastTransitionTime": now,
            },
        ]
        crd["status"] = {
            "conditions": conditions,
            "acceptedNames": copy.deepcopy(spec["names"]),
            "storedVersions": sorted(set(previous) | set(storage)),
        }

    # ----- reads --------------------------------------------------------------------------------
    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj:
        return self._present(rtype, self._find(rtype, namespace, name))

    def _select(self, rtype: ResourceType, namespace: str | None, options: ListOptions) -> Iterator[Obj]:
        labels = LabelSelector.parse(options.label_selector)
        fields = FieldSelector.parse(options.field_selector, rtype.kind)
        for key in sorted(self._bucket(rtype)):
            obj = self._bucket(rtype)[key]
            if namespace is not None and key[0] != namespace:
                continue
            if labels.matches(obj) and fields.matches(obj):
                yield obj

    def list_objects(self, rtype: ResourceType, namespace: str | None, options: ListOptions) -> Obj:
        items = list(self._select(rtype, namespace, options))
        start_after: list[str] | None = None
        if options.continue_token:
            try:
                start_after = json.loads(base64.urlsafe_b64decode(options.continue_token.encode()))["start"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ApiError.bad_request(f"continue key is not valid: {exc}") from exc
        if start_after is not None:
            items = [
                o for o in items if [o["metadata"].get("namespace", ""), o["metadata"]["name"]] > start_after
            ]
        meta: dict[str, Any] = {"resourceVersion": str(self.rv)}
        if options.limit and len(items) > options.limit:
            remaining = len(items) - options.limit
            items = items[: options.limit]
            last = items[-1]["metadata"]
            token = {"rv": self.rv, "start": [last.get("namespace", ""), last["name"]]}
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
            meta["remainingItemCount"] = remaining
        return {
            "kind": rtype.list_kind,
            "apiVersion": rtype.api_version,
            "metadata": meta,
            "items": [self._present(rtype, o) for o in items],
        }

    # ----- writes -------------------------------------------------------------------------------
    def create(
        self,
        rtype: ResourceType,
        namespace: str | None,
        body: Any,
        *,
        dry_run: bool = False,
        tracker: Tracker | None = None,
    ) -> Obj:
        """Create an object; `tracker` records its managedFields (none for the server's own writes)."""
        if not isinstance(body, dict):
            raise ApiError.bad_request("the request body must be a JSON object")
        self._check_kind(rtype, body)
        obj = copy.deepcopy(body)
        meta = _meta(obj)
        if rtype.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiError.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(_NAME_SUFFIX_CHARS, k=5))
        name = meta.get("name") or ""
        self._require_namespace(rtype, namespace, name, creating=True)
        crd_name = rtype.crd_name
        if crd_name:
            crd = self.objects.get(self._crd_type().storage_key, {}).get(("", crd_name))
            if crd is not None and crd["metadata"].get("deletionTimestamp"):
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    "create not allowed while custom resource definition is terminating",
                )
        submitted_fields = meta.get("managedFields")
        for key in ("resourceVersion", "managedFields", "selfLink", *_SYSTEM_META):
            meta.pop(key, None)
        if rtype.has_status and rtype.custom:
            obj.pop("status", None)
        errors = self._meta_errors(rtype, meta, creating=True)
        if not errors:
            errors += self._normalise(rtype, obj, None)
        if errors:
            kind, group = self._kind_label(rtype)
            raise invalid(kind, group, name, errors)
        if (namespace or "", name) in self._bucket(rtype):
            raise ApiError.already_exists(rtype.group, rtype.plural, name)
        if tracker is not None:
            # The namespace finalizer and phase are the server's (not the creator's) unless asked for.
            owned = obj if "spec" in body or rtype.plural != "namespaces" else _without(obj, "spec")
            tracker.record(rtype, None, owned, submitted_fields, None)
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        if rtype.has_generation:
            meta["generation"] = 1
        if rtype.plural == "customresourcedefinitions" and not rtype.custom:
            self._crd_status(obj)
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        if dry_run:
            meta["resourceVersion"] = str(self.rv)
            return self._present(rtype, obj)
        meta["resourceVersion"] = str(self._next_rv())
        self._bucket(rtype)[(namespace or "", name)] = obj
        self.uids[meta["uid"]] = (rtype.storage_key, (namespace or "", name))
        if rtype.plural == "customresourcedefinitions" and not rtype.custom:
            self.registry.set_crd(obj)
        self._record("ADDED", rtype, obj, None)
        return self._present(rtype, obj)

    def replace(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        subresource: str | None,
        dry_run: bool = False,
        tracker: Tracker | None = None,
    ) -> Obj:
        if not isinstance(body, dict):
            raise ApiError.bad_request("the request body must be a JSON object")
        old = self._find(rtype, namespace, name)
        self._check_kind(rtype, body)
        if rtype.custom and not (body.get("metadata") or {}).get("resourceVersion"):
            # Custom resources do not allow unconditional updates (built-in kinds such as Secrets do).
            error = FieldError(
                "metadata.resourceVersion",
                "FieldValueInvalid",
                "Invalid value: 0x0: must be specified for an update",
            )
            raise invalid(rtype.kind, rtype.group, name, [error])
        return self._update(
            rtype, old, copy.deepcopy(body), subresource=subresource, dry_run=dry_run, tracker=tracker
        )

    def patch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        patch: Any,
        *,
        subresource: str | None,
        dry_run: bool = False,
        tracker: Tracker | None = None,
    ) -> Obj:
        old = self._find(rtype, namespace, name)
        current = self._present(rtype, old)
        patched = apply_patch(content_type, current, patch, custom=rtype.custom)
        return self._update(rtype, old, patched, subresource=subresource, dry_run=dry_run, tracker=tracker)

    def server_side_apply(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        config: Obj,
        *,
        manager: str,
        force: bool,
        subresource: str | None,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Server-side apply (see apply.py); returns the object and whether it was created."""
        self._require_namespace(rtype, namespace, name, creating=False)
        old = self._bucket(rtype).get((namespace or "", name))
        if old is None and subresource is not None:
            raise ApiError.not_found(rtype.group, rtype.plural, name)
        live = None if old is None else self._present(rtype, old)
        body, tracker = plan_apply(
            rtype, namespace, name, live, config, manager=manager, force=force, subresource=subresource
        )
        if old is None:
            return self.create(rtype, namespace, body, dry_run=dry_run, tracker=tracker), True
        return self._update(
            rtype, old, body, subresource=subresource, dry_run=dry_run, tracker=tracker
        ), False

    def _update(
        self,
        rtype: ResourceType,
        old: Obj,
        new: Obj,
        *,
        subresource: str | None,
        dry_run: bool,
        tracker: Tracker | None = None,
    ) -> Obj:
        """Write `new` over `old`; `tracker` records managedFields (none: the server's own writes keep them)."""
        old_meta = old["metadata"]
        name, namespace = old_meta["name"], old_meta.get("namespace")
        meta = _meta(new)
        submitted_fields = meta.get("managedFields")
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv and str(wanted_rv) != old_meta["resourceVersion"]:
            raise ApiError.conflict(
                rtype.group,
                rtype.plural,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        if meta.get("name", name) != name:
            raise ApiError.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        if rtype.namespaced and meta.get("namespace", namespace) != namespace:
            raise ApiError.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif rtype.has_status:
            new.pop("status", None)
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
        meta = _meta(new)
        meta["name"] = name
        if namespace is not None:
            meta["namespace"] = namespace
        for key in ("managedFields", "selfLink", *_SYSTEM_META):
            meta.pop(key, None)
            if key in old_meta:
                meta[key] = copy.deepcopy(old_meta[key])
        meta["resourceVersion"] = old_meta["resourceVersion"]
        new["apiVersion"], new["kind"] = rtype.api_version, rtype.kind
        if rtype.plural == "customresourcedefinitions" and not rtype.custom:
            new["status"] = copy.deepcopy(old.get("status"))
        errors = self._meta_errors(rtype, meta, creating=False)
        if not errors:
            errors += self._normalise(
                rtype, new, self._present(rtype, old), only_status=subresource == "status"
            )
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
            if added:
                errors.append(
                    FieldError(
                        "metadata.finalizers",
                        "FieldValueForbidden",
                        "Forbidden: no new finalizers can be added if the object is being deleted, found new "
                        f"finalizers {json.dumps(sorted(added))}",
                    )
                )
        if errors:
            kind, group = self._kind_label(rtype)
            raise invalid(kind, group, name, errors)
        if rtype.plural == "customresourcedefinitions" and not rtype.custom:
            self._crd_status(new)
            new["status"]["conditions"] = copy.deepcopy(
                (old.get("status") or {}).get("conditions", new["status"]["conditions"])
            )
        if tracker is not None:
            tracker.record(rtype, self._present(rtype, old), new, submitted_fields, subresource)
        if new == self._present(rtype, old):
            return self._present(rtype, old)  # a no-op write changes nothing, not even the resourceVersion
        if rtype.has_generation and "generation" in old_meta:
            ignored = ("metadata", "status") if rtype.has_status else ("metadata",)
            if _without(new, *ignored, "apiVersion", "kind") != _without(old, *ignored, "apiVersion", "kind"):
                meta["generation"] = old_meta["generation"] + 1
        if dry_run:
            return self._present(rtype, new)
        if old_meta.get("deletionTimestamp") and not meta.get("finalizers") and not self._held(rtype, new):
            return self._remove(rtype, old, new)
        meta["resourceVersion"] = str(self._next_rv())
        self._bucket(rtype)[(namespace or "", name)] = new
        if rtype.plural == "customresourcedefinitions" and not rtype.custom:
            self.registry.set_crd(new)
        self._record("MODIFIED", rtype, new, copy.deepcopy(old))
        return self._present(rtype, new)

    def _held(self, rtype: ResourceType, obj: Obj) -> bool:
        """Whether a deleting object is still held by a server-side finalizer (namespaces)."""
        if rtype.group == "" and rtype.plural == "namespaces":
            return bool((obj.get("spec") or {}).get("finalizers"))
        return False

    def _remove(self, rtype: ResourceType, old: Obj, final: Obj) -> Obj:
        """Delete an object from storage for real, with a DELETED event."""
        meta = final["metadata"]
        key = (meta.get("namespace") or "", meta["name"])
        meta["resourceVersion"] = str(self._next_rv())
        self._bucket(rtype).pop(key, None)
        self.uids.pop(meta["uid"], None)
        if rtype.plural == "customresourcedefinitions" and not rtype.custom:
            self.registry.remove_crd(meta["name"])
            storage = (final["spec"]["group"], final["spec"]["names"]["plural"])
            self.objects.pop(storage, None)
            for sub in list(self.subscribers):
                if sub.storage == storage:
                    sub.queue.put_nowait(None)  # the resource is no longer served: end its watches
        self._record("DELETED", rtype, final, copy.deepcopy(old))
        return self._present(rtype, final)

    def delete(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        options: dict[str, Any],
        *,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Delete (or mark for deletion); returns the object and whether it is gone."""
        old = self._find(rtype, namespace, name)
        if rtype.group == "" and rtype.plural == "namespaces" and name in IMMORTAL_NAMESPACES:
            raise immortal_error(name)
        meta = old["metadata"]
        preconditions = options.get("preconditions") or {}
        for key in ("uid", "resourceVersion"):
            if preconditions.get(key) and preconditions[key] != meta.get(key):
                raise ApiError.conflict(
                    rtype.group,
                    rtype.plural,
                    name,
                    f"Precondition failed: {key.replace('resourceVersion', 'ResourceVersion').replace('uid', 'UID')} "
                    f"in precondition: {preconditions[key]}, {key} in object meta: {meta.get(key)}",
                )
        if dry_run:
            return self._present(rtype, old), False
        new = copy.deepcopy(old)
        new_meta = new["metadata"]
        is_namespace = rtype.group == "" and rtype.plural == "namespaces"
        is_crd = rtype.plural == "customresourcedefinitions" and not rtype.custom
        if is_crd and _CRD_CLEANUP_FINALIZER not in (new_meta.get("finalizers") or []):
            new_meta.setdefault("finalizers", []).append(_CRD_CLEANUP_FINALIZER)
        if new_meta.get("finalizers") or is_namespace:
            if new_meta.get("deletionTimestamp"):
                return self._present(rtype, old), False
            if rtype.has_generation and "generation" in new_meta:
                new_meta["generation"] += 1
            new_meta["deletionTimestamp"] = _now()
            new_meta["deletionGracePeriodSeconds"] = 0
            if is_namespace:
                new.setdefault("status", {})["phase"] = "Terminating"
            new_meta["resourceVersion"] = str(self._next_rv())
            self._bucket(rtype)[(namespace or "", name)] = new
            self._record("MODIFIED", rtype, new, copy.deepcopy(old))
            return self._present(rtype, new), False
        if options.get("propagationPolicy") == "Orphan" or options.get("orphanDependents") is True:
            self._orphan(meta["uid"])
        return self._remove(rtype, old, new), True

    def _try_delete(
        self, rtype: ResourceType, namespace: str | None, name: str, options: dict[str, Any]
    ) -> None:
        with contextlib.suppress(ApiError):
            self.delete(rtype, namespace, name, options)

    def _orphan(self, uid: str) -> None:
        for (group, plural), bucket in list(self.objects.items()):
            for obj in list(bucket.values()):
                refs = obj["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    rtype = self._any_type(group, plural)
                    if rtype is None:
                        continue
                    new = copy.deepcopy(obj)
                    new["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid] or None
                    if new["metadata"]["ownerReferences"] is None:
                        del new["metadata"]["ownerReferences"]
                    new["metadata"]["resourceVersion"] = str(self._next_rv())
                    bucket[(obj["metadata"].get("namespace") or "", obj["metadata"]["name"])] = new
                    self._record("MODIFIED", rtype, new, copy.deepcopy(obj))

    def _any_type(self, group: str, plural: str) -> ResourceType | None:
        types = self.registry.storage_types(group, plural)
        return types[0] if types else None

    def delete_collection(
        self, rtype: ResourceType, namespace: str | None, options: ListOptions, delete_options: dict[str, Any]
    ) -> Obj:
        listing = self.list_objects(rtype, namespace, options)
        for item in listing["items"]:
            self._try_delete(
                rtype, item["metadata"].get("namespace"), item["metadata"]["name"], delete_options
            )
        return listing

    # ----- controllers (what kube-controller-manager and the apiextensions controllers do) -------
    def reconcile_once(self) -> None:
        """One pass of the garbage collector, the namespace lifecycle and the CRD cleanup."""
        for (group, plural), bucket in list(self.objects.items()):
            rtype = self._any_type(group, plural)
            if rtype is None:
                continue
            for key, obj in list(bucket.items()):
                meta = obj["metadata"]
                refs = meta.get("ownerReferences") or []
                if (
                    refs
                    and not meta.get("deletionTimestamp")
                    and all(r.get("uid") not in self.uids for r in refs)
                ):
                    self._try_delete(rtype, key[0] or None, key[1], {})
        namespaces = self.objects.get(("", "namespaces"), {})
        for (_, ns_name), ns_obj in list(namespaces.items()):
            if not ns_obj["metadata"].get("deletionTimestamp"):
                continue
            remaining = 0
            left: Counter[str] = Counter()  # objects still there per resource, for status.conditions
            held: Counter[str] = Counter()  # ... and per finalizer
            for (group, plural), bucket in list(self.objects.items()):
                rtype = self._any_type(group, plural)
                if rtype is None or not rtype.namespaced:
                    continue
                for key, obj in list(bucket.items()):
                    if key[0] != ns_name:
                        continue
                    remaining += 1
                    if not obj["metadata"].get("deletionTimestamp"):
                        self._try_delete(rtype, ns_name, key[1], {})
                    if key in bucket:
                        left[resource_label(rtype)] += 1
                        held.update(bucket[key]["metadata"].get("finalizers") or [])
            if left:
                before = (ns_obj.get("status") or {}).get("conditions")
                conditions = deletion_conditions(before or [], left, held)
                if conditions != before:
                    ns_type = self._ns_type()
                    new = self._present(ns_type, ns_obj)
                    new.setdefault("status", {})["conditions"] = conditions
                    self._update(ns_type, ns_obj, new, subresource="status", dry_run=False)
                    ns_obj = namespaces[("", ns_name)]
            if remaining == 0 and (ns_obj.get("spec") or {}).get("finalizers"):
                ns_type = self._ns_type()
                new = copy.deepcopy(ns_obj)
                new["spec"]["finalizers"] = []
                self._update(
                    ns_type, ns_obj, self._present(ns_type, new), subresource="finalize", dry_run=False
                )
        crds = self.objects.get(self._crd_type().storage_key, {})
        for crd in list(crds.values()):
            meta = crd["metadata"]
            if not meta.get("deletionTimestamp") or _CRD_CLEANUP_FINALIZER not in (
                meta.get("finalizers") or []
            ):
                continue
            storage = (crd["spec"]["group"], crd["spec"]["names"]["plural"])
            rtype = self._any_type(*storage)
            bucket = self.objects.get(storage, {})
            if rtype is not None:
                for key, obj in list(bucket.items()):
                    if not obj["metadata"].get("deletionTimestamp"):
                        self._try_delete(rtype, key[0] or None, key[1], {})
            if not self.objects.get(storage):
                crd_type = self._crd_type()
                new = self._present(crd_type, crd)
                new["metadata"]["finalizers"] = [f for f in meta["finalizers"] if f != _CRD_CLEANUP_FINALIZER]
                self._update(crd_type, crd, new, subresource=None, dry_run=False)

    async def run_controllers(self) -> None:
        """Run the controllers whenever something changed (promptly, on the emulator's loop)."""
        self.wake = asyncio.Event()
        while True:
            await self.wake.wait()
            self.wake.clear()
            self.reconcile_once()
            await asyncio.sleep(0.01)

    # ----- watches ------------------------------------------------------------------------------
    def subscribe(
        self,
        rtype: ResourceType,
        namespace: str | None,
        options: ListOptions,
        since: str | None,
        initial: bool,
    ) -> tuple[Subscriber, list[tuple[str, Obj]]]:
        """Register a watcher; returns it with the events to send first (replayed or synthetic).

        Raises ApiError 410 when `since` is older than the kept history.
        """
        sub = Subscriber(
            rtype.storage_key,
            namespace,
            LabelSelector.parse(options.label_selector),
            FieldSelector.parse(options.field_selector, rtype.kind),
        )
        backlog: list[tuple[str, Obj]] = []
        if since in (None, "", "0") or initial:
            backlog = [("ADDED", o) for o in self._select(rtype, namespace, options)]
        else:
            try:
                since_rv = int(str(since))
            except ValueError as exc:
                raise ApiError.bad_request(f"invalid resource version: {since}") from exc
            if since_rv < self.compacted_rv:
                raise gone(f"too old resource version: {since_rv} ({self.compacted_rv + 1})")
            for event in self.history:
                if event.rv > since_rv:
                    seen = sub.translate(event)
                    if seen is not None:
                        backlog.append(seen)
        self.subscribers.add(sub)
        return sub, [(kind, self._present(rtype, obj)) for kind, obj in backlog]

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def close_watches(self) -> None:
        for sub in list(self.subscribers):
            sub.queue.put_nowait(None)
