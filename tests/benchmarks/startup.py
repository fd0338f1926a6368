"""Benchmark: start-up, steady state and memory with many existing credentials.

Seeds N issued credentials (a ProvisioningRequest with its issued status, its Secret and its Tyk
key, built with the operator's own pure functions, as an earlier operator would have left them),
then starts the operator (production defaults, its own process) and prints, for each N: how long
its first pass takes (until its CPU goes idle), the Kubernetes and Tyk writes it made at start-up
(target: none), Kubernetes and Tyk requests per resync in steady state, and its resident memory.
Figures, not assertions.

    .venv/bin/python -m tests.benchmarks.startup --counts 1000 5000 10000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import secrets
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.emulators.kube import KubeEmulator
from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator
from tests.integration.cluster import Cluster
from tyk_portal_operator.core.conditions import status_conditions
from tyk_portal_operator.core.credential_types import AuthToken, TykRef
from tyk_portal_operator.core.credentials import format_time
from tyk_portal_operator.core.lifecycle import (
    CreateInTyk,
    LifecycleInputs,
    SecretRecord,
    WriteSecret,
    plan_credential,
)
from tyk_portal_operator.core.naming import REQUEST_FINALIZER
from tyk_portal_operator.core.policies import ProviderConfig
from tyk_portal_operator.models import ProvisioningRequest

from .issuance import (
    GROUP_PATH,
    OWNER_NS,
    _cpu_seconds,
    _rss_mib,
    _setup_owner,
    _start_operator,
    request_body,
)

NAMESPACE = "seeded"
RESYNC_SECONDS = 10.0
POLICIES = ["bench.product.shop.orders", "bench.plan.shop.free"]
WRITES = ("POST", "PUT", "PATCH", "DELETE")


async def _seed_one(kube: httpx.AsyncClient, tyk: httpx.AsyncClient, index: int) -> None:
    name = f"s-{index}"
    body = request_body(name, f"app-{index % 50}")
    # As the operator leaves an issued request: its finalizer is there.
    body["metadata"]["finalizers"] = [REQUEST_FINALIZER]
    created = await kube.post(f"{GROUP_PATH}/namespaces/{NAMESPACE}/provisioningrequests", json=body)
    created.raise_for_status()
    body = created.json()
    request = ProvisioningRequest.model_validate(body)
    now = datetime.datetime.now(datetime.UTC)
    # The operator's own plan for a first issuance, carried out here: the Secret, then the key.
    plan = plan_credential(
        LifecycleInputs(
            request=request,
            app=None,
            credential_type=AuthToken(),
            products=(f"{OWNER_NS}/orders",),
            plan_ref=f"{OWNER_NS}/free",
            policy_ids=tuple(POLICIES),
            key_expiry=None,
            renew_before=None,
            provider=ProviderConfig(name="bench", org_id="org1", gateway_url="https://gateway.example.com"),
            secret_name=f"{name}-credentials",
            secret=SecretRecord(),
            observed={},
            now=now,
        ),
        secrets.token_bytes,
    )
    created_hashes: dict[TykRef, str | None] = {}
    for action in plan.actions:
        if isinstance(action, WriteSecret):
            secret = await kube.post(f"/api/v1/namespaces/{NAMESPACE}/secrets", json=dict(action.manifest))
            secret.raise_for_status()
        elif isinstance(action, CreateInTyk):
            answer = await tyk.post(f"/api/keys/{action.obj.ref.id}", json=action.obj.body)
            answer.raise_for_status()
            created_hashes[action.obj.ref] = answer.json().get("key_hash") or None
    stamp = format_time(now)
    # Exactly what the operator writes for an issued request, so that checking it writes nothing.
    status = {
        "status": {
            "observedGeneration": 1,
            "approval": {
                "decision": "Approved",
                "reason": "seeded",
                "time": stamp,
                "by": "tyk-portal-operator",
            },
            "conditions": status_conditions(plan.outcome, generation=1, now=stamp),
            **plan.status_fields(created_hashes),
        }
    }
    patched = await kube.patch(
        f"{GROUP_PATH}/namespaces/{NAMESPACE}/provisioningrequests/{name}/status",
        content=json.dumps(status),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    patched.raise_for_status()


async def _seed(kube_url: str, tyk_url: str, start: int, stop: int) -> None:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with (
        httpx.AsyncClient(base_url=kube_url, limits=limits, timeout=60) as kube,
        httpx.AsyncClient(
            base_url=tyk_url, limits=limits, timeout=60, headers={"Authorization": "dash-secret"}
        ) as tyk,
    ):
        if start == 0:
            for app in range(50):
                body = {
                    "apiVersion": "apiportal.dev/v1alpha1",
                    "kind": "ConsumerApp",
                    "metadata": {"name": f"app-{app}"},
                    "spec": {"displayName": f"app {app}"},
                }
                (
                    await kube.post(f"{GROUP_PATH}/namespaces/{NAMESPACE}/consumerapps", json=body)
                ).raise_for_status()
        semaphore = asyncio.Semaphore(50)

        async def one(index: int) -> None:
            async with semaphore:
                await _seed_one(kube, tyk, index)

        await asyncio.gather(*(one(i) for i in range(start, stop)))


def _wait_idle(
    pid: int, started: float, *, idle_cpu: float = 0.05, window: float = 2.0, limit: float = 900
) -> float:
    """Seconds from `started` until the process's CPU use over `window` stays below `idle_cpu`."""
    last_cpu, last_time = _cpu_seconds(pid), time.monotonic()
    busy_until = time.monotonic()
    while time.monotonic() - started < limit:
        time.sleep(window)
        cpu, now = _cpu_seconds(pid), time.monotonic()
        if (cpu - last_cpu) / (now - last_time) >= idle_cpu:
            busy_until = now
        elif now - busy_until >= window and now - started > 3 * window:
            return busy_until - started
        last_cpu, last_time = cpu, now
    return float("nan")


def run(counts: list[int]) -> None:
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        KubeEmulator(count_requests=True, history_limit=100_000) as kube,
        TykEmulator(api_key="dash-secret", org_id="org1", hash_keys=True) as tyk,
        TykControl(tyk.url) as control,
    ):
        control.seed_apis(DEMO_APIS)
        kubeconfig = str(kube.write_kubeconfig(Path(tmp) / "kubeconfig"))
        cluster = Cluster(kubeconfig)
        cluster.install_crds()
        cluster.create_namespace(NAMESPACE)
        log = Path(tmp) / "operator.log"
        # Products and plans first, with an operator that then stops.
        operator = _start_operator(kubeconfig, log, [OWNER_NS])
        try:
            _setup_owner(cluster, tyk)
        finally:
            operator.terminate()
            operator.wait(timeout=30)
        seeded = 0
        assert kube.request_counts is not None
        for count in counts:
            began = time.monotonic()
            asyncio.run(_seed(kube.url, tyk.url, seeded, count))
            seed_time = time.monotonic() - began
            seeded = count
            kube.request_counts.clear()
            control.clear_requests()
            started = time.monotonic()
            operator = _start_operator(kubeconfig, log, [OWNER_NS, NAMESPACE])
            try:
                first_pass = _wait_idle(operator.pid, started)
                kube_start = Counter(kube.request_counts)
                tyk_start = [r for r in control.requests() if r["server"] == "dashboard"]
                rss_start = _rss_mib(operator.pid)
                kube.request_counts.clear()
                control.clear_requests()
                time.sleep(3 * RESYNC_SECONDS)
                kube_steady = Counter(kube.request_counts)
                tyk_steady = [r for r in control.requests() if r["server"] == "dashboard"]
                rss = _rss_mib(operator.pid)
            finally:
                operator.terminate()
                operator.wait(timeout=60)
            rows.append(
                {
                    "credentials": count,
                    "seeded in": f"{seed_time:.0f} s",
                    "first pass": f"{first_pass:.1f} s",
                    "start-up k8s writes": sum(v for k, v in kube_start.items() if k.split()[0] in WRITES),
                    "start-up k8s reads": sum(v for k, v in kube_start.items() if k.split()[0] == "GET"),
                    "start-up Tyk writes": sum(1 for r in tyk_start if r["method"] in WRITES),
                    "steady k8s req/resync": round(sum(kube_steady.values()) / 3, 1),
                    "steady k8s writes": sum(v for k, v in kube_steady.items() if k.split()[0] in WRITES),
                    "steady Tyk req/resync": round(len(tyk_steady) / 3, 1),
                    "steady Tyk writes": sum(1 for r in tyk_steady if r["method"] in WRITES),
                    "RSS after first pass": f"{rss_start:.0f} MiB",
                    "RSS steady": f"{rss:.0f} MiB",
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            print(f"   start-up Kubernetes requests: {dict(kube_start)}", flush=True)
            print(f"   steady Kubernetes requests: {dict(kube_steady)}", flush=True)
            print(
                f"   steady Tyk requests: {dict(Counter(r['method'] + ' ' + r['path'].split('?')[0] for r in tyk_steady))}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 5000, 10000])
    args = parser.parse_args()
    run(sorted(args.counts))


if __name__ == "__main__":
    main()
