"""TykEmulator: runs the Dashboard, Gateway and control listeners on a private thread/event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

from aiohttp import web

from .app import Core, make_app
from .gateway_tls import GatewayTLS
from .state import JSON, TykState

LISTENERS = ("dashboard", "gateway", "control", "gateway_tls")


class TykEmulator:
    """In-memory Tyk Dashboard + Gateway (data plane and ``/tyk/*`` API) on 127.0.0.1.

    Three listeners: the Dashboard API (``url``, which also serves ``/_emulator/``), the Gateway data
    plane and management API (``gateway_url``) and a control-only port (``control_url``) that stays
    up during an outage fault so tests can clear it. With ``gateway_tls=True`` a fourth serves the same data plane over
    HTTPS (``gateway_tls_url``, its CA in ``gateway_tls_ca_pem``), requesting client certificates.
    """

    def __init__(
        self,
        api_key: str = "dash-secret",
        org_id: str = "org1",
        hash_keys: bool = True,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        gateway_port: int = 0,
        control_port: int = 0,
        seed_apis: list[JSON] | None = None,
        version: str = "5.13.0",
        gateway_secret: str | None = None,
        gateway_tls: bool = False,
        gateway_tls_port: int = 0,
    ) -> None:
        state = TykState(
            org_id=org_id, hash_keys=hash_keys, dashboard_version=version, gateway_version=f"v{version}"
        )
        # gateway_secret: the Gateway API's x-tyk-authorization secret (None: the same as api_key).
        self.core = Core(state=state, api_key=api_key, gateway_secret=gateway_secret)
        self.core.apply_outage = self._apply_outage
        self.core.stop_listening = self._stop_listening
        self.host = host
        self._ports: dict[str, int] = {"dashboard": port, "gateway": gateway_port, "control": control_port}
        if gateway_tls:
            self.core.gateway_tls = GatewayTLS(host)
            self._ports["gateway_tls"] = gateway_tls_port
        self._runners: dict[str, web.AppRunner] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock: asyncio.Lock | None = None
        for api in seed_apis or []:
            state.add_api(api)

    # -- public API ---------------------------------------------------------------------------------

    @property
    def state(self) -> TykState:
        """In-process state (for debugging; tests should prefer HTTP via TykControl)."""
        return self.core.state

    @property
    def url(self) -> str:
        return self._url("dashboard")

    @property
    def gateway_url(self) -> str:
        return self._url("gateway")

    @property
    def control_url(self) -> str:
        return self._url("control")

    @property
    def gateway_tls_url(self) -> str:
        """The HTTPS data plane (only with ``gateway_tls=True``)."""
        if self.core.gateway_tls is None:
            raise RuntimeError("TykEmulator was started without gateway_tls")
        return self._url("gateway_tls").replace("http://", "https://", 1)

    @property
    def gateway_tls_ca_pem(self) -> str:
        """The PEM certificate clients trust to verify the HTTPS data plane's server certificate."""
        if self.core.gateway_tls is None:
            raise RuntimeError("TykEmulator was started without gateway_tls")
        return self.core.gateway_tls.ca_pem

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> TykEmulator:
        if self._thread is not None:
            return self
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            self._lock = asyncio.Lock()
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="tyk-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        try:
            self._call(self._open_all())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        try:
            self._call(self._close(LISTENERS))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None
            self._loop = None

    def restart(self) -> None:
        """Stop listening, then listen again on the same ports; state (and faults) are kept."""
        if self._thread is None:
            self.start()
            return
        self._call(self._close(LISTENERS))
        self._call(self._open_all())

    def __enter__(self) -> TykEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------------

    def _url(self, name: str) -> str:
        port = self._ports[name]
        if not port:
            raise RuntimeError("TykEmulator is not started")
        return f"http://{self.host}:{port}"

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def _wanted(self) -> set[str]:
        wanted = {name for name in LISTENERS if name in self._ports}
        for name in ("dashboard", "gateway"):
            if self.core.outage_for(name):
                wanted.discard(name)
        if self.core.outage_for("gateway"):
            wanted.discard("gateway_tls")
        return wanted

    async def _open_all(self) -> None:
        assert self._lock is not None
        async with self._lock:
            for name in LISTENERS:
                if name in self._wanted() and name not in self._runners:
                    await self._open(name)
            self.core.urls = {
                "dashboard_url": self.url,
                "gateway_url": self.gateway_url,
                "control_url": self.control_url,
            }
            if self.core.gateway_tls is not None:
                self.core.urls["gateway_tls_url"] = self.gateway_tls_url
                self.core.urls["gateway_tls_ca_pem"] = self.gateway_tls_ca_pem

    async def _open(self, name: str) -> None:
        tls = self.core.gateway_tls if name == "gateway_tls" else None
        app_name = "gateway" if name == "gateway_tls" else name
        runner = web.AppRunner(make_app(self.core, app_name), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        if tls is not None:
            for record in self.core.state.certs.values():
                tls.trust(record)
        site = web.TCPSite(
            runner,
            self.host,
            self._ports[name],
            reuse_address=True,
            ssl_context=tls.context if tls is not None else None,
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._ports[name] = runner.addresses[0][1]
        self._runners[name] = runner

    async def _close(self, names: tuple[str, ...] | set[str]) -> None:
        for name in names:
            runner = self._runners.pop(name, None)
            if runner is not None:
                await runner.cleanup()

    async def _stop_listening(self) -> None:
        """Stop accepting on the listeners an outage covers; open connections are closed later."""
        wanted = self._wanted()
        for name, runner in self._runners.items():
            if name not in wanted:
                for site in list(runner.sites):
                    await site.stop()

    async def _apply_outage(self) -> None:
        """Close the listeners an outage covers (refusing connections) or reopen them."""
        assert self._lock is not None
        async with self._lock:
            wanted = self._wanted()
            await self._close({n for n in self._runners if n not in wanted})
            for name in LISTENERS:
                if name in wanted and name not in self._runners:
                    await self._open(name)
