"""Integration harness: the real operator (kopf) against the Kubernetes API emulator (or a real
cluster when PORTAL_TEST_KUBECONFIG is set) and Tyk emulators started per test.

Confinement, so the suite is safe on a shared cluster:

- every session has a run id (random, or $PORTAL_TEST_RUN_ID); every namespace the suite creates is
  named `t-<runid>-...` and the session's operator watches only the glob `t-<runid>-*`;
- every TykProvider the suite creates is named `t-<runid>-...` and has `spec.providerClass:
  portal-test-<runid>`, the only class the session's operator manages (TYK_PORTAL_PROVIDER_CLASS);
- whatever a test creates is registered with the `created` fixture and deleted after the test, in
  an order that lets the operator finalize it: the test's namespaces (waiting until they are gone),
  then its TykProviders (waiting), then the test's Tyk emulator; at the end of the session a sweep
  deletes anything left with the run id while the operator still runs. Finalizers are stripped
  only as a last resort after a generous timeout, and that is reported as a test error and in the
  terminal summary.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from kopf.testing import KopfRunner
from kubernetes.client.exceptions import ApiException

from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator

from .backends import GATEWAY_SECRET, MODES, TykAdmin
from .cluster import Cluster


def _run_id() -> str:
    given = os.environ.get("PORTAL_TEST_RUN_ID", "").strip().lower()
    if given and not re.fullmatch(r"[a-z0-9]{1,12}", given):
        raise pytest.UsageError(f"PORTAL_TEST_RUN_ID must be 1-12 lowercase letters or digits, not {given!r}")
    run_id = given or secrets.token_hex(3)
    # pytest-xdist workers run one operator each: keep them apart.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"{run_id}w{worker.removeprefix('gw')}" if worker else run_id


RUN_ID = _run_id()
NAMESPACE_PREFIX = f"t-{RUN_ID}-"
NAMESPACE_PATTERN = f"{NAMESPACE_PREFIX}*"
PROVIDER_CLASS = f"portal-test-{RUN_ID}"
ANCHOR_NAMESPACE = f"{NAMESPACE_PREFIX}session"
# For tests that run operator installations of their own (test_installations.py): names and classes
# the session's operator does not match, still tied to the run id.
OTHER_PREFIX = f"i-{RUN_ID}-"
OWN_PREFIXES = (NAMESPACE_PREFIX, OTHER_PREFIX)
RUN_LABEL = "portal-test/run-id"

# How long clean-up waits for the operator to finalize a test's objects before stripping finalizers.
CLEANUP_TIMEOUT = 120.0

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
    # Objects in a namespace being deleted wait this long for an unreachable Tyk (test_deletion.py).
    "TYK_PORTAL_NAMESPACE_DELETION_GRACE": "5",
    "TYK_PORTAL_PROVIDER_CLASS": PROVIDER_CLASS,
    # The session's operator is started with kopf's CLI: its `--namespace`, for the start-up listing.
    "TYK_PORTAL_NAMESPACES": NAMESPACE_PATTERN,
}

# Clean-ups that had to strip finalizers or gave up: printed in the terminal summary.
FORCED_CLEANUPS: list[str] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FORCED_CLEANUPS:
        terminalreporter.section(
            "integration clean-up: FORCED (finalizers stripped or objects left)", red=True
        )
        for line in FORCED_CLEANUPS:
            terminalreporter.write_line(line, red=True)


def unique(prefix: str) -> str:
    """A name unique to this test run, for namespaced objects."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def run_name(kind: str) -> str:
    """A name `t-<runid>-<kind>-<random>` for cluster-scoped objects and namespaces."""
    return f"{NAMESPACE_PREFIX}{kind}-{uuid.uuid4().hex[:6]}"


# ----- clean-up ---------------------------------------------------------------------------------
def _provider_gone(cluster: Cluster, name: str) -> bool:
    return cluster.get("tykproviders", name) is None


def _strip_provider(cluster: Cluster, name: str) -> None:
    try:
        cluster.patch("tykproviders", name, {"metadata": {"finalizers": None}})
    except ApiException as exc:
        if exc.status != 404:
            raise


def delete_and_wait(
    cluster: Cluster, namespaces: list[str], providers: list[str], *, timeout: float, who: str
) -> list[str]:
    """Delete namespaces and wait until they are gone, then providers and wait; returns what had to be
    forced (finalizers stripped) or could not be removed at all."""
    problems: list[str] = []
    for name in namespaces:
        cluster.delete_namespace(name)
    remaining = _wait_gone(lambda: [n for n in namespaces if cluster.namespace_exists(n)], timeout)
    for name in remaining:
        stripped = cluster.strip_finalizers(name)
        problems.append(
            f"{who}: namespace {name} still there after {timeout:.0f}s; stripped finalizers of {stripped or 'nothing'}"
        )
    if remaining:
        stuck = _wait_gone(lambda: [n for n in remaining if cluster.namespace_exists(n)], 60)
        problems += [f"{who}: namespace {name} NOT deleted (left on the cluster)" for name in stuck]

    for name in providers:
        cluster.delete("tykproviders", name)
    left = _wait_gone(lambda: [p for p in providers if not _provider_gone(cluster, p)], timeout)
    for name in left:
        _strip_provider(cluster, name)
        problems.append(
            f"{who}: TykProvider {name} still there after {timeout:.0f}s; stripped its finalizers"
        )
    if left:
        stuck = _wait_gone(lambda: [p for p in left if not _provider_gone(cluster, p)], 30)
        problems += [f"{who}: TykProvider {name} NOT deleted (left on the cluster)" for name in stuck]
    FORCED_CLEANUPS.extend(problems)
    return problems


def _wait_gone(still_there: Callable[[], list[str]], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    remaining: list[str] = still_there()
    while remaining and time.monotonic() < deadline:
        time.sleep(0.2)
        remaining = still_there()
    return remaining


class Created:
    """What one test created on the cluster; deleted in order by `cleanup` (idempotent).

    Shared by the `namespace`, `tyk` and `created` fixtures and by `make_provider`, so the order is
    right whatever order a test lists its fixtures in: the `tyk` fixture cleans up before it stops
    the emulator, the `created` fixture (set up first, torn down last) cleans up whatever is left
    and fails the test when something had to be forced."""

    current: ClassVar[Created | None] = None

    def __init__(self, cluster: Cluster, who: str) -> None:
        self.cluster = cluster
        self.who = who
        self.namespaces: list[str] = []
        self.providers: list[str] = []
        self.problems: list[str] = []

    def namespace(
        self, suffix: str = "", labels: dict[str, str] | None = None, *, prefix: str = NAMESPACE_PREFIX
    ) -> str:
        """Create and register a namespace `t-<runid>-<random>[-suffix]` (or `<prefix><random>...`)."""
        name = f"{prefix}{uuid.uuid4().hex[:8]}" + (f"-{suffix}" if suffix else "")
        self.adopt_namespace(name)
        self.cluster.create_namespace(name, {RUN_LABEL: RUN_ID, **(labels or {})})
        return name

    def adopt_namespace(self, name: str) -> str:
        """Register a namespace the test creates itself (its name must start with NAMESPACE_PREFIX)."""
        assert name.startswith(OWN_PREFIXES), f"{name} is outside this run's namespaces"
        if name not in self.namespaces:
            self.namespaces.append(name)
        return name

    def provider(self, name: str) -> str:
        """Register a TykProvider (its name must start with NAMESPACE_PREFIX)."""
        assert name.startswith(OWN_PREFIXES), f"{name} is outside this run's names"
        if name not in self.providers:
            self.providers.append(name)
        return name

    def cleanup(self) -> None:
        namespaces, providers = list(self.namespaces), list(self.providers)
        self.namespaces.clear()
        self.providers.clear()
        if namespaces or providers:
            self.problems += delete_and_wait(
                self.cluster, namespaces, providers, timeout=CLEANUP_TIMEOUT, who=self.who
            )


def _run_provider(item: dict[str, Any]) -> bool:
    """Whether a TykProvider is this run's: by name, or by class (`<class>` or `<class>-<x>`)."""
    found = str((item.get("spec") or {}).get("providerClass") or "")
    return (
        item["metadata"]["name"].startswith(OWN_PREFIXES)
        or found == PROVIDER_CLASS
        or found.startswith(f"{PROVIDER_CLASS}-")
    )


def sweep(cluster: Cluster, *, timeout: float, who: str) -> list[str]:
    """Delete everything left with this run's id: its namespaces, then its TykProviders."""
    namespaces = [name for prefix in OWN_PREFIXES for name in cluster.list_namespaces(prefix)]
    listed = cluster.custom.list_cluster_custom_object("apiportal.dev", "v1alpha1", "tykproviders")["items"]
    providers = [item["metadata"]["name"] for item in listed if _run_provider(item)]
    return delete_and_wait(cluster, namespaces, providers, timeout=timeout, who=who)


# ----- fixtures ---------------------------------------------------------------------------------
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
def cluster(kubeconfig: str) -> Iterator[Cluster]:
    """The API server, with the CRDs installed or updated. At the end: a last sweep of this run's
    objects (after the operator stopped, so anything still held by a finalizer is forced)."""
    api = Cluster(kubeconfig)
    api.install_crds()
    yield api
    sweep(api, timeout=30, who="session end (operator stopped)")


@pytest.fixture(scope="session")
def operator(cluster: Cluster) -> Iterator[KopfRunner]:
    """The real operator, once per test session (worker), confined to this run's namespaces and
    provider class."""
    saved = {key: os.environ.get(key) for key in [*TEST_SETTINGS, "KUBECONFIG", "TYK_PORTAL_METRICS_PORT"]}
    os.environ.update(TEST_SETTINGS)
    os.environ["TYK_PORTAL_METRICS_PORT"] = str(free_port())
    os.environ["KUBECONFIG"] = cluster.kubeconfig
    # kopf serves cluster-scoped kinds (TykProvider) only while at least one watched namespace
    # exists: this one keeps them served between tests.
    if not cluster.namespace_exists(ANCHOR_NAMESPACE):
        cluster.create_namespace(ANCHOR_NAMESPACE, {RUN_LABEL: RUN_ID})
    args = ["run", "--standalone", "--namespace", NAMESPACE_PATTERN, "-m", "tyk_portal_operator.handlers"]
    with KopfRunner(args, timeout=60) as runner:
        yield runner
        # While the operator still runs: anything a test left behind is finalized properly.
        sweep(cluster, timeout=CLEANUP_TIMEOUT, who="session end")
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    assert runner.exception is None or isinstance(runner.exception, SystemExit), runner.exception


@pytest.fixture
def created(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Created]:
    """The registry of what this test creates on the cluster (see `Created`)."""
    registry = Created(cluster, request.node.nodeid)
    Created.current = registry
    try:
        yield registry
        registry.cleanup()
    finally:
        Created.current = None
    if registry.problems:
        pytest.fail("clean-up had to be forced:\n" + "\n".join(registry.problems), pytrace=False)


@pytest.fixture
def namespace(created: Created) -> str:
    return created.namespace()


@pytest.fixture
def tyk(created: Created) -> Iterator[TykEmulator]:
    with TykEmulator(
        api_key="dash-secret",
        org_id="org1",
        hash_keys=True,
        gateway_secret=GATEWAY_SECRET,
        gateway_tls=True,  # MutualTLS credentials are presented on the Gateway's HTTPS listener
    ) as emulator:
        with TykControl(emulator.url) as control:
            control.seed_apis(DEMO_APIS)
        yield emulator
        # The test's objects are finalized against this emulator: clean up before stopping it.
        with TykControl(emulator.url) as control:
            control.clear_faults()
        created.cleanup()


@pytest.fixture
def control(tyk: TykEmulator) -> Iterator[TykControl]:
    with TykControl(tyk.url) as ctl:
        yield ctl


@pytest.fixture(params=MODES)
def tyk_mode(request: pytest.FixtureRequest) -> str:
    """Which Tyk API the test's provider drives: a test using `admin` runs once per mode."""
    return str(request.param)


@pytest.fixture
def admin(tyk: TykEmulator, tyk_mode: str) -> TykAdmin:
    """The test's Tyk emulator through the API of `tyk_mode` (see backends.py)."""
    return TykAdmin(tyk, tyk_mode)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_provider(
    cluster: Cluster,
    namespace: str,
    tyk_url: str,
    *,
    key: str = "dash-secret",
    default: bool = False,
    name: str | None = None,
    prefix: str | None = None,
    secret: str | None = None,
    provider_class: str = PROVIDER_CLASS,
    mode: str | None = None,
    gateway_url: str = "https://gateway.example.com",
) -> str:
    """Create a credentials Secret (in `namespace`) and a TykProvider of this run's class pointing
    at a Tyk; returns the provider name. With `secret`, refer to that Secret and create none.
    `mode` sets `spec.mode` (unset: the Dashboard, the default). `gateway_url` is the public Gateway
    URL written into Secrets (a test whose consumer uses only the Secret gives the emulator's).

    The provider is registered with the running test's `created` registry (when the test uses this
    cluster), so it is deleted after the test's namespaces and before its Tyk emulator stops."""
    name = name or run_name("tyk")
    registry = Created.current
    if registry is not None and registry.cluster is cluster:
        registry.provider(name)
    if secret is None:
        secret = f"{name}-creds"
        cluster.create_secret(namespace, secret, {"api-key": key})
    spec: dict[str, Any] = {
        "url": tyk_url,
        "credentialsSecretRef": {"namespace": namespace, "name": secret, "key": "api-key"},
        "orgID": "org1",
        "gatewayURL": gateway_url,
        "resyncInterval": "2s",
        "policyIDPrefix": prefix or name.replace("-", ""),
        "providerClass": provider_class,
    }
    if default:
        spec["default"] = True
    if mode is not None:
        spec["mode"] = mode
    cluster.create("tykproviders", {"kind": "TykProvider", "metadata": {"name": name}, "spec": spec})
    return name


REPO = Path(__file__).resolve().parents[2]


def start_operator_process(
    kubeconfig: str,
    log: Path,
    *args: str,
    namespace: str | None = NAMESPACE_PATTERN,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`tyk-portal-operator run ARGS` as its own process (to kill it, or to run several replicas).

    It watches `namespace` (a kopf glob; this run's namespaces by default) unless ARGS name their
    own `-n/--namespace`; `namespace=None` watches the whole cluster (only for tests that run their
    own API server). `env` is added to the test settings (e.g. another provider class)."""
    full_env = {**os.environ, **TEST_SETTINGS, "KUBECONFIG": kubeconfig, **(env or {})}
    full_env.pop("TYK_PORTAL_METRICS_PORT", None)
    full_env.pop("TYK_PORTAL_NAMESPACES", None)  # operators started here take theirs from `--namespace`
    # Given args come last so they can override these defaults (argparse keeps the last value).
    defaults = ["--liveness", "", "--metrics-port", "0", "--log-format", "plain"]
    if namespace is not None and not any(
        a in ("-n", "--namespace") or a.startswith("--namespace=") for a in args
    ):
        defaults += ["--namespace", namespace]
    command = [sys.executable, "-m", "tyk_portal_operator.cli", "run", *defaults, *args]
    return subprocess.Popen(command, env=full_env, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO)


def stop_operator_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop it (SIGTERM: graceful; SIGKILL: a crash) and reap it."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
