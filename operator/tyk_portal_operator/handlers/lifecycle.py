"""Start-up and clean-up: kopf settings, the services' Context, the metrics server."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import ssl
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import kopf

from ..core.naming import FINALIZER
from ..kube import KubeClient
from ..kube.client import load_api_client
from ..metrics import REQUEST_METRICS, observe_tyk_request, serve_metrics
from ..services.context import Context, rfc3339, utcnow
from ..services.events import EventRecorder
from ..services.peering import PeeringGate
from ..services.request_watch import RequestWatch
from ..services.requeue import Requeue
from ..settings import OperatorSettings
from ..tyk import DashboardClient, GatewayClient, TykBackend
from ._common import context_of
from .provisioning import reconcile_request_now, request_event

__all__ = ["cleanup", "login", "start_request_watch", "startup"]

log = logging.getLogger(__name__)
_KUBE_THREADS = 32


def _backend_factory(settings: OperatorSettings) -> Any:
    def build(
        *, mode: str, url: str, api_key: str, org_id: str | None, verify: ssl.SSLContext | bool
    ) -> TykBackend:
        client_cls = GatewayClient if mode == "Gateway" else DashboardClient
        return client_cls(
            url,
            api_key,
            org_id=org_id,
            verify=verify,
            timeout=settings.tyk_timeout,
            retries=settings.tyk_retries,
            backoff=settings.tyk_backoff,
            on_request=observe_tyk_request,
        )

    return build


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In-cluster service account, else the kubeconfig named by $KUBECONFIG (read at login time)."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Configure kopf and build the Context shared by every handler."""
    options = OperatorSettings.from_env()
    # Our own finalizer and annotation prefix instead of kopf's defaults, and no kopf data in status.
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="apiportal.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="apiportal.dev", key="last-handled-configuration"
    )
    # Watches are restarted regularly so a silently dead connection cannot stall the operator.
    settings.watching.server_timeout = options.watch_server_timeout
    settings.watching.client_timeout = options.watch_server_timeout + 30
    # The services post their own Events (as tyk-portal-operator); kopf's retried posting of its log
    # lines would log errors for every Event refused in a namespace being deleted.
    settings.posting.enabled = False
    settings.networking.request_timeout = 30
    # kopf keeps a worker per object, holding that object's last event, until it has been idle this
    # long (default 5 s): thousands of requests listed at start-up would all be held at once.
    settings.queueing.idle_timeout = 0.5
    # The official client is synchronous and runs in threads: enough of them (and pooled connections)
    # that Kubernetes calls of concurrent reconciles do not queue behind each other.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=_KUBE_THREADS))
    kube = KubeClient(load_api_client(pool_size=_KUBE_THREADS))
    ctx = Context(
        settings=options,
        kube=kube,
        backend_factory=_backend_factory(options),
        emit=EventRecorder(kube, lambda: rfc3339(utcnow())),
    )
    ctx.requeue = Requeue(partial(reconcile_request_now, ctx))
    memo.ctx = ctx
    REQUEST_METRICS.follow(ctx.view.requests.records, ctx.clock)
    # Everything alive now (the libraries, about 90,000 objects) lives as long as the process: the
    # cyclic garbage collector need not scan it again (a full collection of it takes about 20 ms,
    # paused in the middle of whatever the operator was doing).
    gc.freeze()
    # `tyk-portal-operator run` passes the port in the memo; `kopf run -m ...` can use the environment.
    port = int(getattr(memo, "metrics_port", 0) or os.environ.get("TYK_PORTAL_METRICS_PORT", 0) or 0)
    if port:
        try:
            serve_metrics(port)
            log.info("Started metrics server", extra={"port": port})
        except OSError as exc:  # a busy port must not stop the operator from reconciling
            log.warning("Could not start the metrics server", extra={"port": port, "error": str(exc)})


@kopf.on.startup()
async def start_request_watch(memo: kopf.Memo, **_: Any) -> None:
    """Start the operator's own watch of ProvisioningRequests (services/request_watch.py), following
    kopf's peering so that only the replica that acts handles them. Checks across requests (what still
    uses a product, plan or provider; an app's credentials) wait for its first listing."""
    ctx = context_of(memo)
    gate = PeeringGate(ctx.kube, getattr(memo, "peering", None))
    ctx.acting = gate.active.is_set
    watch = RequestWatch(
        ctx.kube,
        ctx.view.requests,
        ctx.view.listed,
        partial(request_event, ctx),
        gate,
        ctx.settings.namespace_patterns,
        watch_timeout=int(ctx.settings.watch_server_timeout),
        backoff=lambda failures: min(ctx.settings.backoff(failures), 30.0),
    )
    memo.request_watch = [
        asyncio.create_task(gate.follow(), name="peering gate"),
        asyncio.create_task(watch.run(), name="request watch"),
    ]


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    """Close Tyk connections."""
    ctx = getattr(memo, "ctx", None)
    if ctx is None:
        return
    tasks = getattr(memo, "request_watch", [])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if ctx.requeue is not None:
        await ctx.requeue.close()
    if isinstance(ctx.emit, EventRecorder):
        await ctx.emit.drain()
    for state in list(ctx.providers.values()):
        if state.backend is not None:
            await state.backend.aclose()
    await ctx.kube.aclose()
