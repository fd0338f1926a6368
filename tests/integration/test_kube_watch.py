"""The Kubernetes adapter's list and watch, which the operator's request watch is built on.

The first test runs wherever the suite runs (the emulator, or a real cluster with
PORTAL_TEST_KUBECONFIG) and acts only on a request in its own namespace. The second needs an API
server whose history it controls (to expire a resourceVersion), served over TLS with a bearer
token as real clusters are, so it starts its own emulator.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from kopf.testing import KopfRunner

from tests.emulators.kube import KubeEmulator
from tyk_portal_operator.kube import KubeGone
from tyk_portal_operator.kube.client import KubeClient, load_api_client

from .cluster import Cluster
from .test_provisioning import request

PLURAL = "provisioningrequests"


async def _events_until_deleted(kube: KubeClient, namespace: str, since: str, name: str) -> list[str]:
    seen: list[str] = []
    async for event in kube.watch(PLURAL, namespace, since, timeout_seconds=60):
        if (event.get("object") or {}).get("metadata", {}).get("name") == name:
            seen.append(str(event["type"]))
            if event["type"] == "DELETED":
                return seen
    return seen


def test_a_watch_from_a_listing_shows_a_requests_life_until_its_deletion(
    operator: KopfRunner, cluster: Cluster, kubeconfig: str, namespace: str
) -> None:
    async def scenario() -> list[str]:
        kube = KubeClient(load_api_client(kubeconfig))
        try:
            pages = [page async for page in kube.list_pages(PLURAL, namespace, page_size=2)]
            assert pages and all(page.items == [] for page in pages)  # a fresh namespace
            watching = asyncio.create_task(
                _events_until_deleted(kube, namespace, pages[-1].resource_version, "watched")
            )
            await asyncio.to_thread(cluster.create, PLURAL, request("watched"), namespace)
            await asyncio.to_thread(cluster.delete, PLURAL, "watched", namespace)
            return await asyncio.wait_for(watching, 90)
        finally:
            await kube.aclose()

    seen = asyncio.run(scenario())
    assert seen[0] == "ADDED" and seen[-1] == "DELETED"
    assert set(seen[1:-1]) <= {"MODIFIED"}


@pytest.mark.skipif(
    bool(os.environ.get("PORTAL_TEST_KUBECONFIG")),
    reason="expires resourceVersions on its own API server emulator",
)
def test_over_tls_a_watch_from_an_expired_version_says_gone_and_a_page_says_where_to_resume(
    tmp_path: Path,
) -> None:
    with KubeEmulator(tls=True, history_limit=5) as emulator:
        kubeconfig = str(emulator.write_kubeconfig(tmp_path / "kubeconfig"))
        cluster = Cluster(kubeconfig)
        cluster.install_crds()
        cluster.create_namespace("watched")

        async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            kube = KubeClient(load_api_client(kubeconfig))
            try:
                first = [page async for page in kube.list_pages(PLURAL, "watched")][-1].resource_version
                for index in range(8):
                    await asyncio.to_thread(cluster.create, PLURAL, request(f"r{index}"), "watched")
                with pytest.raises(KubeGone):
                    async for _ in kube.watch(PLURAL, "watched", first, timeout_seconds=5):
                        pass
                pages = [page async for page in kube.list_pages(PLURAL, "watched", page_size=3)]
                latest = pages[-1].resource_version
                await asyncio.to_thread(cluster.create, PLURAL, request("late"), "watched")
                events = [event async for event in kube.watch(PLURAL, "watched", latest, timeout_seconds=2)]
                return [item for page in pages for item in page.items], events
            finally:
                await kube.aclose()

        items, events = asyncio.run(scenario())
    assert len(items) == 8  # three pages of at most three, continued
    # Resumed from the listing's version: only what happened after it (the server ends the watch
    # after timeoutSeconds).
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events if e["type"] != "BOOKMARK"] == [
        ("ADDED", "late")
    ]
