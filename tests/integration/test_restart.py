"""Crash safety across a real operator restart: the process is killed between writing the Secret and
creating the key in Tyk; the next process converges on exactly that key.

It runs the operator as a subprocess (so it can be killed) against its own API server emulator, so it
does not run against PORTAL_TEST_KUBECONFIG. Both modes: a Dashboard, an open-source Gateway.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.emulators.kube import KubeEmulator
from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator

from .backends import GATEWAY_SECRET, MODES, TykAdmin
from .cluster import Cluster, wait_for
from .conftest import free_port, start_operator_process, stop_operator_process
from .test_provisioning import gateway_status, request, setup_portal


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.skipif(
    bool(os.environ.get("PORTAL_TEST_KUBECONFIG")),
    reason="kills and restarts its own operator process against its own API server emulator",
)
@pytest.mark.timeout(180)
@pytest.mark.parametrize("tyk_mode", MODES)
def test_operator_killed_after_secret_write_converges_on_one_key(tmp_path: Path, tyk_mode: str) -> None:
    with (
        KubeEmulator() as kube,
        TykEmulator(api_key="dash-secret", org_id="org1", gateway_secret=GATEWAY_SECRET) as tyk,
        TykControl(tyk.url) as control,
    ):
        admin = TykAdmin(tyk, tyk_mode)
        control.seed_apis(DEMO_APIS)
        kubeconfig = str(kube.write_kubeconfig(tmp_path / "kubeconfig"))
        cluster = Cluster(kubeconfig)
        cluster.install_crds()
        namespace = "restart"
        cluster.create_namespace(namespace)
        log = tmp_path / "operator.log"
        # The API server is this test's own: the operator may watch all of it (namespace=None).
        first = start_operator_process(kubeconfig, log, "--standalone", namespace=None)
        try:
            setup_portal(cluster, namespace, admin, prefix="rs")
            # Tyk refuses key creates for now.
            admin.fault(control, "error", status=503, match=f"POST {admin.keys_path}")
            cluster.create("provisioningrequests", request("r1"), namespace)
            written = wait_for(
                lambda: cluster.secret_value(namespace, "r1-credentials", "api-key"),
                what="Secret written before the Tyk call",
            )
        except BaseException:
            print(log.read_text())  # the operator's side of the story, on failure
            raise
        finally:
            stop_operator_process(first, signal.SIGKILL)  # a crash: no clean-up of any kind
        assert gateway_status(tyk, written) == 403
        before = cluster.condition("apiproducts", "orders", namespace)
        control.clear_faults()
        port = free_port()
        second = start_operator_process(
            kubeconfig, log, "--standalone", "--liveness", f"http://127.0.0.1:{port}/healthz", namespace=None
        )
        try:
            # The health endpoint the chart's probes use answers once the operator is up.
            wait_for(lambda: _healthy(port), what="health endpoint")
            cluster.wait_condition(
                "provisioningrequests", "r1", namespace, reason="CredentialIssued", timeout=60
            )
        finally:
            stop_operator_process(second)
        # The restart did not flap the product to Ready=False while the provider was re-checked.
        assert cluster.condition("apiproducts", "orders", namespace) == before
        assert cluster.secret_value(namespace, "r1-credentials", "api-key") == written
        assert gateway_status(tyk, written) == 200
        assert len(admin.sessions_of_request(f"{namespace}/r1")) == 1
