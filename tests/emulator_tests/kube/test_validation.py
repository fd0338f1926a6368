"""Custom resource validation: OpenAPI schema, CEL rules (including transition rules), pruning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.emulators.kube import KubeEmulator

from .helpers import TEST_GROUP, Widgets, emulator_only, error_body, widget_crd

CRD_DIR = Path(__file__).resolve().parents[3] / "crds"

pytestmark = pytest.mark.emulator


def _rejected(call: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as failure:
        call()
    assert failure.value.status == 422
    body = error_body(failure.value)
    assert body["kind"] == "Status" and body["reason"] == "Invalid" and body["code"] == 422
    return body


def _causes(body: dict[str, Any]) -> dict[str, str]:
    return {c["field"]: c["reason"] for c in body["details"]["causes"]}


def test_missing_required_field_is_rejected(widgets: Widgets) -> None:
    body = widgets.body("req")
    del body["spec"]["owner"]
    answer = _rejected(
        lambda: widgets.api.create_namespaced_custom_object(
            widgets.group, widgets.version, widgets.namespace, widgets.plural, body
        )
    )
    assert _causes(answer) == {"spec.owner": "FieldValueRequired"}
    assert answer["message"] == f'{widgets.kind}.{TEST_GROUP} "req" is invalid: spec.owner: Required value'


def test_wrong_enum_and_type_and_bounds_are_rejected(widgets: Widgets) -> None:
    answer = _rejected(
        lambda: widgets.create("bad", size="Huge", replicas=11, tags=["t-1", "t-2", "t-3", "t-4"])
    )
    assert _causes(answer) == {
        "spec.size": "FieldValueNotSupported",
        "spec.replicas": "FieldValueInvalid",
        "spec.tags": "FieldValueTooMany",
    }
    assert 'spec.size: Unsupported value: "Huge": supported values: "Small", "Large"' in answer["message"]
    typed = _rejected(lambda: widgets.create("typed", replicas="three"))
    assert _causes(typed) == {"spec.replicas": "FieldValueTypeInvalid"}


def test_cel_rule_with_field_path(widgets: Widgets) -> None:
    answer = _rejected(lambda: widgets.create("tags", tags=["t-ok", "bad"]))
    assert answer["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "object": tags must start with t-',
            "field": "spec.tags",
        }
    ]


def test_cel_transition_rule_makes_a_field_immutable(widgets: Widgets) -> None:
    widgets.create("immutable", owner="team-a")
    answer = _rejected(lambda: widgets.patch("immutable", {"spec": {"owner": "team-b"}}))
    assert answer["message"] == (
        f'{widgets.kind}.{TEST_GROUP} "immutable" is invalid: spec.owner: Invalid value: "string": owner is immutable'
    )
    assert (
        widgets.patch("immutable", {"spec": {"note": "other fields still change"}})["spec"]["owner"]
        == "team-a"
    )


def test_status_writes_are_validated(widgets: Widgets) -> None:
    widgets.create("status-check")
    answer = _rejected(lambda: widgets.patch_status("status-check", {"status": {"phase": "Exploded"}}))
    assert _causes(answer) == {"status.phase": "FieldValueNotSupported"}


def test_unknown_fields_are_pruned(widgets: Widgets) -> None:
    created = widgets.create("pruned", unknown="dropped", extra={"free": {"form": 1}})
    assert "unknown" not in created["spec"]
    assert created["spec"]["extra"] == {"free": {"form": 1}}
    widgets.patch_status("pruned", {"status": {"phase": "Seen", "anything": "kept"}})
    assert widgets.get("pruned")["status"] == {"phase": "Seen", "anything": "kept"}


def test_a_crd_with_a_broken_cel_rule_is_rejected(api_client: client.ApiClient) -> None:
    crd = widget_crd("widgetsbroken", "WidgetBroken")
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["spec"]["x-kubernetes-validations"] = [{"rule": "self.size ==", "message": "broken"}]
    extensions = client.ApiextensionsV1Api(api_client)
    with pytest.raises(ApiException) as failure:
        extensions.create_custom_resource_definition(crd)
    assert failure.value.status == 422


@emulator_only
def test_the_projects_crds_are_accepted(tmp_path: Path) -> None:
    """Every CEL rule in crds/*.yaml compiles in the emulator (so its checks apply to the operator's tests)."""
    files = sorted(CRD_DIR.glob("*.yaml"))
    if not files:
        pytest.skip(f"no CRDs in {CRD_DIR}")
    with KubeEmulator() as emulator:
        api = config.new_client_from_config(
            config_file=str(emulator.write_kubeconfig(tmp_path / "kubeconfig"))
        )
        extensions = client.ApiextensionsV1Api(api)
        for path in files:
            crd = yaml.safe_load(path.read_text())
            created = extensions.create_custom_resource_definition(crd)
            assert any(c.type == "Established" and c.status == "True" for c in created.status.conditions)
        api.close()
