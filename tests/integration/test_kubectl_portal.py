"""`kubectl portal` against the Kubernetes API emulator (or PORTAL_TEST_KUBECONFIG's cluster).

Uses the `cluster` and `namespace` fixtures of this folder's conftest: the CRDs from `crds/` are
installed through the API (409 tolerated), and each test gets a fresh namespace. The operator is
not started; the plugin is exercised alone and its effect read back over the API.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from kubernetes import config as k8s_config

from tyk_portal_operator.kubectl_portal import main

from .cluster import Cluster

PLURAL = "provisioningrequests"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _create_request(cluster: Cluster, namespace: str, name: str | None = None) -> str:
    name = name or f"req-{uuid.uuid4().hex[:8]}"
    cluster.create(
        PLURAL,
        {
            "kind": "ProvisioningRequest",
            "metadata": {"name": name},
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
    return name


def _approval(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    obj = cluster.get(PLURAL, name, namespace) or {}
    return (obj.get("status") or {}).get("approval")


def _context_user(kubeconfig: str) -> str:
    _, current = k8s_config.list_kube_config_contexts(config_file=kubeconfig)
    return str(current["context"]["user"])


def test_approve_records_the_decision(
    cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = _create_request(cluster, namespace)
    code = main(
        [
            "approve",
            name,
            "-n",
            namespace,
            "--reason",
            "payments team, OPS-42",
            "--kubeconfig",
            cluster.kubeconfig,
        ]
    )
    assert code == 0
    approval = _approval(cluster, namespace, name)
    assert approval is not None
    assert approval["decision"] == "Approved"
    assert approval["reason"] == "payments team, OPS-42"
    assert approval["by"] == _context_user(cluster.kubeconfig)
    assert RFC3339.match(approval["time"])
    assert f"{name} approved" in capsys.readouterr().out


def test_a_decision_is_final(cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    name = _create_request(cluster, namespace)
    kube = ["--kubeconfig", cluster.kubeconfig]
    assert main(["approve", name, "-n", namespace, "--reason", "first", "--as-name", "alice", *kube]) == 0
    before = _approval(cluster, namespace, name)
    capsys.readouterr()

    assert main(["approve", name, "-n", namespace, "--reason", "again", "--as-name", "bob", *kube]) == 1
    err = capsys.readouterr().err
    assert "already Approved by alice" in err
    assert "(first)" in err
    assert main(["deny", name, "-n", namespace, "--reason", "changed my mind", *kube]) == 1
    assert _approval(cluster, namespace, name) == before


def test_deny_a_fresh_request(cluster: Cluster, namespace: str) -> None:
    name = _create_request(cluster, namespace)
    code = main(
        [
            "deny",
            name,
            "-n",
            namespace,
            "--reason",
            "use the sandbox plan",
            "--as-name",
            "carol",
            "--kubeconfig",
            cluster.kubeconfig,
        ]
    )
    assert code == 0
    approval = _approval(cluster, namespace, name)
    assert approval is not None
    assert approval["decision"] == "Denied"
    assert approval["by"] == "carol"
    assert approval["reason"] == "use the sandbox plan"


def test_rotate_sets_a_new_annotation_each_time(cluster: Cluster, namespace: str) -> None:
    name = _create_request(cluster, namespace)
    kube = ["--kubeconfig", cluster.kubeconfig]

    def token() -> str | None:
        obj = cluster.get(PLURAL, name, namespace) or {}
        return ((obj.get("metadata") or {}).get("annotations") or {}).get("apiportal.dev/rotate")

    assert main(["rotate", name, "-n", namespace, *kube]) == 0
    first = token()
    assert first is not None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", first)
    assert main(["rotate", name, "-n", namespace, *kube]) == 0
    second = token()
    assert second is not None
    assert second != first
    # The spec is untouched and no decision is made.
    assert _approval(cluster, namespace, name) is None


def test_status_lists_requests(cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    approved = _create_request(cluster, namespace, "approved-one")
    pending = _create_request(cluster, namespace, "pending-one")
    kube = ["--kubeconfig", cluster.kubeconfig]
    assert main(["approve", approved, "-n", namespace, "--reason", "ok", *kube]) == 0
    capsys.readouterr()

    assert main(["status", "-n", namespace, *kube]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "APP", "PLAN", "DECISION", "READY", "REASON", "SECRET"]
    rows = {line.split()[1]: line.split() for line in lines[1:]}
    # READY/REASON depend on whether the operator (running in the same session) has looked yet.
    assert rows[approved][:5] == [namespace, approved, "mobile", "apis/gold", "Approved"]
    assert rows[approved][5] in ("-", "False")
    assert rows[pending][4] == "Pending"

    assert main(["status", "-A", *kube]) == 0
    everywhere = capsys.readouterr().out
    assert f"{namespace}" in everywhere
    assert pending in everywhere


def test_status_of_an_empty_namespace(
    cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "-n", namespace, "--kubeconfig", cluster.kubeconfig]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"No provisioning requests found in namespace {namespace}" in captured.err


def test_missing_request_and_usage_errors(
    cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    kube = ["--kubeconfig", cluster.kubeconfig]
    assert main(["approve", "nope", "-n", namespace, "--reason", "x", *kube]) == 1
    assert f"nope not found in namespace {namespace}" in capsys.readouterr().err
    assert main(["rotate", "nope", "-n", namespace, *kube]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["approve", "x", "-n", namespace, *kube]) == 2  # --reason is required
    assert main(["deny", "x", "-n", namespace, "--reason", "  ", *kube]) == 2
    assert main(["status", "-n", namespace, "-A", *kube]) == 2
    assert main([]) == 2


def test_a_decision_racing_another_is_not_overwritten(
    cluster: Cluster, namespace: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone approves between our read and our write: the conditional write fails, we re-read and refuse."""
    import tyk_portal_operator.kubectl_portal as plugin

    name = _create_request(cluster, namespace)
    stale = cluster.get(PLURAL, name, namespace)
    cluster.patch_status(
        PLURAL,
        name,
        {
            "status": {
                "approval": {
                    "decision": "Approved",
                    "reason": "first",
                    "by": "dave",
                    "time": "2025-01-01T00:00:00Z",
                }
            }
        },
        namespace,
    )
    real_get = plugin._get
    reads: list[int] = []

    def get_once_stale(session: Any, ns: str, n: str) -> dict[str, Any]:
        reads.append(1)
        return stale if len(reads) == 1 else real_get(session, ns, n)  # type: ignore[return-value]

    monkeypatch.setattr(plugin, "_get", get_once_stale)
    code = main(["deny", name, "-n", namespace, "--reason", "late", "--kubeconfig", cluster.kubeconfig])
    assert code == 1
    assert len(reads) == 2
    assert "already Approved by dave" in capsys.readouterr().err
    approval = _approval(cluster, namespace, name)
    assert approval is not None
    assert (approval["decision"], approval["by"]) == ("Approved", "dave")
