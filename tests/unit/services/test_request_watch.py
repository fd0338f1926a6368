"""The request watch and its work queue; the peering rule it follows."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tyk_portal_operator.kube import KubeGone
from tyk_portal_operator.kube.client import ListPage
from tyk_portal_operator.services.peering import Peering, PeeringGate, may_act
from tyk_portal_operator.services.request_book import RequestBook
from tyk_portal_operator.services.request_watch import RequestWatch, WorkQueue

NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.UTC)
ME = Peering("tpo", "me", priority=100)


def _request(name: str, namespace: str = "team-a", generation: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "generation": generation},
        "spec": {"appRef": {"name": "app"}, "planRef": {"name": "free"}, "catalogueRef": {"name": "c"}},
    }


async def _until(condition: Any, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


# ----- the work queue ------------------------------------------------------------------------------
async def test_a_requests_events_run_one_at_a_time_and_only_the_latest_waits() -> None:
    seen: list[tuple[str, int]] = []
    release = asyncio.Event()

    async def handle(event_type: str, body: dict[str, Any]) -> None:
        seen.append((body["metadata"]["name"], body["metadata"]["generation"]))
        if body["metadata"]["generation"] == 1:
            await release.wait()

    queue = WorkQueue(handle, workers=4, backlog=10)
    workers = asyncio.create_task(queue.run())
    await queue.put("ADDED", _request("r1", generation=1))
    await _until(lambda: seen == [("r1", 1)])
    # While r1 runs, two more of its events arrive: only the latest runs, after the first ends.
    await queue.put("MODIFIED", _request("r1", generation=2))
    await queue.put("MODIFIED", _request("r1", generation=3))
    await queue.put("ADDED", _request("r2"))
    await _until(lambda: ("r2", 1) in seen)
    assert ("r1", 2) not in seen and len(seen) == 2  # r2 ran meanwhile; r1's next waits
    release.set()
    await asyncio.wait_for(queue.idle(), 2)
    assert seen == [("r1", 1), ("r2", 1), ("r1", 3)]
    workers.cancel()


async def test_the_backlog_bounds_what_waits_and_a_failure_does_not_stop_the_others() -> None:
    handled: list[str] = []
    gate = asyncio.Event()

    async def handle(event_type: str, body: dict[str, Any]) -> None:
        await gate.wait()
        if body["metadata"]["name"] == "bad":
            raise RuntimeError("boom")
        handled.append(body["metadata"]["name"])

    queue = WorkQueue(handle, workers=1, backlog=2)
    workers = asyncio.create_task(queue.run())
    await queue.put("ADDED", _request("bad"))
    await _until(lambda: queue._busy == {("team-a", "bad")})
    await queue.put("ADDED", _request("a"))
    await queue.put("ADDED", _request("b"))
    third = asyncio.create_task(queue.put("ADDED", _request("c")))
    await asyncio.sleep(0.05)
    assert not third.done()  # two wait already: the producer waits too
    gate.set()
    await asyncio.wait_for(third, 2)
    await asyncio.wait_for(queue.idle(), 2)
    assert handled == ["a", "b", "c"]
    workers.cancel()


# ----- the watch -----------------------------------------------------------------------------------
class FakeKube:
    """Pages of a listing, then watch events fed by the test; `gone` makes the next watch 410."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.lists = 0
        self.watched_from: list[str] = []

    async def list_pages(self, plural: str, namespace: str | None, page_size: int) -> AsyncIterator[ListPage]:
        self.lists += 1
        for start in range(0, len(self.items), page_size):
            yield ListPage(list(self.items[start : start + page_size]), f"rv-list-{self.lists}")

    async def watch(
        self, plural: str, namespace: str | None, resource_version: str, timeout_seconds: int
    ) -> AsyncIterator[dict[str, Any]]:
        self.watched_from.append(resource_version)
        while True:
            event = await self.events.get()
            if event is None:
                raise KubeGone("too old", status=410)
            yield event


def _watch(
    kube: FakeKube,
    book: RequestBook,
    listed: asyncio.Event,
    handled: list[tuple[str, str]],
    gate: Any,
    patterns: list[str],
) -> RequestWatch:
    async def handle(event_type: str, body: dict[str, Any]) -> None:
        handled.append((event_type, body["metadata"]["name"]))

    return RequestWatch(
        kube,  # type: ignore[arg-type]
        book,
        listed,
        handle,
        gate,
        patterns,
        watch_timeout=60,
        backoff=lambda _: 0.01,
        page_size=2,
    )


async def test_a_listing_fills_the_book_before_listed_and_a_relisting_runs_deletions_missed() -> None:
    kube = FakeKube([_request("r1"), _request("r2"), _request("x", namespace="other"), _request("r3")])
    book, listed, handled = RequestBook(), asyncio.Event(), []
    gate = PeeringGate(None, None)  # type: ignore[arg-type]  (standalone: always acts)
    watch = _watch(kube, book, listed, handled, gate, ["team-*"])
    task = asyncio.create_task(watch.run())
    await asyncio.wait_for(listed.wait(), 2)
    assert sorted(book) == [("team-a", "r1"), ("team-a", "r2"), ("team-a", "r3")]  # "other" is not served
    await asyncio.wait_for(watch.queue.idle(), 2)
    assert sorted(handled) == [("ADDED", "r1"), ("ADDED", "r2"), ("ADDED", "r3")]

    # A watch event, then the watch expires; meanwhile r2 was deleted unseen: the relisting says so.
    await kube.events.put({"type": "MODIFIED", "object": _request("r1", generation=2)})
    await _until(lambda: ("MODIFIED", "r1") in handled)
    kube.items = [_request("r1", generation=2), _request("r3")]
    await kube.events.put(None)
    await _until(lambda: ("DELETED", "r2") in handled)
    assert sorted(book) == [("team-a", "r1"), ("team-a", "r3")]
    assert kube.watched_from == ["rv-list-1", "rv-list-2"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_standing_by_stops_the_watch_and_acting_again_lists_afresh() -> None:
    kube = FakeKube([_request("r1")])
    book, listed, handled = RequestBook(), asyncio.Event(), []

    class Gate:
        active, standby = asyncio.Event(), asyncio.Event()

    gate = Gate()
    gate.standby.set()
    watch = _watch(kube, book, listed, handled, gate, [])
    task = asyncio.create_task(watch.run())
    await asyncio.sleep(0.05)
    assert kube.lists == 0 and not listed.is_set()  # a standby replica does nothing
    gate.standby.clear()
    gate.active.set()
    await asyncio.wait_for(listed.wait(), 2)
    await _until(lambda: handled == [("ADDED", "r1")])
    gate.active.clear()
    gate.standby.set()
    await _until(lambda: not listed.is_set())
    await kube.events.put({"type": "MODIFIED", "object": _request("r1", generation=2)})
    await asyncio.sleep(0.05)
    assert handled == [("ADDED", "r1")]  # not handled while standing by
    gate.standby.clear()
    gate.active.set()
    await asyncio.wait_for(listed.wait(), 2)
    assert kube.lists == 2
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# ----- the peering rule ----------------------------------------------------------------------------
def _peer(priority: int, seconds_ago: float = 1, lifetime: int = 60) -> dict[str, Any]:
    seen = NOW - datetime.timedelta(seconds=seconds_ago)
    return {"priority": priority, "lastseen": seen.isoformat(), "lifetime": lifetime}


@pytest.mark.parametrize(
    ("status", "acts"),
    [
        ({}, False),  # not registered yet: the others cannot know of it
        ({"other": _peer(50)}, False),
        ({"me": _peer(100)}, True),
        ({"me": _peer(100), "other": _peer(50)}, True),
        ({"me": _peer(100), "other": _peer(200)}, False),  # a higher priority acts
        ({"me": _peer(100), "other": _peer(100)}, False),  # kopf pauses both on a tie
        ({"me": _peer(100), "other": _peer(200, seconds_ago=61)}, True),  # dead peers do not count
    ],
)
def test_a_replica_acts_unless_a_live_peer_has_a_priority_at_least_its_own(
    status: dict[str, Any], acts: bool
) -> None:
    assert may_act(status, ME, NOW) is acts


class PeeringKube:
    def __init__(self, objects: dict[str | None, list[dict[str, Any]]]) -> None:
        self.objects = objects
        self.asked: list[tuple[bool, str | None]] = []

    async def list_peerings(self, name: str, *, namespaced: bool, namespace: str | None = None) -> Any:
        self.asked.append((namespaced, namespace))
        return self.objects.get(namespace if namespaced else "cluster", [])


async def test_the_gate_reads_the_cluster_or_each_namespaces_peering_and_follows_it() -> None:
    mine = {"metadata": {"namespace": "team-a"}, "status": {"me": _peer(100)}}
    higher = [{"metadata": {"namespace": "team-b"}, "status": {"me": _peer(100), "other": _peer(200)}}]
    kube = PeeringKube({"team-a": [mine], "team-b": higher})
    gate = PeeringGate(
        kube, Peering("tpo", "me", 100, ["team-a", "team-b"]), interval=0.01, clock=lambda: NOW
    )  # type: ignore[arg-type]
    task = asyncio.create_task(gate.follow())
    await asyncio.sleep(0.05)
    assert gate.standby.is_set() and not gate.active.is_set()
    assert (True, "team-a") in kube.asked and (True, "team-b") in kube.asked
    kube.objects["team-b"] = []
    await asyncio.wait_for(gate.active.wait(), 1)
    task.cancel()

    cluster = PeeringKube({"cluster": [{"status": {"me": _peer(100)}}]})
    gate = PeeringGate(cluster, Peering("tpo", "me", 100), interval=0.01, clock=lambda: NOW)  # type: ignore[arg-type]
    task = asyncio.create_task(gate.follow())
    await asyncio.wait_for(gate.active.wait(), 1)
    assert cluster.asked[0] == (False, None)
    task.cancel()


async def test_an_unexpected_failure_does_not_end_the_watch_it_lists_again() -> None:
    class BrokenOnce(FakeKube):
        broken = True

        async def watch(
            self, plural: str, namespace: str | None, resource_version: str, timeout_seconds: int
        ) -> AsyncIterator[dict[str, Any]]:
            if self.broken:
                self.broken = False
                raise ValueError("not JSON")
            async for event in super().watch(plural, namespace, resource_version, timeout_seconds):
                yield event

    kube = BrokenOnce([_request("r1")])
    book, listed, handled = RequestBook(), asyncio.Event(), []
    watch = _watch(kube, book, listed, handled, PeeringGate(None, None), [])  # type: ignore[arg-type]
    task = asyncio.create_task(watch.run())
    await _until(lambda: kube.lists == 2)
    await kube.events.put({"type": "MODIFIED", "object": _request("r1", generation=2)})
    await _until(lambda: ("MODIFIED", "r1") in handled)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_an_objects_lock_serialises_work_and_is_gone_once_nobody_holds_it() -> None:
    from tyk_portal_operator.services.context import Context

    ctx = Context(settings=None, kube=None, backend_factory=None)  # type: ignore[arg-type]
    order: list[str] = []

    async def work(label: str, hold: float) -> None:
        async with ctx.lock("provisioningrequests", "team-a", "r1"):
            order.append(f"{label} in")
            await asyncio.sleep(hold)
            order.append(f"{label} out")

    await asyncio.gather(work("first", 0.02), work("second", 0))
    assert order == ["first in", "first out", "second in", "second out"]
    assert ctx._locks == {}


async def test_a_namespace_watched_by_name_finds_its_own_deletions_missed_and_no_others() -> None:
    kube = FakeKube([_request("r1"), _request("r2")])
    book, listed, handled = RequestBook(), asyncio.Event(), []
    book.observe(_request("elsewhere", namespace="team-b"))  # served by another scope
    watch = _watch(kube, book, listed, handled, PeeringGate(None, None), ["team-a"])  # type: ignore[arg-type]
    task = asyncio.create_task(watch.run())
    await asyncio.wait_for(listed.wait(), 2)
    kube.items = [_request("r1")]
    await kube.events.put(None)  # 410: list again
    await _until(lambda: ("DELETED", "r2") in handled)
    assert sorted(book) == [("team-a", "r1"), ("team-b", "elsewhere")]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
