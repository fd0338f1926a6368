"""Building and serving the portal: in the cluster (OIDC) or for one person (`kubectl portal ui`)."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette

from .identity import LocalIdentity, OIDCIdentity, OIDCSettings
from .kube import CatalogueReader
from .web import PortalApp, create_app

__all__ = ["RunningServer", "in_cluster_app", "local_app", "serve_in_thread"]


def local_app(api_client: Any, *, title: str = "API portal") -> tuple[Starlette, LocalIdentity]:
    """The portal for one person: their kubeconfig reads the catalogue and does everything else."""
    identity = LocalIdentity(api_client)
    portal = PortalApp(identity=identity, reader=CatalogueReader(api_client), title=title)
    app = create_app(portal, session_secret=secrets.token_urlsafe(32), secure_cookies=False)
    return app, identity


def _truthy(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.lower() in ("1", "true", "yes", "on")


def in_cluster_app(env: Mapping[str, str] | None = None, reader_client: Any = None) -> Starlette:
    """The in-cluster portal, configured from the environment (the chart sets these variables).

    `PORTAL_OIDC_ISSUER`, `PORTAL_OIDC_CLIENT_ID`, `PORTAL_OIDC_CLIENT_SECRET` (optional for public
    clients), `PORTAL_SESSION_SECRET`, `PORTAL_SECURE_COOKIES` (default true), `PORTAL_TITLE`,
    `PORTAL_OIDC_SCOPES`, `PORTAL_PUBLIC_URL` (the callback is `<url>/auth/callback`), and the API server people's tokens go to: `PORTAL_KUBE_HOST` and
    `PORTAL_KUBE_CA_FILE` (default: the in-cluster service and CA). The catalogue is read with the
    pod's ServiceAccount unless `reader_client` is given.
    """
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    env = os.environ if env is None else env
    host, ca_file = env.get("PORTAL_KUBE_HOST", ""), env.get("PORTAL_KUBE_CA_FILE") or None
    if reader_client is None:
        configuration = k8s.Configuration()
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        reader_client = k8s.ApiClient(configuration)
        host = host or str(configuration.host)
        ca_file = ca_file or configuration.ssl_ca_cert
    missing = [
        k for k in ("PORTAL_OIDC_ISSUER", "PORTAL_OIDC_CLIENT_ID", "PORTAL_SESSION_SECRET") if not env.get(k)
    ]
    if missing or not host:
        raise SystemExit(f"the portal needs {', '.join(missing or ['PORTAL_KUBE_HOST'])} set")
    settings = OIDCSettings(
        issuer=env["PORTAL_OIDC_ISSUER"],
        client_id=env["PORTAL_OIDC_CLIENT_ID"],
        client_secret=env.get("PORTAL_OIDC_CLIENT_SECRET") or None,
        kube_host=host,
        kube_ca_file=ca_file,
        scopes=env.get("PORTAL_OIDC_SCOPES") or "openid email profile groups",
        redirect_uri=f"{env['PORTAL_PUBLIC_URL'].rstrip('/')}/auth/callback"
        if env.get("PORTAL_PUBLIC_URL")
        else None,
    )
    portal = PortalApp(
        identity=OIDCIdentity(settings),
        reader=CatalogueReader(reader_client),
        title=env.get("PORTAL_TITLE") or "API portal",
    )
    return create_app(
        portal,
        session_secret=env["PORTAL_SESSION_SECRET"],
        secure_cookies=_truthy(env.get("PORTAL_SECURE_COOKIES"), True),
    )


@dataclass
class RunningServer:
    """A uvicorn server running in a background thread."""

    server: Any
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve `app` with uvicorn in a daemon thread; returns once it listens."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="portal", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return RunningServer(server, thread, f"http://{host}:{bound}")
