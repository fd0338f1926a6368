"""Benchmark: credential issuance next to a "floor", in one run, on the same servers.

The floor is a bare asyncio script making only the HTTP calls one issuance needs (create the
request, create the Secret, create the key in Tyk under a custom id, patch the request's status)
over pooled connections. The operator (`tyk-portal-operator run`, its own process, production
defaults) does the same work from a `kubectl apply` of a ProvisioningRequest. Printed, side by side:

- latency, one request at a time: apply -> key in the Secret, apply -> Ready=True (p50 / p99);
- throughput for N requests created at concurrency 50, spread over 50 apps and all in one app;
- operator CPU per issuance;
- Kubernetes and Tyk requests per resync in steady state (nothing changing);
- operator resident memory after issuance.

Figures, not assertions (docs/operations.md records them with the machine they ran on).

    .venv/bin/python -m tests.benchmarks.issuance --requests 1000 --sequential 200
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from tests.emulators.kube import KubeEmulator
from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator
from tests.integration.cluster import Cluster

REPO = Path(__file__).resolve().parents[2]
GROUP_PATH = "/apis/apiportal.dev/v1alpha1"
OWNER_NS = "shop"
RESYNC = "10s"
CONCURRENCY = 50


def _ready(obj: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or []
    )


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Watcher:
    """First times at which Secrets appear and requests become Ready, from watch streams."""

    def __init__(self, client: httpx.AsyncClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.secret_seen: dict[str, float] = {}
        self.ready_seen: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._follow(f"/api/v1/namespaces/{self.namespace}/secrets", self._secret)),
            asyncio.create_task(
                self._follow(f"{GROUP_PATH}/namespaces/{self.namespace}/provisioningrequests", self._request)
            ),
        ]
        await asyncio.sleep(0.2)

    def _secret(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"].removesuffix("-credentials")
        if "api-key" in (obj.get("data") or {}):
            self.secret_seen.setdefault(name, time.monotonic())

    def _request(self, obj: dict[str, Any]) -> None:
        if _ready(obj):
            self.ready_seen.setdefault(obj["metadata"]["name"], time.monotonic())

    async def _follow(self, path: str, seen: Callable[[dict[str, Any]], None]) -> None:
        rv = ""
        while True:
            try:
                if not rv:
                    listing = (await self.client.get(path)).json()
                    for item in listing.get("items") or []:
                        seen(item)
                    rv = listing["metadata"]["resourceVersion"]
                params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "3600"}
                async with self.client.stream("GET", path, params=params, timeout=None) as response:
                    async for line in response.aiter_lines():
                        if not line:
                            continue
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            rv = ""  # expired: list again
                            break
                        if event["type"] in ("ADDED", "MODIFIED", "BOOKMARK"):
                            rv = event["object"]["metadata"]["resourceVersion"]
                            if event["type"] != "BOOKMARK":
                                seen(event["object"])
            except httpx.HTTPError:
                await asyncio.sleep(0.1)  # the stream ended: resume from the last resourceVersion

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def request_body(name: str, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiportal.dev/v1alpha1",
        "kind": "ProvisioningRequest",
        "metadata": {"name": name},
        "spec": {
            "appRef": {"name": app},
            "catalogueRef": {"name": "public", "namespace": OWNER_NS},
            "products": [{"name": "orders", "namespace": OWNER_NS}],
            "planRef": {"name": "free", "namespace": OWNER_NS},
        },
    }


class Bench:
    def __init__(self, kube: KubeEmulator, tyk: TykEmulator, policies: list[str]) -> None:
        self.kube_url = kube.url
        self.tyk = tyk
        self.policies = policies
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        self.kube = httpx.AsyncClient(base_url=kube.url, limits=limits, timeout=60)
        self.tykc = httpx.AsyncClient(
            base_url=tyk.url, limits=limits, timeout=60, headers={"Authorization": "dash-secret"}
        )

    async def close(self) -> None:
        await self.kube.aclose()
        await self.tykc.aclose()

    async def create_app(self, namespace: str, name: str) -> None:
        body = {
            "apiVersion": "apiportal.dev/v1alpha1",
            "kind": "ConsumerApp",
            "metadata": {"name": name},
            "spec": {"displayName": name},
        }
        response = await self.kube.post(f"{GROUP_PATH}/namespaces/{namespace}/consumerapps", json=body)
        response.raise_for_status()

    # ----- the floor: only the calls one issuance needs -----------------------------------------
    async def floor_issue(self, namespace: str, name: str, app: str) -> tuple[float, float]:
        """Returns (seconds until the Secret holds the key, seconds until status says Ready)."""
        started = time.monotonic()
        created = await self.kube.post(
            f"{GROUP_PATH}/namespaces/{namespace}/provisioningrequests", json=request_body(name, app)
        )
        created.raise_for_status()
        key = secrets.token_urlsafe(32)
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{name}-credentials"},
            "type": "Opaque",
            "data": {"api-key": base64.b64encode(key.encode()).decode()},
        }
        (await self.kube.post(f"/api/v1/namespaces/{namespace}/secrets", json=secret)).raise_for_status()
        in_secret = time.monotonic() - started
        session = {"org_id": "org1", "apply_policies": self.policies, "alias": f"{namespace}/{name}"}
        (await self.tykc.post(f"/api/keys/{key}", json=session)).raise_for_status()
        status = {
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "CredentialIssued",
                        "message": "issued",
                        "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "observedGeneration": 1,
                    }
                ]
            }
        }
        patched = await self.kube.patch(
            f"{GROUP_PATH}/namespaces/{namespace}/provisioningrequests/{name}/status",
            content=json.dumps(status),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        patched.raise_for_status()
        return in_secret, time.monotonic() - started

    # ----- the operator: apply and wait -----------------------------------------------------------
    async def operator_issue(self, watcher: Watcher, name: str, app: str) -> tuple[float, float]:
        started = time.monotonic()
        created = await self.kube.post(
            f"{GROUP_PATH}/namespaces/{watcher.namespace}/provisioningrequests", json=request_body(name, app)
        )
        created.raise_for_status()
        while name not in watcher.ready_seen or name not in watcher.secret_seen:
            await asyncio.sleep(0.002)
        return watcher.secret_seen[name] - started, watcher.ready_seen[name] - started


async def _bounded(count: int, work: Callable[[int], Awaitable[Any]], timeout: float) -> tuple[int, float]:
    """Run work(0..count-1) at CONCURRENCY; returns (completed, seconds)."""
    semaphore = asyncio.Semaphore(CONCURRENCY)
    done = 0

    async def one(index: int) -> None:
        nonlocal done
        async with semaphore:
            await work(index)
            done += 1

    started = time.monotonic()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), timeout)
    return done, time.monotonic() - started


async def _wait_all_ready(watcher: Watcher, names: list[str], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(n in watcher.ready_seen for n in names):
            break
        await asyncio.sleep(0.05)
    return sum(1 for n in names if n in watcher.ready_seen)


def _start_operator(kubeconfig: str, log: Path, namespaces: list[str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TYK_PORTAL_")}
    env["KUBECONFIG"] = kubeconfig
    args = ["--standalone", "--liveness", "", "--metrics-port", "0", "--log-format", "json"]
    for namespace in namespaces:
        args += ["--namespace", namespace]
    command = [sys.executable, "-m", "tyk_portal_operator.cli", "run", *args]
    return subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO)


def _setup_owner(cluster: Cluster, tyk: TykEmulator) -> str:
    cluster.create_namespace(OWNER_NS)
    cluster.create_secret(OWNER_NS, "tyk-creds", {"api-key": "dash-secret"})
    cluster.create(
        "tykproviders",
        {
            "kind": "TykProvider",
            "metadata": {"name": "bench"},
            "spec": {
                "url": tyk.url,
                "credentialsSecretRef": {"namespace": OWNER_NS, "name": "tyk-creds", "key": "api-key"},
                "orgID": "org1",
                "gatewayURL": "https://gateway.example.com",
                "resyncInterval": RESYNC,
                "policyIDPrefix": "bench",
            },
        },
    )
    cluster.create(
        "apiproducts",
        {
            "kind": "APIProduct",
            "metadata": {"name": "orders"},
            "spec": {
                "providerRef": {"name": "bench"},
                "displayName": "Orders",
                "apis": [{"apiID": "orders-api"}],
            },
        },
        OWNER_NS,
    )
    cluster.create(
        "plans",
        {
            "kind": "Plan",
            "metadata": {"name": "free"},
            "spec": {
                "providerRef": {"name": "bench"},
                "displayName": "Free",
                "rateLimit": {"requests": 100, "per": "1s"},
                "approval": "Automatic",
            },
        },
        OWNER_NS,
    )
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "public"},
            "spec": {"visibility": "Public", "products": [{"name": "orders"}], "plans": [{"name": "free"}]},
        },
        OWNER_NS,
    )
    cluster.wait_condition("apiproducts", "orders", OWNER_NS, reason="PolicySynced", timeout=120)
    cluster.wait_condition("plans", "free", OWNER_NS, reason="PolicySynced", timeout=120)
    return "bench"


def _line(what: str, floor: str, operator: str, ratio: str = "") -> None:
    print(f"{what:<52} {floor:>18} {operator:>18} {ratio:>10}")


async def _latency(bench: Bench, watcher: Watcher, floor_ns: str, count: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"floor_secret": [], "floor_ready": [], "op_secret": [], "op_ready": []}
    for index in range(count):
        secret, ready = await bench.floor_issue(floor_ns, f"lat-{index}", "app-0")
        results["floor_secret"].append(secret)
        results["floor_ready"].append(ready)
        secret, ready = await bench.operator_issue(watcher, f"lat-{index}", "app-0")
        results["op_secret"].append(secret)
        results["op_ready"].append(ready)
    return results


async def run(requests: int, sequential: int, timeout: float, keep_log: str | None = None) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        KubeEmulator(count_requests=True) as kube,
        TykEmulator(api_key="dash-secret", org_id="org1", hash_keys=True) as tyk,
        TykControl(tyk.url) as control,
    ):
        control.seed_apis(DEMO_APIS)
        kubeconfig = str(kube.write_kubeconfig(Path(tmp) / "kubeconfig"))
        cluster = Cluster(kubeconfig)
        cluster.install_crds()
        op_spread, op_one = "op-spread", "op-one"
        floor_spread, floor_one = "floor-spread", "floor-one"
        for namespace in (op_spread, op_one, floor_spread, floor_one):
            cluster.create_namespace(namespace)
        log = Path(tmp) / "operator.log"
        operator = _start_operator(kubeconfig, log, [OWNER_NS, op_spread, op_one])
        bench: Bench | None = None
        try:
            _setup_owner(cluster, tyk)
            policies = ["bench.product.shop.orders", "bench.plan.shop.free"]
            bench = Bench(kube, tyk, policies)
            for namespace in (op_spread, floor_spread):
                for app in range(50):
                    await bench.create_app(namespace, f"app-{app}")
            for namespace in (op_one, floor_one):
                await bench.create_app(namespace, "app-0")
            spread = Watcher(bench.kube, op_spread)
            one = Watcher(bench.kube, op_one)
            await spread.start()
            await one.start()

            lat = await _latency(bench, spread, floor_spread, sequential)

            results: dict[str, tuple[int, float]] = {}
            per_issuance: dict[str, tuple[Counter[str], Counter[str]]] = {}
            cpu_before = _cpu_seconds(operator.pid)
            for label, watcher, floor_ns, apps in (
                ("spread over 50 apps", spread, floor_spread, 50),
                ("all in one app", one, floor_one, 1),
            ):
                names = [f"tp-{i}" for i in range(requests)]

                async def floor_work(i: int, ns: str = floor_ns, n: int = apps) -> None:
                    await bench.floor_issue(ns, f"tp-{i}", f"app-{i % n}")  # type: ignore[union-attr]

                results[f"floor {label}"] = await _bounded(requests, floor_work, timeout)

                async def op_create(i: int, w: Watcher = watcher, n: int = apps) -> None:
                    body = request_body(f"tp-{i}", f"app-{i % n}")
                    path = f"{GROUP_PATH}/namespaces/{w.namespace}/provisioningrequests"
                    (await bench.kube.post(path, json=body)).raise_for_status()  # type: ignore[union-attr]

                assert kube.request_counts is not None
                kube.request_counts.clear()
                control.clear_requests()
                started = time.monotonic()
                await _bounded(requests, op_create, timeout)
                ready = await _wait_all_ready(watcher, names, timeout - (time.monotonic() - started))
                results[f"operator {label}"] = (ready, time.monotonic() - started)
                await asyncio.sleep(2)
                per_issuance[label] = (
                    Counter(kube.request_counts),
                    Counter(
                        f"{r['method']} {r['path'].split('/')[2] if r['path'].count('/') > 1 else r['path']}"
                        for r in control.requests()
                        if r["server"] == "dashboard"
                    ),
                )
            cpu = _cpu_seconds(operator.pid) - cpu_before
            issued = results["operator spread over 50 apps"][0] + results["operator all in one app"][0]

            # Steady state: nothing changes for three resyncs (after one app/catalogue status interval,
            # so the last statuses written during issuance are settled).
            await asyncio.sleep(35)
            assert kube.request_counts is not None
            kube.request_counts.clear()
            control.clear_requests()
            window = 3 * 10.0
            await asyncio.sleep(window)
            kube_steady = Counter(kube.request_counts)
            tyk_steady = Counter(
                f"{r['method']} {r['path'].split('?')[0].rsplit('/', 1)[0] if r['path'].startswith('/api/keys/') else r['path']}"
                for r in control.requests()
                if r["server"] == "dashboard"
            )
            rss = _rss_mib(operator.pid)
            await spread.stop()
            await one.stop()
        finally:
            if bench is not None:
                await bench.close()
            operator.terminate()
            try:
                operator.wait(timeout=30)
            except subprocess.TimeoutExpired:
                operator.kill()
        if keep_log:
            Path(keep_log).write_bytes(log.read_bytes())
        errors = sum(
            1
            for line in log.read_text().splitlines()
            if '"levelname": "ERROR"' in line or '"level": "ERROR"' in line or " ERROR " in line
        )

    def ms(values: list[float]) -> str:
        return f"{1000 * _percentile(values, 50):.0f} / {1000 * _percentile(values, 99):.0f} ms"

    print(f"machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}")
    _line("", "floor", "operator", "ratio")
    for what, floor_key, op_key in (
        ("one at a time: apply -> key in Secret (p50 / p99)", "floor_secret", "op_secret"),
        ("one at a time: apply -> Ready=True (p50 / p99)", "floor_ready", "op_ready"),
    ):
        f50, o50 = _percentile(lat[floor_key], 50), _percentile(lat[op_key], 50)
        f99, o99 = _percentile(lat[floor_key], 99), _percentile(lat[op_key], 99)
        _line(what, ms(lat[floor_key]), ms(lat[op_key]), f"{o50 / f50:.1f}x/{o99 / f99:.1f}x")
    for label in ("spread over 50 apps", "all in one app"):
        f_done, f_time = results[f"floor {label}"]
        o_done, o_time = results[f"operator {label}"]
        f_rate, o_rate = f_done / f_time, o_done / o_time
        _line(
            f"{requests} requests at concurrency {CONCURRENCY}, {label}",
            f"{f_done} in {f_time:.0f}s",
            f"{o_done} in {o_time:.0f}s",
            "",
        )
        _line("   issuances per second", f"{f_rate:.1f}/s", f"{o_rate:.1f}/s", f"{o_rate / f_rate:.0%}")
    _line("operator CPU per issuance", "", f"{1000 * cpu / max(issued, 1):.0f} ms")
    for label, (kube_calls, tyk_calls) in per_issuance.items():
        kube_total = sum(v for k, v in kube_calls.items() if not k.startswith("WATCH"))
        _line(f"Kubernetes requests per issuance ({label})", "4", f"{kube_total / requests:.1f}")
        top = {k: round(v / requests, 2) for k, v in kube_calls.most_common(8)}
        print(f"   {top}")
        _line(f"Tyk requests per issuance ({label})", "1", f"{sum(tyk_calls.values()) / requests:.1f}")
    total_creds = sequential + 2 * requests
    _line(
        f"steady state per resync ({total_creds} credentials): Kubernetes",
        "",
        f"{sum(kube_steady.values()) / 3:.1f}",
    )
    print(f"   {dict(kube_steady)}")
    _line("steady state per resync: Tyk", "", f"{sum(tyk_steady.values()) / 3:.1f}")
    print(f"   {dict(tyk_steady)}")
    _line("operator RSS after issuance", "", f"{rss:.0f} MiB")
    _line("operator ERROR log lines", "", str(errors))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000, help="requests per throughput run")
    parser.add_argument("--sequential", type=int, default=50, help="requests for the latency run")
    parser.add_argument("--timeout", type=float, default=600, help="give up on a phase after this long (s)")
    parser.add_argument("--keep-log", help="copy the operator's log here")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.sequential, args.timeout, args.keep_log))


if __name__ == "__main__":
    main()
