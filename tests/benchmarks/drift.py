"""Benchmark: convergence and steady-state cost of products and plans at scale.

Runs the real operator (`tyk-portal-operator run`, its own process) against the Kubernetes API
emulator and the Tyk emulator, creates N products and N plans, and prints figures: time until all are
Ready, Tyk requests spent converging, Tyk requests per resync in steady state (target: one policy
list, zero writes), and the operator's resident memory. Figures, not assertions.

    .venv/bin/python -m tests.benchmarks.drift --objects 200 --resyncs 5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.emulators.kube import KubeEmulator
from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator
from tests.integration.cluster import GROUP, VERSION, Cluster, wait_for
from tests.integration.conftest import make_provider, start_operator_process, stop_operator_process
from tests.integration.test_policies import plan, product

RESYNC_SECONDS = 2.0


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _ready_count(cluster: Cluster, namespace: str) -> int:
    count = 0
    for plural in ("apiproducts", "plans"):
        for item in cluster.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"]:
            conditions = (item.get("status") or {}).get("conditions") or []
            count += any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return count


def run(objects: int, resyncs: int) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        KubeEmulator() as kube,
        TykEmulator(api_key="dash-secret", org_id="org1") as tyk,
        TykControl(tyk.url) as control,
    ):
        control.seed_apis(DEMO_APIS)
        kubeconfig = str(kube.write_kubeconfig(Path(tmp) / "kubeconfig"))
        cluster = Cluster(kubeconfig)
        cluster.install_crds()
        namespace = "bench"
        cluster.create_namespace(namespace)
        operator = start_operator_process(
            kubeconfig, Path(tmp) / "operator.log", "--standalone", namespace=None
        )
        try:
            provider = make_provider(cluster, namespace, tyk.url, prefix="bench")
            cluster.wait_condition("tykproviders", provider, reason="Connected", timeout=60)
            control.clear_requests()
            started = time.monotonic()
            for index in range(objects // 2):
                cluster.create(
                    "apiproducts", product(f"p{index}", provider, [{"apiID": "weather-api"}]), namespace
                )
                cluster.create(
                    "plans",
                    plan(f"t{index}", provider, rateLimit={"requests": index + 1, "per": "1s"}),
                    namespace,
                )
            total = 2 * (objects // 2)
            wait_for(
                lambda: _ready_count(cluster, namespace) == total, what="all Ready", timeout=600, interval=0.5
            )
            converged = time.monotonic() - started
            converge_requests = Counter(
                f"{r['method']} {r['path'].split('/')[3] if r['path'].count('/') > 2 else r['path']}"
                for r in control.requests()
                if r["server"] == "dashboard"
            )
            time.sleep(3 * RESYNC_SECONDS)  # let the last reconciles finish
            control.clear_requests()
            time.sleep(resyncs * RESYNC_SECONDS)
            steady = [r for r in control.requests() if r["server"] == "dashboard"]
            lists = sum(1 for r in steady if r["method"] == "GET" and r["path"] == "/api/portal/policies")
            writes = sum(1 for r in steady if r["method"] in ("POST", "PUT", "DELETE"))
            rss = _rss_mib(operator.pid)
        finally:
            stop_operator_process(operator)
    print(f"objects (products + plans):        {total}")
    print(f"time until all Ready:              {converged:.1f} s ({total / converged:.1f} objects/s)")
    print(f"Tyk requests while converging:     {sum(converge_requests.values())} {dict(converge_requests)}")
    print(
        f"steady state over {resyncs} resyncs of {RESYNC_SECONDS:.0f} s: {len(steady)} requests, "
        f"{lists} policy lists, {writes} writes ({len(steady) / resyncs:.2f} requests per resync)"
    )
    print(f"operator resident memory:          {rss:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=200, help="products + plans to create (half each)")
    parser.add_argument("--resyncs", type=int, default=5, help="steady-state resyncs to observe")
    args = parser.parse_args()
    run(args.objects, args.resyncs)


if __name__ == "__main__":
    main()
