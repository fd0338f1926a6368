"""The Argo CD health check (Lua), run in a real Lua 5.1 interpreter as Argo CD's gopher-lua would."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tyk_portal_operator.core.conditions import Reason, Severity

from .conftest import REPO_ROOT, load_script

SCRIPT = (REPO_ROOT / "deploy" / "argocd" / "health" / "apiportal.lua").read_text()
SYNC = load_script("sync-chart")


def lua_runtime() -> Any:
    try:
        return importlib.import_module("lupa.lua51").LuaRuntime()
    except ImportError:
        return importlib.import_module("lupa").LuaRuntime()


def to_lua(lua: Any, value: Any) -> Any:
    """Dicts become Lua tables, lists 1-indexed Lua tables, as Argo CD converts the object's JSON."""
    if isinstance(value, dict):
        return lua.table_from({k: to_lua(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([to_lua(lua, v) for v in value])
    return value


@pytest.fixture(scope="module")
def health() -> Callable[[dict[str, Any]], tuple[str, str]]:
    lua = lua_runtime()
    check = lua.eval(f"function(obj)\n{SCRIPT}\nend")

    def run(obj: dict[str, Any]) -> tuple[str, str]:
        result = check(to_lua(lua, obj))
        return str(result["status"]), str(result["message"])

    return run


def cond(type_: str, status: str, reason: str, message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def resource(
    kind: str, conditions: list[dict[str, str]] | None, generation: int = 3, observed: int = 3
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apiportal.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "team-a", "generation": generation},
    }
    if conditions is not None:
        obj["status"] = {"observedGeneration": observed, "conditions": conditions}
    return obj


def test_ready(health: Callable[[dict[str, Any]], tuple[str, str]]) -> None:
    obj = resource(
        "APIProduct",
        [
            cond("Ready", "True", "PolicySynced", "policy k8s.apiproduct.team-a.x is in sync"),
            cond("Reconciling", "False", "PolicySynced"),
            cond("Stalled", "False", "PolicySynced"),
        ],
    )
    assert health(obj) == ("Healthy", "PolicySynced: policy k8s.apiproduct.team-a.x is in sync")


def test_progressing(health: Callable[[dict[str, Any]], tuple[str, str]]) -> None:
    obj = resource(
        "Plan",
        [
            cond("Ready", "False", "TykUnavailable", "Dashboard answered 503"),
            cond("Reconciling", "True", "TykUnavailable", "retrying in 30s"),
            cond("Stalled", "False", "TykUnavailable"),
        ],
    )
    assert health(obj) == ("Progressing", "TykUnavailable: retrying in 30s")


def test_degraded(health: Callable[[dict[str, Any]], tuple[str, str]]) -> None:
    obj = resource(
        "APIProduct",
        [
            cond("Ready", "False", "APINotFound", "no Tyk API with id 'abc'"),
            cond("Reconciling", "False", "APINotFound"),
            cond("Stalled", "True", "APINotFound", "no Tyk API with id 'abc'"),
        ],
    )
    assert health(obj) == ("Degraded", "APINotFound: no Tyk API with id 'abc'")


def test_stalled_reason_without_stalled_condition_is_degraded(
    health: Callable[[dict[str, Any]], tuple[str, str]],
) -> None:
    obj = resource("ConsumerApp", [cond("Ready", "False", "InvalidSpec", "bad redirect URI")])
    assert health(obj) == ("Degraded", "InvalidSpec: bad redirect URI")


def test_awaiting_approval(health: Callable[[dict[str, Any]], tuple[str, str]]) -> None:
    obj = resource(
        "ProvisioningRequest",
        [
            cond("Ready", "False", "AwaitingApproval", "plan gold needs a manual approval"),
            cond("Reconciling", "False", "AwaitingApproval"),
            cond("Stalled", "False", "AwaitingApproval"),
        ],
    )
    assert health(obj) == ("Suspended", "AwaitingApproval: plan gold needs a manual approval")


def test_suspended(health: Callable[[dict[str, Any]], tuple[str, str]]) -> None:
    obj = resource(
        "ProvisioningRequest",
        [
            cond("Ready", "False", "Suspended", "spec.suspended is true"),
            cond("Stalled", "False", "Suspended"),
        ],
    )
    assert health(obj) == ("Suspended", "Suspended: spec.suspended is true")


def test_denied_request_is_degraded(health: Callable[[dict[str, Any]], tuple[str, str]]) -> None:
    obj = resource(
        "ProvisioningRequest",
        [
            cond("Ready", "False", "Denied", "denied by alice"),
            cond("Stalled", "True", "Denied", "denied by alice"),
        ],
    )
    obj["status"]["approval"] = {"decision": "Denied", "reason": "no business case"}
    assert health(obj)[0] == "Degraded"


def test_stale_generation_is_progressing_even_if_ready(
    health: Callable[[dict[str, Any]], tuple[str, str]],
) -> None:
    obj = resource("Catalogue", [cond("Ready", "True", "Resolved")], generation=4, observed=3)
    assert health(obj) == ("Progressing", "Waiting for the operator to observe generation 4")
    del obj["status"]["observedGeneration"]
    assert health(obj)[0] == "Progressing"


def test_no_status_yet(health: Callable[[dict[str, Any]], tuple[str, str]]) -> None:
    assert health(resource("TykProvider", None)) == (
        "Progressing",
        "Waiting for the operator to report a status",
    )


def test_status_without_conditions(health: Callable[[dict[str, Any]], tuple[str, str]]) -> None:
    assert health(resource("TykProvider", []))[0] == "Progressing"


def test_every_kind_and_ready_reason_is_healthy(health: Callable[[dict[str, Any]], tuple[str, str]]) -> None:
    for kind in SYNC.CR_KINDS:
        for reason in ("Connected", "PolicySynced", "Resolved", "AppReady", "CredentialIssued"):
            assert health(resource(kind, [cond("Ready", "True", reason)]))[0] == "Healthy"


def test_argocd_cm_patch_embeds_the_script_for_each_kind() -> None:
    path = REPO_ROOT / "deploy" / "argocd" / "argocd-cm-health.yaml"
    assert path.read_text() == SYNC.argocd_cm_patch(), "run `.venv/bin/python scripts/sync-chart.py`"
    data = yaml.safe_load(path.read_text())["data"]
    assert data == {f"resource.customizations.health.apiportal.dev_{k}": SCRIPT for k in SYNC.CR_KINDS}


def test_docs_snippet_is_the_generated_patch() -> None:
    docs = (REPO_ROOT / "docs" / "gitops.md").read_text()
    patch = (REPO_ROOT / "deploy" / "argocd" / "argocd-cm-health.yaml").read_text()
    body = patch[patch.index("apiVersion: v1") :]
    assert f"```yaml\n{body}```" in docs, "paste deploy/argocd/argocd-cm-health.yaml into docs/gitops.md"


def test_the_object_is_not_modified(health: Callable[[dict[str, Any]], tuple[str, str]]) -> None:
    obj = resource("Plan", [cond("Ready", "True", "PolicySynced")])
    before = copy.deepcopy(obj)
    health(obj)
    assert obj == before


def test_every_ready_false_reason_maps_by_its_severity(
    health: Callable[[dict[str, Any]], tuple[str, str]],
) -> None:
    expected = {
        Severity.PROGRESSING: "Progressing",
        Severity.WAITING: "Suspended",
        Severity.STALLED: "Degraded",
    }
    for reason in Reason:
        if reason.severity is Severity.READY:
            continue
        # Only Ready is reported: the script must still classify the reason correctly.
        obj = resource("ProvisioningRequest", [cond("Ready", "False", reason.value, "m")])
        assert health(obj) == (expected[reason.severity], f"{reason.value}: m"), reason
