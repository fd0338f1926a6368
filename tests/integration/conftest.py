"""Integration harness: the real operator (kopf) against the Kubernetes API emulator (or a real
cluster when PORTAL_TEST_KUBECONFIG is set) and Tyk emulators started per test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kopf.testing import KopfRunner

from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator

from .cluster import Cluster

# Short intervals so retries, resyncs and recoveries happen within a test's patience.
TEST_SETTINGS = {
    "TYK_PORTAL_RETRY_DELAY": "0.5",
    "TYK_PORTAL_MAX_RETRY_DELAY": "2",
    "TYK_PORTAL_STALLED_RETRY_INTERVAL": "3",
    "TYK_PORTAL_PROVIDER_RETRY_INTERVAL": "0.5",
    "TYK_PORTAL_DEFAULT_RESYNC_INTERVAL": "2",
    "TYK_PORTAL_TYK_TIMEOUT": "5",
    "TYK_PORTAL_TYK_RETRIES": "1",
    "TYK_PORTAL_TYK_BACKOFF": "0.05",
    "TYK_PORTAL_WATCH_SERVER_TIMEOUT": "30",
    "TYK_PORTAL_CREDENTIAL_CHECK_INTERVAL": "1",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    real = os.environ.get("PORTAL_TEST_KUBECONFIG")
    if real:
        yield real
        return
    from tests.emulators.kube import KubeEmulator

    with KubeEmulator() as emulator:
        yield str(emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig"))


@pytest.fixture(scope="session")
def cluster(kubeconfig: str) -> Cluster:
    api = Cluster(kubeconfig)
    api.install_crds()
    return api


@pytest.fixture(scope="session")
def operator(cluster: Cluster) -> Iterator[KopfRunner]:
    """The real operator, once per test session (worker), watching all namespaces."""
    saved = {key: os.environ.get(key) for key in [*TEST_SETTINGS, "KUBECONFIG", "TYK_PORTAL_METRICS_PORT"]}
    os.environ.update(TEST_SETTINGS)
    os.environ["TYK_PORTAL_METRICS_PORT"] = str(free_port())
    os.environ["KUBECONFIG"] = cluster.kubeconfig
    args = ["run", "--standalone", "--all-namespaces", "-m", "tyk_portal_operator.handlers"]
    with KopfRunner(args, timeout=60) as runner:
        yield runner
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    assert runner.exception is None or isinstance(runner.exception, SystemExit), runner.exception


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.create_namespace(name)
    yield name
    cluster.release_namespace(name)


@pytest.fixture
def tyk() -> Iterator[TykEmulator]:
    with TykEmulator(api_key="dash-secret", org_id="org1", hash_keys=True) as emulator:
        with TykControl(emulator.url) as control:
            control.seed_apis(DEMO_APIS)
        yield emulator


@pytest.fixture
def control(tyk: TykEmulator) -> Iterator[TykControl]:
    with TykControl(tyk.url) as ctl:
        yield ctl


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_provider(
    cluster: Cluster,
    namespace: str,
    tyk_url: str,
    *,
    key: str = "dash-secret",
    default: bool = False,
    name: str | None = None,
    prefix: str | None = None,
) -> str:
    """Create a credentials Secret and a TykProvider pointing at a Tyk; returns the provider name."""
    name = name or unique("tyk")
    cluster.create_secret(namespace, f"{name}-creds", {"api-key": key})
    spec = {
        "url": tyk_url,
        "credentialsSecretRef": {"namespace": namespace, "name": f"{name}-creds", "key": "api-key"},
        "orgID": "org1",
        "gatewayURL": "https://gateway.example.com",
        "resyncInterval": "2s",
        "policyIDPrefix": prefix or name.replace("-", ""),
    }
    if default:
        spec["default"] = True
    cluster.create("tykproviders", {"kind": "TykProvider", "metadata": {"name": name}, "spec": spec})
    return name


REPO = Path(__file__).resolve().parents[2]


def start_operator_process(kubeconfig: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`tyk-portal-operator run ARGS` as its own process (to kill it, or to run several replicas)."""
    env = {**os.environ, **TEST_SETTINGS, "KUBECONFIG": kubeconfig}
    env.pop("TYK_PORTAL_METRICS_PORT", None)
    # Given args come last so they can override these defaults (argparse keeps the last value).
    defaults = ["--liveness", "", "--metrics-port", "0", "--log-format", "plain"]
    command = [sys.executable, "-m", "tyk_portal_operator.cli", "run", *defaults, *args]
    return subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO)


def stop_operator_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop it (SIGTERM: graceful; SIGKILL: a crash) and reap it."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
