"""High availability: two replicas of `tyk-portal-operator run` with peering; one acts, the other stands by
and takes over when the first one stops.

This test starts its own Kubernetes API emulator (it needs a peering object nobody else uses and no
standalone operator acting on the same objects), so it does not run against PORTAL_TEST_KUBECONFIG.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from tests.emulators.kube import KubeEmulator
from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator

from .backends import TykAdmin
from .cluster import REPO, Cluster, wait_for
from .conftest import make_provider, start_operator_process, stop_operator_process
from .test_policies import plan
from .test_provisioning import request, setup_portal

ACTING = "Acting on ProvisioningRequests"
PEERING_CRDS = REPO / "deploy/helm/tyk-portal-operator/files/kopf-crds"


@pytest.mark.skipif(
    bool(os.environ.get("PORTAL_TEST_KUBECONFIG")),
    reason="starts its own API server emulator; peering on a shared cluster is out of scope",
)
@pytest.mark.timeout(180)
def test_one_replica_acts_and_the_standby_takes_over(tmp_path: Path) -> None:
    with KubeEmulator() as kube, TykEmulator(api_key="dash-secret", org_id="org1") as tyk:
        with TykControl(tyk.url) as control:
            control.seed_apis(DEMO_APIS)
        kubeconfig = str(kube.write_kubeconfig(tmp_path / "kubeconfig"))
        cluster = Cluster(kubeconfig)
        cluster.install_crds()
        for path in sorted(PEERING_CRDS.glob("*.yaml")):
            cluster.ext.create_custom_resource_definition(yaml.safe_load(path.read_text()))
        wait_for(lambda: cluster._established("clusterkopfpeerings.kopf.dev"), what="peering CRD")
        cluster.custom.create_cluster_custom_object(
            "kopf.dev",
            "v1",
            "clusterkopfpeerings",
            {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": "ha-test"}},
        )
        namespace = "ha"
        cluster.create_namespace(namespace)
        logs = [tmp_path / "replica-a.log", tmp_path / "replica-b.log"]
        # The API server is this test's own: the replicas watch all of it (cluster-wide peering).
        replicas = [
            start_operator_process(kubeconfig, logs[0], "--peering", "ha-test", namespace=None),
            start_operator_process(kubeconfig, logs[1], "--peering", "ha-test", namespace=None),
        ]
        try:
            peers = wait_for(
                lambda: (
                    (
                        p := (
                            cluster.custom.get_cluster_custom_object(
                                "kopf.dev", "v1", "clusterkopfpeerings", "ha-test"
                            ).get("status")
                            or {}
                        )
                    )
                    and len(p) == 2
                    and p
                ),
                what="both replicas registered as peers",
                timeout=60,
            )
            assert len({peer["priority"] for peer in peers.values()}) == 2  # distinct priorities
            # Which replica is active is decided by the random priorities: find out from what they do.
            provider = make_provider(cluster, namespace, tyk.url, prefix="ha")
            cluster.create("plans", plan("first", provider), namespace)
            cluster.wait_condition("plans", "first", namespace, reason="PolicySynced", timeout=60)
            wait_for(lambda: any("plans-changed" in log.read_text() for log in logs), what="a replica acted")
            # Proving an absence needs a bounded window: a wrongly active second replica would have
            # handled the plan within 2 s too (both watch the same emulator, latency is milliseconds).
            time.sleep(2)
            handled = [i for i, log in enumerate(logs) if "plans-changed" in log.read_text()]
            assert len(handled) == 1, "exactly one replica may act"
            active, standby = handled[0], 1 - handled[0]
            # The request watch is the operator's own, not kopf's: it follows the same peering.
            admin = TykAdmin(tyk)
            setup_portal(cluster, namespace, admin, prefix="hb")
            cluster.create("provisioningrequests", request("before"), namespace)
            cluster.wait_condition("provisioningrequests", "before", namespace, reason="CredentialIssued")
            assert [ACTING in log.read_text() for log in logs] == [i == active for i in range(2)]
            assert len(admin.sessions_of_request(f"{namespace}/before")) == 1

            stop_operator_process(replicas[active])
            # The stopped replica leaves the peering object; the standby takes over.
            cluster.create("plans", plan("second", provider), namespace)
            cluster.wait_condition("plans", "second", namespace, reason="PolicySynced", timeout=90)
            assert "plans-changed" in logs[standby].read_text()
            cluster.create("provisioningrequests", request("after"), namespace)
            cluster.wait_condition("provisioningrequests", "after", namespace, reason="CredentialIssued")
            assert ACTING in logs[standby].read_text()
            assert len(admin.sessions_of_request(f"{namespace}/after")) == 1
        finally:
            for replica in replicas:
                stop_operator_process(replica)
