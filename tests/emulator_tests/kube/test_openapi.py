"""`/openapi/v2` and `/openapi/v3`: what kubectl reads for `explain`, patch strategies and to learn
that the server validates fields itself (the `fieldValidation` parameter on PATCH operations)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from .helpers import TEST_GROUP, TEST_VERSION, Widgets, emulator_only, wait_for
from .wire import send

pytestmark = pytest.mark.emulator


def _pair(query: str) -> tuple[str, str]:
    key, _, value = query.partition("=")
    return key, value


def _gv_document(api: client.ApiClient, gv_path: str) -> tuple[str, dict[str, Any]]:
    """The group version's document through the index, as kubectl fetches it.

    Other tests' CRDs come and go (their clean-up finishes asynchronously), so the document may
    change between the two requests: its old address then redirects (301) and the index is read again.
    """
    for _ in range(20):
        index = send(api, "GET", "/openapi/v3")
        assert index.status == 200
        url = index.json()["paths"][gv_path]["serverRelativeURL"]
        assert url.startswith(f"/openapi/v3/{gv_path}?hash=")
        path, _, query = url.partition("?")
        reply = send(api, "GET", path, query=[_pair(query)], redirect=False)
        if reply.status == 301:
            continue
        assert reply.status == 200
        assert reply.header("Content-Type")[0].startswith("application/json")
        assert reply.header("Cache-Control") == ["public, immutable"]
        assert reply.header("Etag") == [f'"{_pair(query)[1]}"']
        return url, reply.json()
    pytest.fail("the OpenAPI document kept changing")


def test_v3_index_lists_group_versions(api_client: client.ApiClient, widgets: Widgets) -> None:
    paths = send(api_client, "GET", "/openapi/v3").json()["paths"]
    assert "api/v1" in paths and "apis/apiextensions.k8s.io/v1" in paths
    assert f"apis/{TEST_GROUP}/{TEST_VERSION}" in paths


def test_custom_resource_schema_and_operations(api_client: client.ApiClient, widgets: Widgets) -> None:
    _, document = _gv_document(api_client, f"apis/{TEST_GROUP}/{TEST_VERSION}")
    assert document["openapi"].startswith("3.")
    gvk = {"group": TEST_GROUP, "kind": widgets.kind, "version": TEST_VERSION}
    schemas = document["components"]["schemas"]
    name = f"dev.apiportal.emutest.{TEST_VERSION}.{widgets.kind}"
    schema = schemas[name]
    assert schema["x-kubernetes-group-version-kind"] == [gvk]
    assert schema["properties"]["spec"]["properties"]["size"]["enum"] == ["Small", "Large"]
    assert schema["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in schemas
    item = document["paths"][
        f"/apis/{TEST_GROUP}/{TEST_VERSION}/namespaces/{{namespace}}/{widgets.plural}/{{name}}"
    ]
    patch = item["patch"]
    assert patch["x-kubernetes-group-version-kind"] == gvk
    assert patch["x-kubernetes-action"] == "patch"
    # kubectl's QueryParamVerifierV3 looks for this parameter on the PATCH operation itself.
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    assert "application/merge-patch+json" in patch["requestBody"]["content"]
    listing = document["paths"][
        f"/apis/{TEST_GROUP}/{TEST_VERSION}/namespaces/{{namespace}}/{widgets.plural}"
    ]
    assert "fieldValidation" in [p["name"] for p in listing["post"]["parameters"]]
    assert listing["get"]["x-kubernetes-action"] == "list"


def test_builtin_kinds_are_published(api_client: client.ApiClient) -> None:
    _, document = _gv_document(api_client, "api/v1")
    namespace = document["components"]["schemas"]["io.k8s.api.core.v1.Namespace"]
    assert namespace["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "Namespace", "version": "v1"}
    ]
    patch = document["paths"]["/api/v1/namespaces/{name}"]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]


@emulator_only
def test_documents_follow_crd_changes_and_old_hashes_redirect(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    gv_path = f"apis/{TEST_GROUP}/{TEST_VERSION}"
    old_url, _ = _gv_document(api_client, gv_path)
    patched = send(
        api_client,
        "PATCH",
        f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{widgets.plural}.{TEST_GROUP}",
        [
            {
                "op": "add",
                "path": "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/color",
                "value": {"type": "string", "description": "A new field."},
            }
        ],
        content_type="application/json-patch+json",
    )
    assert patched.status == 200
    _, document = wait_for(
        lambda: (found := _gv_document(api_client, gv_path))[0] != old_url and found,
        what="a new OpenAPI document",
    )
    spec = document["components"]["schemas"][f"dev.apiportal.emutest.{TEST_VERSION}.{widgets.kind}"][
        "properties"
    ]["spec"]
    assert spec["properties"]["color"]["description"] == "A new field."
    path, _, query = old_url.partition("?")
    moved = send(api_client, "GET", path, query=[_pair(query)], redirect=False)
    assert moved.status == 301
    # The current address (or a newer one if another test's CRD changed since).
    (location,) = moved.header("Location")
    assert location.startswith(f"/openapi/v3/{gv_path}?hash=") and location != old_url


def test_v2_document_in_json(api_client: client.ApiClient, widgets: Widgets) -> None:
    reply = send(api_client, "GET", "/openapi/v2", accept="application/json")
    assert reply.status == 200
    document = reply.json()
    assert document["swagger"] == "2.0"
    definition = document["definitions"][f"dev.apiportal.emutest.{TEST_VERSION}.{widgets.kind}"]
    assert definition["x-kubernetes-group-version-kind"] == [
        {"group": TEST_GROUP, "kind": widgets.kind, "version": TEST_VERSION}
    ]
    assert definition["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    patch = document["paths"][
        f"/apis/{TEST_GROUP}/{TEST_VERSION}/namespaces/{{namespace}}/{widgets.plural}/{{name}}"
    ]["patch"]
    field_validation = next(p for p in patch["parameters"] if p["name"] == "fieldValidation")
    assert field_validation["in"] == "query" and field_validation["type"] == "string"


@emulator_only
def test_v2_protobuf_is_not_acceptable(api_client: client.ApiClient) -> None:
    """The emulator has no protobuf encoder (a real server answers protobuf here)."""
    reply = send(
        api_client, "GET", "/openapi/v2", accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    )
    assert reply.status == 406
