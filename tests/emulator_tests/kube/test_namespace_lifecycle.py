"""Namespace lifecycle as kube-apiserver's NamespaceLifecycle admission plugin and the namespace
controller show it: refusals in a terminating namespace, status conditions while content remains."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .helpers import Widgets, error_body, wait_for

pytestmark = pytest.mark.emulator


def _conditions(core: client.CoreV1Api, name: str) -> dict[str, Any]:
    namespace = core.read_namespace(name)
    return {c.type: c for c in (namespace.status.conditions or [])}


def test_terminating_namespace_refuses_new_content_and_reports_finalizers(
    core: client.CoreV1Api, widgets: Widgets
) -> None:
    name = widgets.namespace
    widgets.create("held")
    widgets.patch("held", {"metadata": {"finalizers": ["emutest.apiportal.dev/hold"]}})
    core.delete_namespace(name)
    wait_for(lambda: core.read_namespace(name).status.phase == "Terminating", what="Terminating")

    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map(name, {"metadata": {"name": "late"}})
    assert refused.value.status == 403
    body = error_body(refused.value)
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        f'configmaps "late" is forbidden: unable to create new content in namespace {name} '
        "because it is being terminated"
    )
    assert body["details"]["causes"] == [
        {
            "reason": "NamespaceTerminating",
            "message": f"namespace {name} is being terminated",
            "field": "metadata.namespace",
        }
    ]

    conditions = wait_for(
        lambda: (found := _conditions(core, name)).get("NamespaceFinalizersRemaining") and found,
        what="the namespace conditions",
    )
    held = conditions["NamespaceFinalizersRemaining"]
    assert (held.status, held.reason) == ("True", "SomeFinalizersRemain")
    assert held.message == (
        "Some content in the namespace has finalizers remaining: emutest.apiportal.dev/hold in 1 resource instances"
    )
    remaining = conditions["NamespaceContentRemaining"]
    assert (remaining.status, remaining.reason) == ("True", "SomeResourcesRemain")
    assert remaining.message == (
        f"Some resources are remaining: {widgets.plural}.{widgets.group} has 1 resource instances"
    )
    assert conditions["NamespaceDeletionContentFailure"].status == "False"

    widgets.patch("held", {"metadata": {"finalizers": None}})

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone, timeout=60, what="the namespace to go")


def test_default_namespaces_may_not_be_deleted(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as refused:
        core.delete_namespace("kube-public")
    assert refused.value.status == 403
    assert error_body(refused.value)["message"] == (
        'namespaces "kube-public" is forbidden: this namespace may not be deleted'
    )
    assert core.read_namespace("kube-public").status.phase == "Active"


def test_creating_in_a_missing_namespace_is_not_found(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_config_map(f"nowhere-{uuid.uuid4().hex[:6]}", {"metadata": {"name": "x"}})
    assert missing.value.status == 404
