"""GitOps tools apply examples/ server-side (as Flux and Argo CD do) and the operator never fights them.

The manifests are applied with `application/apply-patch+yaml` by field manager `flux`, applied again,
and applied once more by a second manager (`argocd-controller`) after the operator has reconciled
everything. Every re-apply must answer 200 without a conflict and without changing
`metadata.generation` (no drift on spec), and the operator's own writes (status, finalizers,
annotations) must be recorded in managedFields entries that own no `f:spec` field.

The examples go into this test's namespaces (`t-<runid>-<random>-shop`, ...) with a provider of this
run's class, like test_examples.py.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from kopf.testing import KopfRunner

from tests.emulators.tyk import TykEmulator
from tests.sandbox.manifests import (
    DASHBOARD_KEY_PLACEHOLDER,
    DASHBOARD_URL_PLACEHOLDER,
    GATEWAY_URL_PLACEHOLDER,
    KINDS,
    documents_of,
    load_examples,
    object_ref,
)

from .cluster import GROUP, VERSION, Cluster, wait_for
from .conftest import NAMESPACE_PREFIX, Created
from .test_examples import EXAMPLE_NAMESPACES, localise

APPLY_PATCH = "application/apply-patch+yaml"
FLUX, ARGO = "flux", "argocd-controller"
GITOPS_MANAGERS = (FLUX, ARGO)


def server_side_apply(cluster: Cluster, doc: dict[str, Any], manager: str) -> tuple[int, dict[str, Any]]:
    """PATCH the document as an apply configuration owned by `manager` (no force); returns the HTTP
    status and the object. A conflict raises ApiException (409)."""
    kind, metadata = doc["kind"], doc["metadata"]
    name, namespace = metadata["name"], metadata.get("namespace")
    options: dict[str, Any] = {"field_manager": manager, "_content_type": APPLY_PATCH}
    if kind == "Namespace":
        response: Any = cluster.core.patch_namespace_with_http_info(name, doc, **options)
    elif kind == "Secret":
        response = cluster.core.patch_namespaced_secret_with_http_info(name, namespace, doc, **options)
    elif KINDS[kind].namespaced:
        response = cluster.custom.patch_namespaced_custom_object_with_http_info(
            GROUP, VERSION, namespace, KINDS[kind].plural, name, doc, **options
        )
    else:
        response = cluster.custom.patch_cluster_custom_object_with_http_info(
            GROUP, VERSION, KINDS[kind].plural, name, doc, **options
        )
    data, status, _headers = response  # (data, HTTP status, headers)
    return int(status), cluster.api_client.sanitize_for_serialization(data)


def as_applied(doc: dict[str, Any]) -> dict[str, Any]:
    """A Secret's write-only `stringData` as base64 `data`, as Flux's kustomize-controller does before
    applying: `stringData` is never stored, so a second applier of it would conflict on every sync."""
    if doc["kind"] != "Secret" or not doc.get("stringData"):
        return doc
    data = {k: base64.b64encode(str(v).encode()).decode() for k, v in doc["stringData"].items()}
    converted = {k: v for k, v in doc.items() if k != "stringData"}
    converted["data"] = {**(doc.get("data") or {}), **data}
    return converted


def _ours(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] in KINDS]


def _where(doc: dict[str, Any]) -> tuple[str, str, str | None]:
    info = KINDS[doc["kind"]]
    return info.plural, doc["metadata"]["name"], doc["metadata"].get("namespace") if info.namespaced else None


def _reconciled(cluster: Cluster, doc: dict[str, Any]) -> bool:
    """The operator has looked at the current spec: Ready reported for the current generation, and
    its finalizer written (a request gets one only once it has a credential to revoke)."""
    obj = cluster.get(*_where(doc)) or {}
    status, metadata = obj.get("status") or {}, obj.get("metadata") or {}
    needs_finalizer = doc["kind"] != "ProvisioningRequest" or bool(status.get("issuedAt"))
    return (
        status.get("observedGeneration") == metadata.get("generation")
        and any(c.get("type") == "Ready" for c in status.get("conditions") or [])
        and (bool(metadata.get("finalizers")) or not needs_finalizer)
    )


def _owns_spec(fields: dict[str, Any] | None) -> bool:
    return "f:spec" in (fields or {})


@pytest.fixture
def prefix(created: Created) -> str:
    prefix = f"{NAMESPACE_PREFIX}{uuid.uuid4().hex[:6]}"
    for name in EXAMPLE_NAMESPACES:
        created.adopt_namespace(f"{prefix}-{name}")
    created.provider(f"{prefix}-tyk")
    return prefix


def test_server_side_apply_by_gitops_tools_never_conflicts_with_the_operator(
    operator: KopfRunner, cluster: Cluster, prefix: str, tyk: TykEmulator
) -> None:
    substitutions = {
        DASHBOARD_URL_PLACEHOLDER: tyk.url,
        GATEWAY_URL_PLACEHOLDER: tyk.gateway_url,
        DASHBOARD_KEY_PLACEHOLDER: "dash-secret",
    }
    docs = [as_applied(doc) for doc in localise(documents_of(load_examples(substitutions)), prefix)]

    for doc in docs:
        code, _ = server_side_apply(cluster, doc, FLUX)
        assert code in (200, 201), object_ref(doc)
    for doc in docs:  # Flux's next sync, before the operator is done: nothing to change
        code, _ = server_side_apply(cluster, doc, FLUX)
        assert code == 200, object_ref(doc)

    cluster.wait_condition("tykproviders", f"{prefix}-tyk", reason="Connected")
    for doc in _ours(docs):
        if doc["kind"] in ("APIProduct", "Plan"):
            cluster.wait_condition(*_where(doc), reason="PolicySynced")
    cluster.wait_condition(
        "provisioningrequests", "mobile-shop-free", f"{prefix}-team-mobile", reason="CredentialIssued"
    )
    for doc in _ours(docs):
        wait_for(lambda d=doc: _reconciled(cluster, d), what=f"{object_ref(doc)} reconciled")

    before = {object_ref(doc): cluster.get(*_where(doc)) for doc in _ours(docs)}
    for manager in (FLUX, ARGO):  # Flux syncs again; then Argo CD applies the same manifests
        for doc in docs:
            code, live = server_side_apply(cluster, doc, manager)
            assert code == 200, f"{manager} re-applying {object_ref(doc)}: {code}"
            if doc["kind"] not in KINDS:
                continue
            old = before[object_ref(doc)]
            assert old is not None
            assert live["metadata"]["generation"] == old["metadata"]["generation"], (
                f"{manager} re-applying {object_ref(doc)} changed its spec: operator drift"
            )
            assert live["spec"] == old["spec"], object_ref(doc)

    for doc in _ours(docs):
        obj = cluster.get(*_where(doc))
        assert obj is not None
        entries = obj["metadata"].get("managedFields") or []
        described = json.dumps(entries, indent=1)
        appliers = {
            e["manager"] for e in entries if e.get("operation") == "Apply" and _owns_spec(e.get("fieldsV1"))
        }
        assert appliers == set(GITOPS_MANAGERS), f"{object_ref(doc)}: spec appliers {appliers}\n{described}"
        others = [e for e in entries if e["manager"] not in GITOPS_MANAGERS]
        assert others, f"{object_ref(doc)}: no managedFields entry for the operator's writes\n{described}"
        for entry in others:
            assert not _owns_spec(entry.get("fieldsV1")), (
                f"{object_ref(doc)}: {entry['manager']} ({entry.get('operation')}) owns spec fields\n{described}"
            )
        # The operator's writes are tracked: its status and its finalizer (when it has one).
        operator_fields = json.dumps([e.get("fieldsV1") for e in others])
        assert "f:status" in operator_fields, described
        assert "f:finalizers" in operator_fields or not obj["metadata"].get("finalizers"), described
