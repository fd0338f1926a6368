"""Run the operator: logging, handler registration, kopf's main loop."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import kopf

from .logging_setup import configure_logging

__all__ = ["run_operator"]


def run_operator(
    *,
    namespaces: Sequence[str] = (),
    standalone: bool = False,
    peering: str = "tyk-portal-operator",
    liveness: str | None = "http://0.0.0.0:8080/healthz",
    metrics_port: int = 9090,
    log_format: str = "json",
    verbose: bool = False,
) -> None:
    """Run until stopped (SIGTERM/SIGINT)."""
    configure_logging(log_format, verbose)
    from . import handlers  # noqa: F401  (registers the handlers with kopf)

    kopf.run(
        standalone=standalone,
        # A peering name makes kopf wait for its peering CRDs even in standalone mode: pass none then.
        peering_name=None if standalone else peering,
        # kopf pauses every peer when two share a priority; distinct random priorities let one
        # replica act while the others stand by.
        priority=secrets.randbelow(2**31),
        liveness_endpoint=liveness or None,
        namespaces=list(namespaces),
        clusterwide=not namespaces,
        memo=kopf.Memo(metrics_port=metrics_port),
    )
