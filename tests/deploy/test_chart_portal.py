"""The chart's Live Portal: rendered only when enabled, with a ServiceAccount that can only read."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from .conftest import NAMESPACE, run_helm, template

pytestmark = pytest.mark.xdist_group("deploy-chart")

ENABLED = [
    "--set", "portal.enabled=true",
    "--set", "portal.oidc.issuerURL=https://idp.example.com",
    "--set", "portal.oidc.clientID=api-portal",
    "--set", "portal.oidc.existingSecret=portal-oidc",
    "--set", "portal.publicURL=https://portal.example.com",
    "--set", "portal.ingress.enabled=true",
    "--set", "portal.ingress.host=portal.example.com",
    "--set", "portal.ingress.tlsSecretName=portal-tls",
    "--set", "portal.documentationConfigMaps[0].namespace=shop",
    "--set", "portal.documentationConfigMaps[0].names[0]=orders-openapi",
]  # fmt: skip
READ = {"get", "list", "watch"}


@functools.cache
def _render(helm: Path, *flags: str) -> list[dict[str, Any]]:
    return template(helm, *flags)


def _portal(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        d for d in docs if (d["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "portal"
    ]


def test_portal_is_not_rendered_unless_enabled(helm: Path) -> None:
    assert _portal(_render(helm)) == []


def test_enabled_portal_renders_valid_objects(helm: Path) -> None:
    portal = _portal(_render(helm, *ENABLED))
    kinds = sorted(d["kind"] for d in portal)
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Ingress",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]
    for doc in portal:
        kubernetes_validate.validate(doc, "1.30", strict=True)


def test_portal_service_account_may_only_read_the_catalogue(helm: Path) -> None:
    docs = _render(helm, *ENABLED)
    portal = _portal(docs)
    (sa,) = (d for d in portal if d["kind"] == "ServiceAccount")
    name = sa["metadata"]["name"]
    (deployment,) = (d for d in portal if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == name
    bound_roles = set()
    for binding in (d for d in docs if d["kind"] in ("ClusterRoleBinding", "RoleBinding")):
        if any(s["kind"] == "ServiceAccount" and s["name"] == name for s in binding["subjects"]):
            bound_roles.add(
                (binding["roleRef"]["kind"], binding["metadata"].get("namespace"), binding["roleRef"]["name"])
            )
    grants = set()
    for kind, namespace, role_name in bound_roles:
        (role,) = (
            d
            for d in docs
            if d["kind"] == kind
            and d["metadata"]["name"] == role_name
            and d["metadata"].get("namespace") == namespace
        )
        for rule in role["rules"]:
            assert set(rule["verbs"]) <= READ, rule
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    grants.add((namespace, group, resource, tuple(rule.get("resourceNames") or ())))
    assert grants == {
        (None, "apiportal.dev", "catalogues", ()),
        (None, "apiportal.dev", "apiproducts", ()),
        (None, "apiportal.dev", "plans", ()),
        (None, "", "namespaces", ()),
        ("shop", "", "configmaps", ("orders-openapi",)),
    }  # no Secrets, no writes, no impersonation


def test_portal_pods_are_apart_from_the_operator_and_configured(helm: Path) -> None:
    docs = _render(helm, *ENABLED)
    operator = next(d for d in docs if d["kind"] == "Deployment" and d not in _portal(docs))
    portal = next(d for d in _portal(docs) if d["kind"] == "Deployment")
    portal_labels = portal["spec"]["template"]["metadata"]["labels"]
    selector = operator["spec"]["selector"]["matchLabels"]
    assert not all(portal_labels.get(k) == v for k, v in selector.items())  # the operator never selects them
    container = portal["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "tyk_portal_operator.portal"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["PORTAL_OIDC_ISSUER"] == "https://idp.example.com"
    assert env["PORTAL_PUBLIC_URL"] == "https://portal.example.com"
    assert env["PORTAL_SESSION_SECRET"] == {"secretKeyRef": {"name": "portal-oidc", "key": "session-secret"}}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    (ingress,) = (d for d in docs if d["kind"] == "Ingress")
    assert ingress["spec"]["tls"] == [{"hosts": ["portal.example.com"], "secretName": "portal-tls"}]


def test_enabled_portal_without_oidc_settings_is_refused(helm: Path) -> None:
    result = run_helm(
        helm,
        "template",
        "portal",
        str(Path(__file__).resolve().parents[2] / "deploy/helm/tyk-portal-operator"),
        "--namespace",
        NAMESPACE,
        "--set",
        "portal.enabled=true",
    )
    assert result.returncode != 0
    assert "portal.oidc.existingSecret is required" in result.stderr
