"""Server-side field validation (`fieldValidation=Strict|Warn|Ignore`) as kube-apiserver v1.27+ does it.

Unknown fields are those pruning would drop; duplicates are reported by key. Strict answers 400 with
`strict decoding error: ...` (prefixed by `<Kind> in version "<v>" cannot be handled as a <Kind>: `
for create and update), Warn (also the default) answers one `Warning: 299 - "..."` header per
problem, Ignore says nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from .helpers import Widgets
from .wire import Reply, send

pytestmark = pytest.mark.emulator

DUPLICATED = (
    b'{"apiVersion": "%s", "kind": "%s", "metadata": {"name": "%s"},'
    b' "spec": {"size": "Small", "owner": "a", "note": "x", "note": "y", "unknown1": 1,'
    b' "extra": {"free": 1}, "tags": ["t-1"], "zzz": {"deep": true}}}'
)


def _post(api: client.ApiClient, widgets: Widgets, body: Any, validation: str | None) -> Reply:
    query = [("fieldValidation", validation)] if validation else None
    return send(api, "POST", widgets.path(), body, query=query)


def _warnings(reply: Reply) -> list[str]:
    return reply.header("Warning")


def test_strict_refuses_unknown_and_duplicate_fields_on_create(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    raw = DUPLICATED % (widgets.api_version.encode(), widgets.kind.encode(), b"strict")
    reply = _post(api_client, widgets, raw, "Strict")
    assert reply.status == 400
    body = reply.json()
    assert body["reason"] == "BadRequest" and body["code"] == 400 and body["kind"] == "Status"
    assert body["message"] == (
        f'{widgets.kind} in version "v1" cannot be handled as a {widgets.kind}: strict decoding error: '
        'duplicate field "note", unknown field "spec.unknown1", unknown field "spec.zzz"'
    )
    assert not widgets.exists("strict")


def test_warn_accepts_prunes_and_warns(api_client: client.ApiClient, widgets: Widgets) -> None:
    raw = DUPLICATED % (widgets.api_version.encode(), widgets.kind.encode(), b"warned")
    reply = _post(api_client, widgets, raw, "Warn")
    assert reply.status == 201
    assert _warnings(reply) == [
        '299 - "duplicate field \\"note\\""',
        '299 - "unknown field \\"spec.unknown1\\""',
        '299 - "unknown field \\"spec.zzz\\""',
    ]
    spec = reply.json()["spec"]
    assert spec["note"] == "y" and spec["extra"] == {"free": 1}
    assert "unknown1" not in spec and "zzz" not in spec


def test_warn_is_the_default_and_ignore_is_silent(api_client: client.ApiClient, widgets: Widgets) -> None:
    default = _post(api_client, widgets, widgets.body("by-default", unknown1="x"), None)
    assert default.status == 201
    assert _warnings(default) == ['299 - "unknown field \\"spec.unknown1\\""']
    ignored = _post(api_client, widgets, widgets.body("ignored", unknown1="x"), "Ignore")
    assert ignored.status == 201 and _warnings(ignored) == []
    assert "unknown1" not in ignored.json()["spec"]


def test_valid_objects_get_no_warnings(api_client: client.ApiClient, widgets: Widgets) -> None:
    reply = _post(api_client, widgets, widgets.body("clean", extra={"anything": {"goes": 1}}), "Strict")
    assert reply.status == 201 and _warnings(reply) == []


def test_strict_on_update_and_patch(api_client: client.ApiClient, widgets: Widgets) -> None:
    current = widgets.create("changed")
    body = widgets.body("changed", suspend=True)
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    put = send(api_client, "PUT", widgets.path("changed"), body, query=[("fieldValidation", "Strict")])
    assert put.status == 400
    assert put.json()["message"] == (
        f'{widgets.kind} in version "v1" cannot be handled as a {widgets.kind}: strict decoding error: '
        'unknown field "spec.suspend"'
    )
    merge = send(
        api_client,
        "PATCH",
        widgets.path("changed"),
        b'{"spec": {"suspend": true, "note": "a", "note": "b"}}',
        content_type="application/merge-patch+json",
        query=[("fieldValidation", "Strict")],
    )
    assert merge.status == 400
    assert merge.json()["message"] == (
        'strict decoding error: duplicate field "note", unknown field "spec.suspend"'
    )
    json_patch = send(
        api_client,
        "PATCH",
        widgets.path("changed"),
        [{"op": "add", "path": "/spec/suspend", "value": True, "foo": "bar"}],
        content_type="application/json-patch+json",
        query=[("fieldValidation", "Strict")],
    )
    assert json_patch.status == 400
    assert json_patch.json()["message"] == (
        'strict decoding error: json patch unknown field "foo", unknown field "spec.suspend"'
    )
    assert "suspend" not in widgets.get("changed")["spec"]
    warned = send(
        api_client,
        "PATCH",
        widgets.path("changed"),
        {"spec": {"suspend": True, "note": "patched"}},
        content_type="application/merge-patch+json",
        query=[("fieldValidation", "Warn")],
    )
    assert warned.status == 200 and _warnings(warned) == ['299 - "unknown field \\"spec.suspend\\""']
    assert warned.json()["spec"]["note"] == "patched"


def test_status_subresource_is_validated_too(api_client: client.ApiClient, widgets: Widgets) -> None:
    widgets.create("status-fields")
    reply = send(
        api_client,
        "PATCH",
        widgets.path("status-fields", "status"),
        {"status": {"phase": "Seen", "anything": "kept"}, "spec": {"bogus": 1}},
        content_type="application/merge-patch+json",
        query=[("fieldValidation", "Strict")],
    )
    # status preserves unknown fields in this CRD; spec does not.
    assert reply.status == 400
    assert reply.json()["message"] == 'strict decoding error: unknown field "spec.bogus"'


def test_an_unsupported_directive_is_invalid(api_client: client.ApiClient, widgets: Widgets) -> None:
    reply = _post(api_client, widgets, widgets.body("bad-directive"), "Loud")
    assert reply.status == 422
    body = reply.json()
    assert body["reason"] == "Invalid"
    assert body["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loud": '
        'supported values: "", "Ignore", "Strict", "Warn"'
    )


def test_builtin_kinds_are_checked_against_their_schema(api_client: client.ApiClient, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm"},
        "data": {"a": "b"},
        "spec": {},
    }
    strict = send(api_client, "POST", path, body, query=[("fieldValidation", "Strict")])
    assert strict.status == 400
    assert strict.json()["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "spec"'
    )
    del body["spec"]
    body["metadata"]["labels"] = {"free": "form"}
    fine = send(api_client, "POST", path, body, query=[("fieldValidation", "Strict")])
    assert fine.status == 201 and _warnings(fine) == []
    assert json.loads(fine.data)["data"] == {"a": "b"}
