"""examples/ is a working walkthrough: every manifest is accepted and the operator makes the
provider, products and plans Ready. Also: `make demo` (the local sandbox) runs to completion.

The examples are applied into per-test namespaces (`t-<runid>-<random>-shop`, ...) with a per-test
provider of this run's class, so the test reruns cleanly on a real cluster (PORTAL_TEST_KUBECONFIG)
and the session's operator serves them. The provider is made non-default and named in every product
and plan: other tests of the session may have a default provider of their own, and the operator
refuses to choose between several.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
    apply_document,
    documents_of,
    load_examples,
    object_ref,
    rename_namespaces,
)

from .cluster import REPO, Cluster
from .conftest import NAMESPACE_PREFIX, PROVIDER_CLASS, Created

EXAMPLE_NAMESPACES = ("tyk-portal-system", "shop", "team-mobile")
PUBLISHED_KINDS = ("APIProduct", "Plan")


def localise(docs: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The examples in this test's namespaces, with this test's (non-default) provider."""
    mapping = {name: f"{prefix}-{name}" for name in EXAMPLE_NAMESPACES}
    provider = f"{prefix}-tyk"
    out = []
    for doc in docs:
        doc = rename_namespaces(doc, mapping)
        if doc["kind"] == "TykProvider":
            doc["metadata"]["name"] = provider
            doc["spec"].pop("default", None)
            doc["spec"]["orgID"] = "org1"  # the `tyk` fixture's organisation
            doc["spec"]["providerClass"] = PROVIDER_CLASS
        elif doc["kind"] in PUBLISHED_KINDS:
            doc["spec"]["providerRef"] = {"name": provider}
        out.append(doc)
    return out


@pytest.fixture
def prefix(created: Created) -> str:
    """`t-<runid>-<random>`: the examples' namespaces and provider get it; all are registered for
    clean-up (namespaces first, then the provider, then the test's Tyk emulator)."""
    prefix = f"{NAMESPACE_PREFIX}{uuid.uuid4().hex[:6]}"
    for name in EXAMPLE_NAMESPACES:
        created.adopt_namespace(f"{prefix}-{name}")
    created.provider(f"{prefix}-tyk")
    return prefix


def test_examples_are_accepted_and_publish(
    operator: KopfRunner, cluster: Cluster, prefix: str, tyk: TykEmulator
) -> None:
    substitutions = {
        DASHBOARD_URL_PLACEHOLDER: tyk.url,
        GATEWAY_URL_PLACEHOLDER: tyk.gateway_url,
        DASHBOARD_KEY_PLACEHOLDER: "dash-secret",
    }
    examples = load_examples(substitutions)
    assert [e.path.name[:2] for e in examples] == sorted(e.path.name[:2] for e in examples)
    raw = documents_of(examples)
    assert {doc["kind"] for doc in raw} >= {"Namespace", "Secret", *KINDS}, "every kind is exemplified"
    docs = localise(raw, prefix)

    for doc in docs:
        assert apply_document(cluster, doc) == "created", object_ref(doc)

    # Every object is there as written (nothing pruned: the examples only use schema fields).
    for doc in docs:
        if doc["kind"] not in KINDS:
            continue
        info = KINDS[doc["kind"]]
        namespace = doc["metadata"].get("namespace") if info.namespaced else None
        stored = cluster.get(info.plural, doc["metadata"]["name"], namespace)
        assert stored is not None, object_ref(doc)
        assert stored["spec"] == doc["spec"], object_ref(doc)

    provider = cluster.wait_condition("tykproviders", f"{prefix}-tyk", reason="Connected")
    assert provider["status"]["reachable"] is True
    for doc in docs:
        if doc["kind"] in PUBLISHED_KINDS:
            info = KINDS[doc["kind"]]
            obj = cluster.wait_condition(
                info.plural, doc["metadata"]["name"], doc["metadata"]["namespace"], reason="PolicySynced"
            )
            kind = "product" if doc["kind"] == "APIProduct" else "plan"
            expected = f"acme-dev.{kind}.{doc['metadata']['namespace']}.{doc['metadata']['name']}"
            assert obj["status"]["policyID"] == expected

    # The tag-selected product resolved to every API tagged "shop" in the emulator's demo set.
    shop = cluster.get("apiproducts", "shop", f"{prefix}-shop")
    assert shop is not None
    assert sorted(api["apiID"] for api in shop["status"]["apis"]) == ["orders-api", "payments-api"]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode", ["dashboard", "gateway"])
def test_make_demo_sandbox_runs_to_completion(tmp_path: Any, mode: str) -> None:
    """The README's first command works on a fresh checkout, on either Tyk API (it starts its own
    emulators)."""
    # The session's operator settings (provider class, kubeconfig, ...) live in this process's
    # environment while it runs: the sandbox is a fresh installation and must not inherit them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TYK_PORTAL_") and k != "KUBECONFIG"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.sandbox", "--mode", mode, "--state-dir", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    log = tmp_path / "operator.log"
    operator_log = log.read_text()[-3000:] if log.exists() else "(no operator log)"
    assert result.returncode == 0, (
        f"stdout:\n{result.stdout[-6000:]}\nstderr:\n{result.stderr[-3000:]}\noperator log:\n{operator_log}"
    )
    assert "LOCAL SANDBOX" in result.stdout
    assert "TykProvider tyk" in result.stdout
    assert "Ready=True (Connected)" in result.stdout
    assert "mobile-shop-free-credentials   True    CredentialIssued" in result.stdout
    # The provider table: NAME MODE DEFAULT VERSION READY REASON (only the Gateway tells a version).
    provider_row = (
        "tyk    Gateway   True      v5.13.0   True    Connected"
        if mode == "gateway"
        else ("tyk    Dashboard   True      -         True    Connected")
    )
    assert provider_row in result.stdout
    assert ("GET /tyk/policies" in result.stdout) is (mode == "gateway")
    assert (tmp_path / "kubeconfig").exists()
    # Key material never reaches the terminal: Secret values other than the gateway URL are masked.
    for line in result.stdout.splitlines():
        if line.strip().startswith(("api-key ", "api-key-previous ")):
            assert line.rstrip().endswith("…"), line
