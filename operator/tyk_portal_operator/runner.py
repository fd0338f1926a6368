"""Run the operator: start-up checks, logging, handler registration, kopf's main loop."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

import kopf

from . import __version__
from .logging_setup import configure_logging
from .services.peering import Peering
from .settings import OperatorSettings

__all__ = ["SERVICE_ACCOUNT_TOKEN", "find_cluster_credentials", "missing_credentials_message", "run_operator"]

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def find_cluster_credentials(
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    token: Path = SERVICE_ACCOUNT_TOKEN,
) -> str | None:
    """Where the operator would get Kubernetes credentials from, or None when it has none.

    The same order as the login handler: the Pod's service account, else a kubeconfig ($KUBECONFIG,
    else ~/.kube/config) whose current context exists. Checked before kopf starts, because kopf
    would otherwise retry its login forever.
    """
    env = os.environ if environ is None else environ
    if env.get("KUBERNETES_SERVICE_HOST") and env.get("KUBERNETES_SERVICE_PORT") and token.is_file():
        return "in-cluster service account"
    paths = [p for p in (env.get("KUBECONFIG") or "").split(os.pathsep) if p]
    if not paths:
        paths = [str((home or Path.home()) / ".kube" / "config")]
    existing = [p for p in paths if Path(p).is_file()]
    if not existing:
        return None
    from kubernetes import config as k8s_config

    try:
        _, current = k8s_config.list_kube_config_contexts(config_file=existing[0])  # type: ignore[no-untyped-call]
    except Exception:
        return None
    return f"kubeconfig {existing[0]} (context {current.get('name')!r})" if current else None


def missing_credentials_message(environ: Mapping[str, str] | None = None, home: Path | None = None) -> str:
    """One line saying why no credentials were found and what to do."""
    env = os.environ if environ is None else environ
    if env.get("KUBERNETES_SERVICE_HOST"):
        where = f"in a Pod, but {SERVICE_ACCOUNT_TOKEN} is missing (automountServiceAccountToken: false?)"
    else:
        where = "not in a cluster (KUBERNETES_SERVICE_HOST is not set)"
    if env.get("KUBECONFIG"):
        config = f"KUBECONFIG={env['KUBECONFIG']} names no readable kubeconfig with a current context"
    else:
        config = f"KUBECONFIG is not set and {(home or Path.home()) / '.kube' / 'config'} is missing or has no current context"
    return (
        f"no Kubernetes credentials: {where}, and {config}; "
        "set KUBECONFIG (or use kubectl config use-context), or run in a Pod with a service account"
    )


def run_operator(
    *,
    namespaces: Sequence[str] = (),
    standalone: bool = False,
    peering: str = "tyk-portal-operator",
    liveness: str | None = "http://0.0.0.0:8080/healthz",
    metrics_port: int = 9090,
    log_format: str = "json",
    verbose: bool = False,
    settings: OperatorSettings | None = None,
    credentials: str | None = None,
) -> None:
    """Run until stopped (SIGTERM/SIGINT)."""
    configure_logging(log_format, verbose)
    settings = settings or OperatorSettings.from_env()
    summary = settings.summary()
    log.info(
        "Starting tyk-portal-operator %s (%s; %s) with %s",
        __version__,
        credentials or "credentials from the login handler",
        f"namespaces {', '.join(namespaces)}" if namespaces else "cluster-wide",
        " ".join(f"{key}={value}" for key, value in summary.items()),
        extra={"operator_settings": summary},
    )
    from . import handlers  # noqa: F401  (registers the handlers with kopf)

    # kopf pauses every peer when two share a priority; distinct random priorities let one replica
    # act while the others stand by. The request watch (not kopf's) follows the same peering, so it
    # is told who this replica is.
    priority = secrets.randbelow(2**31)
    identity = f"{os.environ.get('POD_ID') or socket.gethostname()}/{secrets.token_hex(4)}"
    kopf.run(
        standalone=standalone,
        # A peering name makes kopf wait for its peering CRDs even in standalone mode: pass none then.
        peering_name=None if standalone else peering,
        priority=priority,
        identity=identity,  # type: ignore[arg-type]  # kopf's Identity: a NewType of str it does not export
        liveness_endpoint=liveness or None,
        namespaces=list(namespaces),
        clusterwide=not namespaces,
        memo=kopf.Memo(
            metrics_port=metrics_port,
            peering=None if standalone else Peering(peering, identity, priority, list(namespaces)),
        ),
    )
