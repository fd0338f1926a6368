"""Discovery, create/read/replace/patch/delete, error shapes, generation and status rules."""

from __future__ import annotations

import base64

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .helpers import TEST_GROUP, TEST_VERSION, Widgets, error_body, raw

pytestmark = pytest.mark.emulator


def test_discovery_serves_builtins_and_a_new_crd(api_client: client.ApiClient, widgets: Widgets) -> None:
    status, versions = raw(api_client, "GET", "/api")
    assert status == 200 and "v1" in versions["versions"]
    status, core = raw(api_client, "GET", "/api/v1")
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["namespaces"]["namespaced"] is False and by_name["namespaces"]["kind"] == "Namespace"
    assert by_name["secrets"]["namespaced"] is True and by_name["secrets"]["singularName"] == "secret"
    assert "namespaces/status" in by_name

    status, groups = raw(api_client, "GET", "/apis")
    group = next(g for g in groups["groups"] if g["name"] == TEST_GROUP)
    assert group["preferredVersion"]["version"] == TEST_VERSION
    assert any(g["name"] == "coordination.k8s.io" for g in groups["groups"])

    status, resources = raw(api_client, "GET", f"/apis/{TEST_GROUP}/{TEST_VERSION}")
    assert status == 200
    entries = {r["name"]: r for r in resources["resources"]}
    main = entries[widgets.plural]
    assert main["kind"] == widgets.kind and main["namespaced"] is True
    assert main["singularName"] == widgets.plural[:-1]
    assert main["shortNames"] == [f"w{widgets.plural[-6:]}"] and main["categories"] == ["emutest"]
    assert {"create", "get", "list", "watch", "patch", "update", "delete"} <= set(main["verbs"])
    assert f"{widgets.plural}/status" in entries


def test_create_sets_server_fields_and_get_returns_it(widgets: Widgets) -> None:
    created = widgets.create("alpha", replicas=2)
    meta = created["metadata"]
    assert meta["namespace"] == widgets.namespace and meta["uid"] and meta["creationTimestamp"]
    assert meta["generation"] == 1 and int(meta["resourceVersion"]) > 0
    assert created["apiVersion"] == widgets.api_version and created["kind"] == widgets.kind
    assert widgets.get("alpha") == created


def test_generate_name_makes_a_unique_name(core: client.CoreV1Api, namespace: str) -> None:
    body = {
        "metadata": {"generateName": "event-"},
        "involvedObject": {"kind": "Pod", "name": "x"},
        "reason": "R",
    }
    first = core.create_namespaced_event(namespace, body)
    second = core.create_namespaced_event(namespace, body)
    assert first.metadata.name.startswith("event-") and len(first.metadata.name) > len("event-")
    assert first.metadata.name != second.metadata.name


def test_not_found_and_already_exists_are_status_objects(
    core: client.CoreV1Api, widgets: Widgets, namespace: str
) -> None:
    with pytest.raises(ApiException) as missing:
        widgets.get("nope")
    body = error_body(missing.value)
    assert missing.value.status == 404
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["reason"] == "NotFound" and body["code"] == 404
    assert body["message"] == f'{widgets.plural}.{TEST_GROUP} "nope" not found'
    assert body["details"] == {"name": "nope", "group": TEST_GROUP, "kind": widgets.plural}

    with pytest.raises(ApiException) as secret_missing:
        core.read_namespaced_secret("nope", namespace)
    assert error_body(secret_missing.value)["message"] == 'secrets "nope" not found'

    widgets.create("dup")
    with pytest.raises(ApiException) as duplicate:
        widgets.create("dup")
    body = error_body(duplicate.value)
    assert duplicate.value.status == 409 and body["reason"] == "AlreadyExists"
    assert body["message"] == f'{widgets.plural}.{TEST_GROUP} "dup" already exists'


def test_objects_need_an_existing_namespace(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_config_map("no-such-namespace-x", {"metadata": {"name": "c"}})
    body = error_body(missing.value)
    assert missing.value.status == 404 and body["details"]["kind"] == "namespaces"
    assert body["message"] == 'namespaces "no-such-namespace-x" not found'


def test_invalid_name_is_rejected(widgets: Widgets) -> None:
    with pytest.raises(ApiException) as bad:
        widgets.create("Not_A_Name")
    body = error_body(bad.value)
    assert bad.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["message"].startswith(f'{widgets.kind}.{TEST_GROUP} "Not_A_Name" is invalid: metadata.name:')


def test_generation_bumps_on_spec_changes_only(widgets: Widgets) -> None:
    created = widgets.create("gen")
    labelled = widgets.patch("gen", {"metadata": {"labels": {"x": "y"}}})
    assert labelled["metadata"]["generation"] == 1
    assert int(labelled["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    with_status = widgets.patch_status("gen", {"status": {"phase": "Seen"}})
    assert with_status["metadata"]["generation"] == 1
    changed = widgets.patch("gen", {"spec": {"replicas": 3}})
    assert changed["metadata"]["generation"] == 2


def test_status_is_isolated_both_ways(widgets: Widgets) -> None:
    body = widgets.body("iso")
    body["status"] = {"phase": "Done"}
    created = widgets.api.create_namespaced_custom_object(
        widgets.group, widgets.version, widgets.namespace, widgets.plural, body
    )
    assert "status" not in created  # create cannot set status

    widgets.patch_status("iso", {"status": {"phase": "Seen"}})
    main = widgets.patch("iso", {"spec": {"note": "n"}, "status": {"phase": "Done"}})
    assert main["status"] == {"phase": "Seen"} and main["spec"]["note"] == "n"

    via_status = widgets.patch_status("iso", {"spec": {"note": "changed"}, "status": {"phase": "Done"}})
    assert via_status["status"] == {"phase": "Done"} and via_status["spec"]["note"] == "n"
    status_read = widgets.api.get_namespaced_custom_object_status(
        widgets.group, widgets.version, widgets.namespace, widgets.plural, "iso"
    )
    assert status_read["status"] == {"phase": "Done"}


def test_put_with_stale_resource_version_conflicts(widgets: Widgets) -> None:
    created = widgets.create("rv")
    fresh = widgets.patch("rv", {"spec": {"note": "first"}})
    stale = dict(created, spec=dict(created["spec"], note="second"))
    with pytest.raises(ApiException) as conflict:
        widgets.replace("rv", stale)
    body = error_body(conflict.value)
    assert conflict.value.status == 409 and body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]

    current = dict(fresh, spec=dict(fresh["spec"], note="third"))
    assert widgets.replace("rv", current)["spec"]["note"] == "third"
    unconditional = dict(current, metadata={"name": "rv"}, spec=dict(current["spec"], note="fourth"))
    with pytest.raises(ApiException) as refused:
        widgets.replace("rv", unconditional)  # custom resources need a resourceVersion on update
    assert refused.value.status == 422
    assert error_body(refused.value)["details"]["causes"][0]["field"] == "metadata.resourceVersion"


def test_put_without_resource_version_on_builtins_is_unconditional(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    core.patch_namespaced_config_map("cm", namespace, {"data": {"a": "2"}})
    replaced = core.replace_namespaced_config_map(
        "cm", namespace, {"metadata": {"name": "cm"}, "data": {"a": "3"}}
    )
    assert replaced.data == {"a": "3"}


def test_merge_and_json_patches(api_client: client.ApiClient, widgets: Widgets) -> None:
    widgets.create("patchy", tags=["t-a"], note="keep")
    merged = widgets.patch("patchy", {"spec": {"tags": ["t-b", "t-c"], "note": None}})
    assert merged["spec"]["tags"] == ["t-b", "t-c"] and "note" not in merged["spec"]

    rv = merged["metadata"]["resourceVersion"]
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["emutest/x"]},
    ]
    patched = widgets.patch("patchy", ops)
    assert patched["metadata"]["finalizers"] == ["emutest/x"]

    stale = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/metadata/finalizers", "value": []},
    ]
    with pytest.raises(ApiException) as failed:
        widgets.patch("patchy", stale)
    assert failed.value.status == 422
    widgets.patch("patchy", [{"op": "remove", "path": "/metadata/finalizers"}])

    status, body = raw(
        api_client,
        "PATCH",
        widgets.path("patchy"),
        {"spec": {"note": "x"}},
        content_type="application/strategic-merge-patch+json",
    )
    assert status == 415 and body["reason"] == "UnsupportedMediaType"


def test_strategic_merge_patch_on_builtins(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "cm", "labels": {"a": "1"}}, "data": {"k": "v"}}
    )
    patched = core.patch_namespaced_config_map(
        "cm", namespace, {"metadata": {"labels": {"b": "2"}}, "data": {"j": "w"}}
    )
    assert patched.metadata.labels == {"a": "1", "b": "2"} and patched.data == {"k": "v", "j": "w"}


def test_secret_string_data_is_folded(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_secret(
        namespace,
        {"metadata": {"name": "creds"}, "stringData": {"api-key": "s3cret"}, "data": {"other": "eA=="}},
    )
    assert created.type == "Opaque"
    assert base64.b64decode(created.data["api-key"]) == b"s3cret" and created.data["other"] == "eA=="
    patched = core.patch_namespaced_secret("creds", namespace, {"stringData": {"api-key": "rotated"}})
    assert base64.b64decode(patched.data["api-key"]) == b"rotated"
    assert core.read_namespaced_secret("creds", namespace).string_data is None


def test_dry_run_validates_without_storing(widgets: Widgets) -> None:
    obj = widgets.api.create_namespaced_custom_object(
        widgets.group, widgets.version, widgets.namespace, widgets.plural, widgets.body("dry"), dry_run="All"
    )
    assert obj["metadata"]["name"] == "dry"
    assert not widgets.exists("dry")
