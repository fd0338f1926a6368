"""The Helm chart: lints, renders valid manifests, ships the generated CRDs and least-privilege RBAC."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tyk_portal_operator.cli import build_parser
from tyk_portal_operator.kube.permissions import required_permissions

from .conftest import (
    CHART_DIR,
    NAMESPACE,
    REPO_ROOT,
    VALUE_SETS,
    VALUES_DIR,
    Rendered,
    load_script,
    run_helm,
    template,
)

pytestmark = pytest.mark.xdist_group("deploy-chart")

Render = Callable[[str], Rendered]
Perm = tuple[str, str, str]
SYNC = load_script("sync-chart")
OUR_GROUPS = {"apiportal.dev", "kopf.dev"}
RBAC_KINDS = {"Role", "ClusterRole"}
# Scope of the built-in resources the operator may use (the CRDs' own scope comes from the CRDs).
BUILTIN_CLUSTER_SCOPED = {("", "namespaces"), ("apiextensions.k8s.io", "customresourcedefinitions")}
BUILTIN_NAMESPACED = {("", "secrets"), ("", "configmaps"), ("", "events"), ("events.k8s.io", "events")}


def crd_documents(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc
        for path in sorted(folder.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    }


def crd_schema(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = (v for v in crd["spec"]["versions"] if v["storage"])
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def grants(rules: Iterable[dict[str, Any]]) -> set[Perm]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule["verbs"]
    }


def operator_grants(rendered: Rendered) -> tuple[set[Perm], dict[str, set[Perm]]]:
    """What the operator's ServiceAccount may do: cluster-wide, and per namespace through Roles."""
    sa = rendered.one("ServiceAccount")["metadata"]
    roles = {(r["kind"], r["metadata"].get("namespace"), r["metadata"]["name"]): r for r in rendered.docs}

    def bound(binding: dict[str, Any]) -> bool:
        return any(
            s["kind"] == "ServiceAccount" and s["name"] == sa["name"] and s["namespace"] == sa["namespace"]
            for s in binding["subjects"]
        )

    cluster: set[Perm] = set()
    for binding in rendered.of_kind("ClusterRoleBinding"):
        if bound(binding):
            cluster |= grants(roles[("ClusterRole", None, binding["roleRef"]["name"])]["rules"])
    per_namespace: dict[str, set[Perm]] = {}
    for binding in rendered.of_kind("RoleBinding"):
        if bound(binding):
            ns = binding["metadata"]["namespace"]
            ref = binding["roleRef"]
            role = roles[(ref["kind"], ns if ref["kind"] == "Role" else None, ref["name"])]
            per_namespace.setdefault(ns, set()).update(grants(role["rules"]))
    return cluster, per_namespace


@functools.cache
def crd_scopes() -> dict[tuple[str, str], str]:
    crds = crd_documents(REPO_ROOT / "crds") | crd_documents(CHART_DIR / "files" / "kopf-crds")
    return {(c["spec"]["group"], c["spec"]["names"]["plural"]): c["spec"]["scope"] for c in crds.values()}


def scope_of(group: str, resource: str) -> str:
    base = resource.split("/")[0]
    if (group, base) in crd_scopes():
        return crd_scopes()[(group, base)]
    if (group, base) in BUILTIN_CLUSTER_SCOPED:
        return "Cluster"
    if (group, base) in BUILTIN_NAMESPACED:
        return "Namespaced"
    raise AssertionError(f"unknown scope of {group or 'core'}/{resource}: add it to this test's tables")


def the_container(rendered: Rendered) -> dict[str, Any]:
    (container,) = rendered.one("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


# --- lint and render -----------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint_strict(helm: Path, value_set: str) -> None:
    result = run_helm(helm, "lint", "--strict", str(CHART_DIR), "-f", str(VALUES_DIR / f"{value_set}.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_rendered_builtin_kinds_are_valid(render: Render, value_set: str) -> None:
    version = kubernetes_validate.latest_version()
    checked = 0
    for doc in render(value_set).docs:
        if doc["apiVersion"].split("/")[0] in OUR_GROUPS or doc["kind"] in (
            "ServiceMonitor",
            "PrometheusRule",
        ):
            continue
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_rendered_custom_resources_match_their_crd_schema(render: Render, value_set: str) -> None:
    crds = {
        (crd["spec"]["group"], crd["spec"]["names"]["kind"]): crd
        for folder in (REPO_ROOT / "crds", CHART_DIR / "files" / "kopf-crds")
        for crd in crd_documents(folder).values()
    }
    for doc in render(value_set).docs:
        group = doc["apiVersion"].split("/")[0]
        if group not in OUR_GROUPS:
            continue
        crd = crds[(group, doc["kind"])]
        jsonschema.Draft7Validator(crd_schema(crd)).validate(doc)
        assert ("namespace" in doc["metadata"]) == (crd["spec"]["scope"] == "Namespaced")


def test_service_monitor_selects_the_metrics_service(render: Render) -> None:
    rendered = render("ha")
    monitor = rendered.one("ServiceMonitor")
    service = rendered.one("Service")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert [p["name"] for p in service["spec"]["ports"]] == ["metrics"]


# --- CRDs ----------------------------------------------------------------------------------------


def test_chart_crd_files_are_in_sync_with_generated_crds() -> None:
    stale = {p for p, text in SYNC.desired_files().items() if not p.is_file() or p.read_text() != text}
    shipped = set((CHART_DIR / "files" / "crds").glob("*.yaml"))
    expected = {CHART_DIR / "files" / "crds" / p.name for p in (REPO_ROOT / "crds").glob("*.yaml")}
    assert not stale, f"run `.venv/bin/python scripts/sync-chart.py`; stale: {sorted(map(str, stale))}"
    assert shipped == expected


def test_rendered_crds_equal_generated_crds_plus_keep_annotation(render: Render) -> None:
    generated = crd_documents(REPO_ROOT / "crds") | crd_documents(CHART_DIR / "files" / "kopf-crds")
    rendered = {d["metadata"]["name"]: d for d in render("default").of_kind("CustomResourceDefinition")}
    assert set(rendered) == set(generated)
    for name, crd in rendered.items():
        crd = copy.deepcopy(crd)
        assert crd["metadata"].pop("annotations") == {"helm.sh/resource-policy": "keep"}
        labels = crd["metadata"].pop("labels")
        original = copy.deepcopy(generated[name])
        assert original["metadata"].pop("labels", {}).items() <= labels.items()
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert crd == original, name


def test_crds_can_be_left_out_or_not_kept(helm: Path) -> None:
    without = template(helm, "--set", "crds.install=false")
    names = {d["metadata"]["name"] for d in without if d["kind"] == "CustomResourceDefinition"}
    assert names == {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"}
    not_kept = template(helm, "--set", "crds.keep=false", "--set", "peering.installCRDs=false")
    crds = [d for d in not_kept if d["kind"] == "CustomResourceDefinition"]
    assert len(crds) == len(list((REPO_ROOT / "crds").glob("*.yaml")))
    assert all("annotations" not in d["metadata"] for d in crds)


# --- RBAC ----------------------------------------------------------------------------------------


def test_cluster_mode_operator_rbac_is_exactly_what_the_code_requires(render: Render) -> None:
    required = SYNC.expand(required_permissions())
    cluster, per_namespace = operator_grants(render("default"))
    assert per_namespace == {}
    assert required - cluster == set(), "missing from the ClusterRole"
    assert cluster - required == set(), "granted but not required"


def test_namespaced_mode_roles_and_cluster_role_together_cover_the_code(render: Render) -> None:
    rendered = render("namespaced")
    required = SYNC.expand(required_permissions())
    cluster, per_namespace = operator_grants(rendered)
    watched = ["team-a", "team-b"]
    for ns in watched:
        have = cluster | per_namespace[ns]
        assert required - have == set(), f"missing in {ns}"
    # Namespaced resources are granted per namespace, never cluster-wide.
    assert all(scope_of(g, r) == "Cluster" for g, r, _ in cluster), sorted(cluster)
    for ns, perms in per_namespace.items():
        assert all(scope_of(g, r) == "Namespaced" for g, r, _ in perms), ns
    # The only grants outside the watched namespaces: reading provider Secrets in the release namespace,
    # and posting Events about cluster-scoped objects (TykProviders) in `default`, the only namespace
    # where the API server accepts them.
    assert set(per_namespace) == {*watched, NAMESPACE, "default"}
    assert per_namespace[NAMESPACE] == {("", "secrets", "get")}
    assert per_namespace["default"] == {("", "events", "create")}
    assert all(p in required for perms in per_namespace.values() for p in perms)
    assert cluster <= required


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_no_rule_uses_wildcards(render: Render, value_set: str) -> None:
    rules = [rule for doc in render(value_set).docs if doc["kind"] in RBAC_KINDS for rule in doc["rules"]]
    assert rules
    for rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert not any("*" in item for item in rule.get(field, [])), rule
        assert "nonResourceURLs" not in rule


def test_operator_rules_file_is_generated_from_required_permissions() -> None:
    path = CHART_DIR / "files" / "rbac" / "operator-rules.yaml"
    rules = yaml.safe_load(path.read_text())
    assert grants(rules["clusterScoped"]) | grants(rules["namespaced"]) == SYNC.expand(required_permissions())


def personas(rendered: Rendered) -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d
        for d in rendered.of_kind("ClusterRole")
        if d["metadata"]["name"].startswith("apiportal-")
    }


def test_persona_roles(render: Render) -> None:
    roles = personas(render("default"))
    assert set(roles) == {
        "apiportal-consumer",
        "apiportal-approver",
        "apiportal-api-owner",
        "apiportal-viewer",
    }
    g = "apiportal.dev"
    read = {"get", "list", "watch"}
    crud = read | {"create", "update", "patch", "delete", "deletecollection"}
    consumer = grants(roles["apiportal-consumer"]["rules"])
    assert consumer == {(g, r, v) for r in ("consumerapps", "provisioningrequests") for v in crud} | {
        (g, r, v) for r in ("catalogues", "apiproducts", "plans") for v in read
    }
    approver = grants(roles["apiportal-approver"]["rules"])
    assert approver == {(g, "provisioningrequests", v) for v in read} | {
        (g, "provisioningrequests/status", v) for v in ("patch", "update")
    }
    owner = grants(roles["apiportal-api-owner"]["rules"])
    assert owner == {(g, r, v) for r in ("apiproducts", "plans", "catalogues") for v in crud}
    viewer = grants(roles["apiportal-viewer"]["rules"])
    assert viewer == {(g, r, v) for r in SYNC.KINDS for v in read}
    assert (
        roles["apiportal-consumer"]["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"]
        == "true"
    )
    assert (
        roles["apiportal-viewer"]["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"]
        == "true"
    )
    for name in ("apiportal-approver", "apiportal-api-owner"):
        assert not any(k.startswith("rbac.authorization.k8s.io/") for k in roles[name]["metadata"]["labels"])


def test_personas_can_be_turned_off(helm: Path) -> None:
    docs = template(helm, "--set", "rbac.personas.create=false")
    assert not [d for d in docs if d["metadata"]["name"].startswith("apiportal-")]
    docs = template(helm, "--set", "rbac.personas.aggregateToDefaultRoles=false")
    for doc in docs:
        if doc["metadata"]["name"].startswith("apiportal-"):
            assert not any(k.startswith("rbac.authorization.k8s.io/") for k in doc["metadata"]["labels"])


# --- Deployment ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_deployment_is_hardened(render: Render, value_set: str) -> None:
    pod = render(value_set).one("Deployment")["spec"]["template"]["spec"]
    pod_sc = pod["securityContext"]
    assert pod_sc["runAsNonRoot"] is True
    assert isinstance(pod_sc["runAsUser"], int) and pod_sc["runAsUser"] > 0
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    container = the_container(render(value_set))
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    (tmp,) = (m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
    (volume,) = (v for v in pod["volumes"] if v["name"] == tmp["name"])
    assert "emptyDir" in volume


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_probes_and_ports(render: Render, value_set: str) -> None:
    container = the_container(render(value_set))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"health": 8080, "metrics": 9090}
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz"
        assert ports[get["port"]] == 8080
    args = build_parser().parse_args(container["args"])
    assert args.command == "run"
    assert args.liveness == "http://0.0.0.0:8080/healthz"
    assert args.metrics_port == 9090


@pytest.mark.parametrize(
    ("value_set", "replicas", "standalone", "namespaces"),
    [
        ("default", 1, False, None),
        ("standalone", 1, True, None),
        ("ha", 2, False, None),
        ("namespaced", 1, False, ["team-a", "team-b"]),
    ],
)
def test_operator_arguments_follow_the_mode(
    render: Render, value_set: str, replicas: int, standalone: bool, namespaces: list[str] | None
) -> None:
    rendered = render(value_set)
    assert rendered.one("Deployment")["spec"]["replicas"] == replicas
    args = build_parser().parse_args(the_container(rendered)["args"])
    assert args.standalone is standalone
    assert args.namespace == namespaces
    assert args.peering == "tyk-portal-operator"
    # Only the namespaced value set names a provider class (a second installation beside another).
    assert args.provider_class == ("team-installation" if value_set == "namespaced" else None)
    peerings = rendered.of_kind("ClusterKopfPeering") + rendered.of_kind("KopfPeering")
    if standalone:
        assert peerings == []
        assert not [
            d for d in rendered.of_kind("CustomResourceDefinition") if d["spec"]["group"] == "kopf.dev"
        ]
    elif namespaces:
        assert sorted(p["metadata"]["namespace"] for p in rendered.of_kind("KopfPeering")) == namespaces
        assert rendered.of_kind("ClusterKopfPeering") == []
    else:
        assert [p["metadata"]["name"] for p in rendered.of_kind("ClusterKopfPeering")] == [
            "tyk-portal-operator"
        ]
    assert bool(rendered.of_kind("PodDisruptionBudget")) == (replicas > 1)


def test_several_replicas_without_peering_are_refused(helm: Path) -> None:
    for extra in ([], ["--set", "podDisruptionBudget.enabled=false"]):
        result = run_helm(
            helm,
            "template",
            "x",
            str(CHART_DIR),
            "--set",
            "replicaCount=3",
            "--set",
            "peering.enabled=false",
            *extra,
        )
        assert result.returncode != 0
        assert "peering" in result.stderr


def test_unknown_values_are_refused(helm: Path) -> None:
    result = run_helm(helm, "template", "x", str(CHART_DIR), "--set", "replicas=2")
    assert result.returncode != 0
    assert "replicas" in result.stderr


# --- TykProvider from values ---------------------------------------------------------------------


def test_provider_from_values(render: Render) -> None:
    rendered = render("provider")
    provider = rendered.one("TykProvider")
    secret = rendered.one("Secret")
    assert provider["metadata"]["name"] == "production"
    ref = provider["spec"]["credentialsSecretRef"]
    assert ref == {"namespace": NAMESPACE, "name": secret["metadata"]["name"], "key": "api-key"}
    assert secret["data"] == {"api-key": "bm90LWEtcmVhbC1rZXk="}  # base64 of the value in provider.yaml
    assert provider["spec"]["policyIDPrefix"] == "prod"
    assert provider["spec"]["gatewayURL"] == "https://api.example.com"
    # The provider belongs to this installation's class, which the operator is started with.
    assert provider["spec"]["providerClass"] == "production"
    assert "--provider-class=production" in the_container(rendered)["args"]
    # The CRD is not known to a fresh cluster: the provider is created after it, as a post-install hook.
    assert provider["metadata"]["annotations"]["helm.sh/hook"] == "post-install"


def test_provider_is_an_ordinary_resource_once_the_crd_exists(helm: Path) -> None:
    docs = template(
        helm,
        "-f",
        str(VALUES_DIR / "provider.yaml"),
        "--set",
        "provider.existingSecret=tyk-dashboard",
        "--api-versions",
        "apiportal.dev/v1alpha1/TykProvider",
    )
    (provider,) = (d for d in docs if d["kind"] == "TykProvider")
    assert "helm.sh/hook" not in provider["metadata"]["annotations"]
    assert "meta.helm.sh/release-name" not in provider["metadata"]["annotations"]
    assert provider["spec"]["credentialsSecretRef"]["name"] == "tyk-dashboard"
    assert not [d for d in docs if d["kind"] == "Secret"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--set", "provider.create=true"], "provider.url"),
        (["--set", "provider.create=true", "--set", "provider.url=https://tyk.example"], "apiKey"),
    ],
)
def test_incomplete_provider_values_are_refused(helm: Path, flags: list[str], message: str) -> None:
    result = run_helm(helm, "template", "x", str(CHART_DIR), *flags)
    assert result.returncode != 0
    assert message in result.stderr
