"""Server-side printing: `Accept: application/json;as=Table;g=meta.k8s.io;v=v1` as `kubectl get` sends it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .helpers import TEST_GROUP, Widgets, wait_for, widget_crd
from .wire import send

pytestmark = pytest.mark.emulator

KUBECTL_GET_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
    "application/json"
)


def _table(api: client.ApiClient, path: str, query: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    reply = send(api, "GET", path, accept=KUBECTL_GET_ACCEPT, query=query)
    assert reply.status == 200, reply.data
    table: dict[str, Any] = reply.json()
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    return table


@pytest.fixture
def gadgets(api_client: client.ApiClient, namespace: str) -> Iterator[Widgets]:
    """A CRD with printer columns: a condition filter, an integer and a wide-only column."""
    suffix = uuid.uuid4().hex[:8]
    plural, kind = f"gadgets{suffix}", f"Gadget{suffix.upper()}"
    crd = widget_crd(plural, kind)
    version = crd["spec"]["versions"][0]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    status["properties"]["conditions"] = {
        "type": "array",
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }
    version["additionalPrinterColumns"] = [
        {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
        {"name": "Owner", "type": "string", "jsonPath": ".spec.owner", "priority": 1, "description": "Who"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    extensions = client.ApiextensionsV1Api(api_client)
    extensions.create_custom_resource_definition(crd)
    wait_for(
        lambda: extensions.read_custom_resource_definition(f"{plural}.{TEST_GROUP}").status.conditions,
        what="the CRD",
    )
    yield Widgets(client.CustomObjectsApi(api_client), plural, kind, namespace)
    try:
        extensions.delete_custom_resource_definition(f"{plural}.{TEST_GROUP}")
    except ApiException as exc:
        if exc.status != 404:
            raise


def test_custom_resource_columns(api_client: client.ApiClient, gadgets: Widgets) -> None:
    gadgets.create("g1", replicas=3)
    gadgets.patch_status(
        "g1",
        {
            "status": {
                "conditions": [{"type": "Other", "status": "False"}, {"type": "Ready", "status": "True"}]
            }
        },
    )
    gadgets.create("g2")
    table = _table(api_client, gadgets.path())
    columns = table["columnDefinitions"]
    assert [(c["name"], c["type"], c["priority"]) for c in columns] == [
        ("Name", "string", 0),
        ("Size", "string", 0),
        ("Replicas", "integer", 0),
        ("Ready", "string", 0),
        ("Owner", "string", 1),
        ("Age", "date", 0),
    ]
    assert columns[0]["format"] == "name"
    assert columns[1]["description"] == "Custom resource definition column (in JSONPath format): .spec.size"
    assert columns[4]["description"] == "Who"
    rows = {row["cells"][0]: row for row in table["rows"]}
    assert rows["g1"]["cells"][:5] == ["g1", "Small", 3, "True", "team-a"]
    assert rows["g2"]["cells"][:5] == ["g2", "Small", None, None, "team-a"]
    assert rows["g1"]["cells"][5].endswith("s")  # a human duration such as "0s"
    embedded = rows["g1"]["object"]
    assert embedded["kind"] == "PartialObjectMetadata" and embedded["apiVersion"] == "meta.k8s.io/v1"
    assert embedded["metadata"]["name"] == "g1" and "spec" not in embedded
    assert table["metadata"]["resourceVersion"]


def test_include_object_and_single_get(api_client: client.ApiClient, gadgets: Widgets) -> None:
    gadgets.create("one")
    full = _table(api_client, gadgets.path("one"), [("includeObject", "Object")])
    assert len(full["rows"]) == 1
    assert full["rows"][0]["object"]["spec"]["size"] == "Small"
    assert full["rows"][0]["object"]["kind"] == gadgets.kind
    bare = _table(api_client, gadgets.path(), [("includeObject", "None")])
    assert all(row.get("object") is None for row in bare["rows"])
    bad = send(api_client, "GET", gadgets.path(), accept=KUBECTL_GET_ACCEPT, query=[("includeObject", "All")])
    assert bad.status == 400
    assert bad.json()["message"] == 'unrecognized includeObject value: "All"'


def test_crd_without_columns_gets_name_and_age(api_client: client.ApiClient, widgets: Widgets) -> None:
    widgets.create("plain")
    table = _table(api_client, widgets.path())
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"][0] == "plain"


def test_builtin_tables(api_client: client.ApiClient, namespace: str) -> None:
    namespaces = _table(api_client, "/api/v1/namespaces")
    assert [c["name"] for c in namespaces["columnDefinitions"]] == ["Name", "Status", "Age"]
    row = next(r for r in namespaces["rows"] if r["cells"][0] == namespace)
    assert row["cells"][1] == "Active"
    send(
        api_client,
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {"metadata": {"name": "s"}, "stringData": {"a": "1", "b": "2"}},
    )
    secrets = _table(api_client, f"/api/v1/namespaces/{namespace}/secrets")
    assert [c["name"] for c in secrets["columnDefinitions"]] == ["Name", "Type", "Data", "Age"]
    assert secrets["rows"][0]["cells"][:3] == ["s", "Opaque", 2]
    crds = _table(api_client, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    assert [c["name"] for c in crds["columnDefinitions"]] == ["Name", "Created At"]


def test_plain_json_is_unchanged(api_client: client.ApiClient, widgets: Widgets) -> None:
    widgets.create("json")
    reply = send(api_client, "GET", widgets.path(), accept="application/json")
    assert reply.json()["kind"] == f"{widgets.kind}List"
