"""Server-side apply and metadata.managedFields, as Flux and Argo CD (ServerSideApply=true) use them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .helpers import Widgets, raw

pytestmark = pytest.mark.emulator

APPLY = "application/apply-patch+yaml"
KUBECTL = Path(sys.executable).parent / "kubectl"


def apply(
    api_client: client.ApiClient,
    path: str,
    body: Any,
    manager: str | None,
    *,
    force: bool | None = None,
) -> tuple[int, Any]:
    query = [("fieldManager", manager)] if manager else []
    if force is not None:
        query.append(("force", "true" if force else "false"))
    return raw(api_client, "PATCH", path, body, content_type=APPLY, query=query)


def entries(obj: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """managedFields by (manager, operation, subresource)."""
    return {
        (e["manager"], e["operation"], e.get("subresource", "")): e
        for e in obj["metadata"].get("managedFields") or []
    }


def spec_fields(entry: dict[str, Any]) -> set[str]:
    return {k[2:] for k in entry["fieldsV1"].get("f:spec", {}) if k.startswith("f:")}


def test_apply_creates_the_object_and_identical_reapply_is_a_noop(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    body = widgets.body("applied", replicas=2)
    status, created = apply(api_client, widgets.path("applied"), body, "flux")
    assert status == 201, created
    assert created["spec"] == {"size": "Small", "owner": "team-a", "replicas": 2}
    assert created["metadata"]["generation"] == 1
    entry = entries(created)[("flux", "Apply", "")]
    assert entry["apiVersion"] == widgets.api_version and entry["fieldsType"] == "FieldsV1"
    assert entry["time"]
    assert spec_fields(entry) == {"size", "owner", "replicas"}
    assert "f:status" not in entry["fieldsV1"]

    status, again = apply(api_client, widgets.path("applied"), body, "flux")
    assert status == 200
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert again["metadata"]["managedFields"] == created["metadata"]["managedFields"]


def test_apply_accepts_a_yaml_body_and_a_label_change_keeps_the_generation(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    body = widgets.body("yamlbody")
    status, _ = apply(api_client, widgets.path("yamlbody"), yaml.safe_dump(body), "flux")
    assert status == 201
    body["metadata"]["labels"] = {"app": "shop"}
    status, labelled = apply(api_client, widgets.path("yamlbody"), yaml.safe_dump(body), "flux")
    assert status == 200 and labelled["metadata"]["labels"] == {"app": "shop"}
    assert labelled["metadata"]["generation"] == 1
    fields = entries(labelled)[("flux", "Apply", "")]["fieldsV1"]
    assert fields["f:metadata"] == {"f:labels": {"f:app": {}}}


def test_two_managers_applying_the_same_value_co_own_it(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    apply(api_client, widgets.path("shared"), widgets.body("shared", note="hello"), "flux")
    other = {**widgets.body("shared"), "spec": {"note": "hello"}}
    status, obj = apply(api_client, widgets.path("shared"), other, "argocd-controller")
    assert status == 200, obj
    owners = entries(obj)
    assert "note" in spec_fields(owners[("flux", "Apply", "")])
    assert spec_fields(owners[("argocd-controller", "Apply", "")]) == {"note"}


def test_conflicting_apply_answers_409_until_forced(api_client: client.ApiClient, widgets: Widgets) -> None:
    apply(api_client, widgets.path("contested"), widgets.body("contested"), "flux")
    other = {**widgets.body("contested"), "spec": {"size": "Large"}}
    status, error = apply(api_client, widgets.path("contested"), other, "argocd-controller")
    assert status == 409
    assert error["reason"] == "Conflict"
    assert error["message"] == 'Apply failed with 1 conflict: conflict with "flux": .spec.size'
    assert error["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "flux"', "field": ".spec.size"}
    ]
    assert widgets.get("contested")["spec"]["size"] == "Small"

    status, error = apply(api_client, widgets.path("contested"), other, "argocd-controller", force=False)
    assert status == 409

    status, forced = apply(api_client, widgets.path("contested"), other, "argocd-controller", force=True)
    assert status == 200 and forced["spec"]["size"] == "Large"
    owners = entries(forced)
    assert "size" not in spec_fields(owners[("flux", "Apply", "")])
    assert spec_fields(owners[("argocd-controller", "Apply", "")]) == {"size"}


def test_a_conflict_with_an_update_manager_names_its_api_version(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    widgets.create("edited")
    status, _ = raw(
        api_client,
        "PATCH",
        widgets.path("edited"),
        {"spec": {"note": "by hand"}},
        content_type="application/merge-patch+json",
        query=[("fieldManager", "kubectl-edit")],
    )
    assert status == 200
    status, error = apply(api_client, widgets.path("edited"), widgets.body("edited", note="from git"), "flux")
    assert status == 409
    assert error["message"] == (
        f'Apply failed with 1 conflict: conflict with "kubectl-edit" using {widgets.api_version}: .spec.note'
    )
    assert error["details"]["causes"][0]["reason"] == "FieldManagerConflict"


def test_a_field_left_out_of_the_next_apply_is_removed(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    apply(api_client, widgets.path("pruned"), widgets.body("pruned", note="temporary", replicas=3), "flux")
    status, obj = apply(api_client, widgets.path("pruned"), widgets.body("pruned", replicas=3), "flux")
    assert status == 200
    assert obj["spec"] == {"size": "Small", "owner": "team-a", "replicas": 3}
    assert obj["metadata"]["generation"] == 2
    assert spec_fields(entries(obj)[("flux", "Apply", "")]) == {"size", "owner", "replicas"}


def test_a_field_another_manager_also_owns_is_kept_when_left_out(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    apply(api_client, widgets.path("kept"), widgets.body("kept", note="shared"), "flux")
    apply(api_client, widgets.path("kept"), {**widgets.body("kept"), "spec": {"note": "shared"}}, "argocd")
    status, obj = apply(api_client, widgets.path("kept"), widgets.body("kept"), "flux")
    assert status == 200 and obj["spec"]["note"] == "shared"
    assert "note" not in spec_fields(entries(obj)[("flux", "Apply", "")])


def test_status_and_metadata_updates_by_the_operator_do_not_conflict_with_spec_applies(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    apply(api_client, widgets.path("operated"), widgets.body("operated"), "flux")
    status, _ = raw(
        api_client,
        "PATCH",
        widgets.path("operated", "status"),
        {"status": {"phase": "Seen", "observedGeneration": 1}},
        content_type="application/merge-patch+json",
        query=[("fieldManager", "operator")],
    )
    assert status == 200
    status, marked = raw(
        api_client,
        "PATCH",
        widgets.path("operated"),
        {"metadata": {"finalizers": ["emutest.apiportal.dev/cleanup"], "annotations": {"seen": "yes"}}},
        content_type="application/merge-patch+json",
        query=[("fieldManager", "operator")],
    )
    assert status == 200
    owners = entries(marked)
    status_entry = owners[("operator", "Update", "status")]
    assert set(status_entry["fieldsV1"]["f:status"]) >= {"f:phase", "f:observedGeneration"}
    assert status_entry["apiVersion"] == widgets.api_version
    meta_entry = owners[("operator", "Update", "")]
    assert meta_entry["fieldsV1"]["f:metadata"]["f:finalizers"] == {
        ".": {},
        'v:"emutest.apiportal.dev/cleanup"': {},
    }

    status, obj = apply(api_client, widgets.path("operated"), widgets.body("operated", size="Large"), "flux")
    assert status == 200, obj
    assert obj["spec"]["size"] == "Large" and obj["status"]["phase"] == "Seen"
    assert obj["metadata"]["finalizers"] == ["emutest.apiportal.dev/cleanup"]
    assert obj["metadata"]["annotations"] == {"seen": "yes"}
    raw(
        api_client,
        "PATCH",
        widgets.path("operated"),
        {"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )


def test_updates_are_owned_by_the_field_manager_or_the_user_agent(
    api_client: client.ApiClient, namespace: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    status, created = raw(api_client, "POST", path, {"metadata": {"name": "plain"}, "data": {"a": "1"}})
    assert status == 201
    user_agent = str(api_client.user_agent)
    assert list(entries(created)) == [(user_agent.split("/")[0], "Update", "")]
    entry = created["metadata"]["managedFields"][0]
    assert entry["fieldsType"] == "FieldsV1" and entry["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}}

    def merge(body: dict[str, Any], manager: str) -> dict[str, Any]:
        status, obj = raw(
            api_client,
            "PATCH",
            f"{path}/plain",
            body,
            content_type="application/merge-patch+json",
            query=[("fieldManager", manager)],
        )
        assert status == 200, obj
        result: dict[str, Any] = obj
        return result

    patched = merge({"data": {"b": "2"}}, "scripted")
    assert entries(patched)[("scripted", "Update", "")]["fieldsV1"] == {"f:data": {"f:b": {}}}
    unchanged = merge({"data": {"b": "2"}}, "someone-else")
    assert unchanged["metadata"]["resourceVersion"] == patched["metadata"]["resourceVersion"]
    assert ("someone-else", "Update", "") not in entries(unchanged)


def test_apply_on_built_in_kinds(
    api_client: client.ApiClient, core: client.CoreV1Api, namespace: str
) -> None:
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"k": "v"},
    }
    path = f"/api/v1/namespaces/{namespace}/configmaps/settings"
    status, created = apply(api_client, path, config_map, "flux")
    assert status == 201 and created["data"] == {"k": "v"}
    assert entries(created)[("flux", "Apply", "")]["fieldsV1"] == {"f:data": {"f:k": {}}}
    status, again = apply(api_client, path, config_map, "flux")
    assert status == 200 and again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]

    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "labels": {"app": "shop"}},
        "type": "Opaque",
        "data": {"key": "c2VjcmV0"},
    }
    status, created = apply(api_client, f"/api/v1/namespaces/{namespace}/secrets/creds", secret, "flux")
    assert status == 201 and created["data"] == {"key": "c2VjcmV0"}
    assert entries(created)[("flux", "Apply", "")]["fieldsV1"] == {
        "f:data": {"f:key": {}},
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:type": {},
    }


@pytest.fixture
def applied_namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"emutest-ssa-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


def test_apply_creates_a_namespace(api_client: client.ApiClient, applied_namespace: str) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": applied_namespace, "labels": {"team": "a"}},
    }
    status, created = apply(api_client, f"/api/v1/namespaces/{applied_namespace}", body, "flux")
    assert status == 201, created
    assert created["metadata"]["labels"]["team"] == "a"
    assert created["status"]["phase"] == "Active"
    assert entries(created)[("flux", "Apply", "")]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:team": {}}}}


def test_apply_without_field_manager_and_force_on_other_patches_are_invalid(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    status, error = apply(api_client, widgets.path("nomanager"), widgets.body("nomanager"), None)
    assert status == 422
    assert error["reason"] == "Invalid"
    assert error["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
    )
    assert error["details"]["kind"] == "PatchOptions" and error["details"]["group"] == "meta.k8s.io"
    assert not widgets.exists("nomanager")

    widgets.create("forced")
    status, error = raw(
        api_client,
        "PATCH",
        widgets.path("forced"),
        {"spec": {"note": "x"}},
        content_type="application/merge-patch+json",
        query=[("force", "true")],
    )
    assert status == 422
    assert "force: Forbidden: may not be specified for non-apply patch" in error["message"]


def test_apply_rejects_managed_fields_and_undeclared_fields(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    body = widgets.body("strict")
    body["metadata"]["managedFields"] = [{"manager": "me", "operation": "Apply"}]
    status, error = apply(api_client, widgets.path("strict"), body, "flux")
    assert status == 400 and error["message"] == "metadata.managedFields must be nil"

    body = widgets.body("strict", unknown="x")
    status, error = apply(api_client, widgets.path("strict"), body, "flux")
    assert status == 500
    assert error["message"].startswith("failed to create typed patch object")
    assert error["message"].endswith(".spec.unknown: field not declared in schema")


def test_schema_validation_runs_on_the_applied_result(api_client: client.ApiClient, widgets: Widgets) -> None:
    apply(api_client, widgets.path("validated"), widgets.body("validated"), "flux")
    status, error = apply(
        api_client, widgets.path("validated"), widgets.body("validated", owner="team-b"), "flux"
    )
    assert status == 422 and "owner is immutable" in error["message"]
    status, error = apply(
        api_client, widgets.path("validated"), widgets.body("validated", size="Huge"), "flux"
    )
    assert status == 422 and "spec.size" in error["message"]


def test_managed_fields_can_be_cleared_with_one_empty_entry(
    api_client: client.ApiClient, widgets: Widgets
) -> None:
    status, created = apply(api_client, widgets.path("cleared"), widgets.body("cleared"), "flux")
    assert created["metadata"]["managedFields"]
    status, kept = raw(
        api_client,
        "PATCH",
        widgets.path("cleared"),
        {"metadata": {"managedFields": []}},
        content_type="application/merge-patch+json",
    )
    assert status == 200 and kept["metadata"]["managedFields"] == created["metadata"]["managedFields"]
    status, cleared = raw(
        api_client,
        "PATCH",
        widgets.path("cleared"),
        {"metadata": {"managedFields": [{}]}},
        content_type="application/merge-patch+json",
    )
    assert status == 200 and "managedFields" not in cleared["metadata"]


def _serves(api_client: client.ApiClient, path: str) -> bool:
    try:
        return raw(api_client, "GET", path)[0] == 200
    except ValueError:  # a plain-text 404 from a server without the path
        return False


@pytest.mark.skipif(
    not KUBECTL.exists() and shutil.which("kubectl") is None, reason="kubectl is not installed"
)
def test_kubectl_server_side_apply_twice(
    api_client: client.ApiClient, kubeconfig: str, namespace: str, tmp_path: Path
) -> None:
    kubectl = str(KUBECTL) if KUBECTL.exists() else str(shutil.which("kubectl"))
    # kubectl validates against the server's OpenAPI documents; without them it refuses to apply.
    served = any(_serves(api_client, path) for path in ("/openapi/v3", "/openapi/v2"))
    validate = [] if served else ["--validate=false"]
    manifest = tmp_path / "settings.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "flux-settings", "namespace": namespace},
                "data": {"mode": "gitops"},
            }
        )
    )
    command = [
        kubectl,
        "--kubeconfig",
        kubeconfig,
        "apply",
        "--server-side",
        "--field-manager=flux",
        *validate,
        "-f",
    ]
    first = subprocess.run([*command, str(manifest)], capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == 0, first.stderr
    assert "configmap/flux-settings serverside-applied" in first.stdout
    second = subprocess.run(
        [*command, str(manifest)], capture_output=True, text=True, timeout=60, check=False
    )
    assert second.returncode == 0, second.stderr
    assert "configmap/flux-settings serverside-applied" in second.stdout
    shown = subprocess.run(
        [
            kubectl,
            "--kubeconfig",
            kubeconfig,
            "get",
            "configmap",
            "flux-settings",
            "-n",
            namespace,
            "-o",
            "yaml",
            "--show-managed-fields",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    managed = yaml.safe_load(shown.stdout)["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"]) for e in managed] == [("flux", "Apply")]
