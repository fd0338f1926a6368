"""`kubectl portal` follows kubectl's conventions, against the API emulator (or a real cluster).

Global flags before or after the subcommand, `-o json|yaml|wide|name`, the kubeconfig context's
namespace as default (and a 'not found' that says which namespace and why), `rotate` by name,
`--all` or `-l`, and `status NAME` as a detail view with conditions and Events. The operator is
not started; the plugin is exercised alone.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tyk_portal_operator.kubectl_portal import main

from .cluster import Cluster

PLURAL = "provisioningrequests"
ROTATE = "apiportal.dev/rotate"


def _request(
    cluster: Cluster, namespace: str, name: str, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return cluster.create(
        PLURAL,
        {
            "kind": "ProvisioningRequest",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {
                "appRef": {"name": "mobile"},
                "catalogueRef": {"name": "shop", "namespace": "apis"},
                "products": [{"name": "orders", "namespace": "apis"}],
                "planRef": {"name": "gold", "namespace": "apis"},
                "useCase": "checkout for the mobile app",
            },
        },
        namespace,
    )


def _rotate_token(cluster: Cluster, namespace: str, name: str) -> str | None:
    obj = cluster.get(PLURAL, name, namespace) or {}
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(ROTATE)


def _kubeconfig_with_namespace(cluster: Cluster, tmp_path: Path, namespace: str | None) -> str:
    """A copy of the cluster's kubeconfig whose current context has `namespace` (or none)."""
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    current = config["current-context"]
    for entry in config["contexts"]:
        if entry["name"] == current:
            entry["context"].pop("namespace", None)
            if namespace:
                entry["context"]["namespace"] = namespace
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_global_flags_before_the_subcommand_and_json_yaml_name(
    cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _request(cluster, namespace, "one")
    _request(cluster, namespace, "two")
    kube = ["--kubeconfig", cluster.kubeconfig]

    # The issue's example: `kubectl portal -n team-mobile status -o json`.
    assert main(["-n", namespace, *kube, "status", "-o", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["kind"] == "List"
    assert [item["metadata"]["name"] for item in listing["items"]] == ["one", "two"]

    assert main(["-o", "yaml", "status", "-n", namespace, *kube]) == 0
    assert [i["metadata"]["name"] for i in yaml.safe_load(capsys.readouterr().out)["items"]] == ["one", "two"]

    assert main(["status", *kube, "-n", namespace, "-o", "name"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "provisioningrequest.apiportal.dev/one",
        "provisioningrequest.apiportal.dev/two",
    ]

    assert main(["-n", namespace, "status", "one", "-o", "json", *kube]) == 0
    assert json.loads(capsys.readouterr().out)["metadata"]["name"] == "one"

    assert main(["status", "-n", namespace, "-o", "wide", *kube]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-4:] == ["PRODUCTS", "EXPIRES", "NEXT-ROTATION", "AGE"]
    assert "apis/orders" in lines[1]


def test_the_context_namespace_is_the_default_and_not_found_says_why(
    cluster: Cluster, namespace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _request(cluster, namespace, "mine")
    with_ns = _kubeconfig_with_namespace(cluster, tmp_path, namespace)
    assert main(["status", "-o", "name", "--kubeconfig", with_ns]) == 0
    assert capsys.readouterr().out.strip() == "provisioningrequest.apiportal.dev/mine"

    assert main(["rotate", "absent", "--kubeconfig", with_ns]) == 1
    err = capsys.readouterr().err
    assert f"absent not found in namespace {namespace}" in err
    assert "the namespace of kubeconfig context" in err

    without_ns = _kubeconfig_with_namespace(cluster, tmp_path, None)
    assert main(["status", "mine", "--kubeconfig", without_ns]) == 1
    err = capsys.readouterr().err
    assert "not found in namespace default" in err
    assert "sets no namespace" in err
    assert "-n NAMESPACE" in err
    assert "kubectl portal status -A" in err

    assert main(["status", "absent", "-n", namespace, "--kubeconfig", without_ns]) == 1
    assert "(from --namespace;" in capsys.readouterr().err


def test_rotate_several_names_all_and_selector(
    cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, app in (("a", "checkout"), ("b", "checkout"), ("c", "search")):
        _request(cluster, namespace, name, {"app": app})
    kube = ["--kubeconfig", cluster.kubeconfig, "-n", namespace]

    assert main(["rotate", "a", "b", *kube]) == 0
    assert _rotate_token(cluster, namespace, "a") is not None
    assert _rotate_token(cluster, namespace, "b") is not None
    assert _rotate_token(cluster, namespace, "c") is None
    capsys.readouterr()

    assert main(["rotate", "-l", "app=search", "-o", "name", *kube]) == 0
    assert capsys.readouterr().out.splitlines() == ["provisioningrequest.apiportal.dev/c"]
    first_c = _rotate_token(cluster, namespace, "c")
    assert first_c is not None

    before = {n: _rotate_token(cluster, namespace, n) for n in "abc"}
    assert main(["rotate", "--all", *kube]) == 0
    after = {n: _rotate_token(cluster, namespace, n) for n in "abc"}
    assert all(after[n] and after[n] != before[n] for n in "abc")

    # One missing name fails the command, the others are still rotated.
    assert main(["rotate", "a", "missing", *kube]) == 1
    assert "missing not found" in capsys.readouterr().err
    assert _rotate_token(cluster, namespace, "a") != after["a"]

    assert main(["rotate", *kube]) == 2
    assert main(["rotate", "a", "--all", *kube]) == 2


def test_status_name_is_a_detail_view(
    cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"req-{uuid.uuid4().hex[:6]}"
    obj = _request(cluster, namespace, name)
    cluster.patch_status(
        PLURAL,
        name,
        {
            "status": {
                "approval": {
                    "decision": "Approved",
                    "reason": "launch",
                    "by": "alice",
                    "time": "2025-01-01T00:00:00Z",
                },
                "secretName": f"{name}-credentials",
                "expiresAt": "2031-01-01T00:00:00Z",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "CredentialIssued",
                        "message": "key issued",
                        "lastTransitionTime": "2025-01-01T00:00:00Z",
                    }
                ],
            }
        },
        namespace,
    )
    cluster.core.create_namespaced_event(
        namespace,
        {
            "metadata": {"generateName": f"{name}."},
            "involvedObject": {
                "apiVersion": "apiportal.dev/v1alpha1",
                "kind": "ProvisioningRequest",
                "name": name,
                "namespace": namespace,
                "uid": obj["metadata"]["uid"],
            },
            "reason": "CredentialIssued",
            "message": "key written to Secret",
            "type": "Normal",
            "lastTimestamp": "2025-01-01T00:00:01Z",
            "source": {"component": "tyk-portal-operator"},
        },
    )
    assert main(["status", name, "-n", namespace, "--kubeconfig", cluster.kubeconfig]) == 0
    out = capsys.readouterr().out
    assert "Approved by alice at 2025-01-01T00:00:00Z: launch" in out
    assert f"{name}-credentials" in out
    assert "2031-01-01T00:00:00Z" in out
    conditions, events = out.split("Conditions:")[1].split("Events:")
    # The suite's operator may already have re-evaluated this hand-made request (its app does not
    # exist): the view shows whichever Ready condition the object had when it was read.
    now = (cluster.condition(PLURAL, name, namespace) or {}).get("reason", "")
    assert ("CredentialIssued" in conditions and "key issued" in conditions) or now in conditions
    assert "key written to Secret" in events
