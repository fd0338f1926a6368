"""Deletion: finalizers and deletionTimestamp, ownerReference garbage collection, namespaces."""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .helpers import Widgets, wait_for

pytestmark = pytest.mark.emulator


def test_finalizers_hold_deletion_until_removed(widgets: Widgets) -> None:
    created = widgets.create("held")
    widgets.patch("held", {"metadata": {"finalizers": ["emutest.apiportal.dev/hold"]}})
    marked = widgets.delete("held")
    meta = marked["metadata"]
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 0
    assert meta["generation"] == created["metadata"]["generation"] + 1
    still_there = widgets.get("held")
    assert still_there["metadata"]["deletionTimestamp"] == meta["deletionTimestamp"]

    with pytest.raises(ApiException) as refused:
        widgets.patch(
            "held", {"metadata": {"finalizers": ["emutest.apiportal.dev/hold", "emutest.apiportal.dev/new"]}}
        )
    assert refused.value.status == 422

    widgets.patch("held", {"metadata": {"finalizers": None}})
    assert not widgets.exists("held")


def test_delete_without_finalizers_is_immediate(
    core: client.CoreV1Api, namespace: str, widgets: Widgets
) -> None:
    widgets.create("gone")
    widgets.delete("gone")
    assert not widgets.exists("gone")
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}})
    answer = core.delete_namespaced_config_map("cm", namespace)
    status = answer["status"] if isinstance(answer, dict) else answer.status
    assert status == "Success"
    with pytest.raises(ApiException) as missing:
        core.delete_namespaced_config_map("cm", namespace)
    assert missing.value.status == 404


def test_owned_secret_is_garbage_collected(core: client.CoreV1Api, namespace: str, widgets: Widgets) -> None:
    owner = widgets.create("owner")
    reference = {
        "apiVersion": widgets.api_version,
        "kind": widgets.kind,
        "name": "owner",
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "owned", "ownerReferences": [reference]}, "stringData": {"k": "v"}}
    )
    core.create_namespaced_secret(namespace, {"metadata": {"name": "unowned"}, "stringData": {"k": "v"}})
    widgets.delete("owner")

    def secret_gone() -> bool:
        try:
            core.read_namespaced_secret("owned", namespace)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(secret_gone, what="the owned Secret to be garbage-collected")
    assert core.read_namespaced_secret("unowned", namespace).metadata.name == "unowned"


def test_deleting_a_namespace_deletes_its_objects(core: client.CoreV1Api) -> None:
    name = f"emutest-doomed-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, {"metadata": {"name": "cm"}})
    core.delete_namespace(name)

    def namespace_gone() -> bool:
        try:
            namespace = core.read_namespace(name)
        except ApiException as exc:
            return exc.status == 404
        assert namespace.status.phase == "Terminating"
        return False

    wait_for(namespace_gone, timeout=60, what="the namespace to be deleted")
    assert core.list_namespaced_config_map(name).items == []
