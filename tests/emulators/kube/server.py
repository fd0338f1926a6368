"""`KubeEmulator`: the API server emulator in its own thread and event loop, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from .app import make_app
from .auth import Authentication
from .resources import ResourceRegistry
from .store import Store
from .tls import serving_certificate

__all__ = ["KubeEmulator", "request_kind"]


def request_kind(method: str, path: str, query: Any) -> str:
    """A request summarised for counting: "GET secrets", "PATCH provisioningrequests/status", "WATCH plans"."""
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "api":
        parts = parts[2:]
    elif parts and parts[0] == "apis":
        parts = parts[3:]
    if len(parts) >= 2 and parts[0] == "namespaces" and len(parts) > 2:
        parts = parts[2:]
    resource = "/".join([parts[0], *parts[2:3]]) if parts else path
    verb = "WATCH" if method == "GET" and query.get("watch") in ("true", "1") else method
    return f"{verb} {resource}"


def _counter(counts: Counter[str]) -> Any:
    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        counts[request_kind(request.method, request.path, request.query)] += 1
        response: web.StreamResponse = await handler(request)
        return response

    return count


class KubeEmulator:
    """An in-memory Kubernetes API server for tests, spoken to only over HTTP.

    Args:
        host: the address to listen on.
        port: the port; 0 picks a free one.
        history_limit: how many watch events are kept for resuming watches; a watch from an
            older resourceVersion gets a 410 Expired `ERROR` event.
        authentication: bearer tokens (and an OIDC issuer) to require, with RBAC (see auth.py);
            None (the default) keeps the emulator open, every request acting as a cluster admin.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        history_limit: int = 10_000,
        count_requests: bool = False,
        authentication: Authentication | None = None,
        tls: bool = False,
    ) -> None:
        self.authentication = authentication
        # HTTPS with a self-signed certificate (in the kubeconfig): kubectl sends tokens only over TLS.
        self._certificate = serving_certificate(host) if tls else None
        self._host = host
        # (method, resource plural, watch?) -> count; for benchmarks, read in-process.
        self.request_counts: Counter[str] | None = Counter() if count_requests else None
        self._port = port
        self._history_limit = history_limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._controllers: asyncio.Task[None] | None = None
        self._store: Store | None = None
        self.url = ""

    # ----- lifecycle ----------------------------------------------------------------------------
    def start(self) -> KubeEmulator:
        """Start serving in a background thread; returns self once the port is listening."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        sock.listen(128)
        sock.setblocking(False)
        port = sock.getsockname()[1]
        scheme = "https" if self._certificate is not None else "http"
        self.url = f"{scheme}://{self._host}:{port}"
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(sock))
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"kube-emulator-{port}", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise RuntimeError("the Kubernetes emulator failed to start") from failure[0]
        return self

    async def _serve(self, sock: socket.socket) -> None:
        self._store = Store(ResourceRegistry(), history_limit=self._history_limit)
        self._controllers = asyncio.get_running_loop().create_task(self._store.run_controllers())
        app = make_app(self._store, self.authentication)
        if self.request_counts is not None:
            app.middlewares.append(_counter(self.request_counts))
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        context = self._certificate.server_context() if self._certificate is not None else None
        site = web.SockSite(self._runner, sock, ssl_context=context)
        await site.start()

    async def _shutdown(self) -> None:
        if self._store is not None:
            self._store.close_watches()
        if self._controllers is not None:
            self._controllers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._controllers
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Stop serving and end the thread (open watches are closed)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----- client configuration -----------------------------------------------------------------
    def kubeconfig(self) -> dict[str, Any]:
        """A kubeconfig document pointing at this emulator (a dummy bearer token as the user)."""
        if not self.url:
            raise RuntimeError("start the emulator first")
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kube-emulator", "cluster": self._cluster_entry()}],
            "users": [{"name": "kube-emulator", "user": {"token": "emulator-token"}}],
            "contexts": [
                {
                    "name": "kube-emulator",
                    "context": {"cluster": "kube-emulator", "user": "kube-emulator", "namespace": "default"},
                }
            ],
            "current-context": "kube-emulator",
            "preferences": {},
        }

    def _cluster_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"server": self.url}
        if self._certificate is not None:
            entry["certificate-authority-data"] = base64.b64encode(self._certificate.cert_pem).decode()
        return entry

    def write_kubeconfig(
        self, path: str | Path, *, token: str | None = None, user: str | None = None
    ) -> Path:
        """Write the kubeconfig to `path` (optionally for another bearer token) and return the path."""
        config = self.kubeconfig()
        if token is not None:
            config["users"][0]["user"]["token"] = token
        if user is not None:
            config["users"][0]["name"] = config["contexts"][0]["context"]["user"] = user
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target
