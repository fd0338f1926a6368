"""`kubectl portal ui` and `kubectl portal catalogue`: the portal from the command line.

Both use the caller's kubeconfig credentials only: nothing is installed in the cluster, and the
API server decides what the caller may read and do.
"""

from __future__ import annotations

import argparse
import sys
import time
import webbrowser
from typing import Any

from .kube import CatalogueReader, PortalError
from .offers import Team, offers_for, quota_text, rate_text

__all__ = ["register_portal_commands", "run_catalogue", "run_ui"]

EXIT_OK, EXIT_FAILED = 0, 1


def _client(args: argparse.Namespace) -> tuple[Any, str]:
    """An API client from the kubeconfig, and the context's namespace."""
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    try:
        contexts, current = k8s_config.list_kube_config_contexts(
            config_file=getattr(args, "kubeconfig", None)
        )  # type: ignore[no-untyped-call]
        chosen = current
        if getattr(args, "context", None) is not None:
            chosen = next((c for c in contexts or [] if c.get("name") == args.context), None)
            if chosen is None:
                raise PortalError(f"context {args.context!r} not found in the kubeconfig")
        api_client = k8s_config.new_client_from_config(
            config_file=getattr(args, "kubeconfig", None), context=getattr(args, "context", None)
        )  # type: ignore[no-untyped-call]
    except (ConfigException, FileNotFoundError) as exc:
        raise PortalError(f"cannot load the kubeconfig: {exc}") from exc
    namespace = ((chosen or {}).get("context") or {}).get("namespace") or "default"
    return api_client, str(namespace)


def run_catalogue(args: argparse.Namespace) -> int:
    """Print what a namespace may request: catalogues, products, plans, approval."""
    try:
        api_client, context_namespace = _client(args)
        namespace = getattr(args, "namespace", None) or context_namespace
        reader = CatalogueReader(api_client)
        team: Team = reader.namespace(namespace)
        data = reader.catalogue()
    except PortalError as error:
        sys.stderr.write(f"error: {error.message}\n")
        return EXIT_FAILED
    offer = offers_for(team, data.catalogues, data.products, data.plans)
    rows = [["CATALOGUE", "VISIBILITY", "PRODUCT", "LIFECYCLE", "PLAN", "RATE LIMIT", "QUOTA", "APPROVAL"]]
    rows.extend(
        [
            f"{entry.catalogue.namespace}/{entry.catalogue.name}",
            entry.catalogue.spec.visibility,
            f"{product.product.namespace}/{product.product.name}" + ("" if product.ready else " (not ready)"),
            product.product.spec.lifecycle or "-",
            f"{plan.plan.namespace}/{plan.plan.name}",
            rate_text(plan.plan),
            quota_text(plan.plan),
            plan.approval,
        ]
        for entry in offer.catalogues
        for product in entry.products
        for plan in entry.plans
    )
    if len(rows) == 1:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(team.labels.items())) or "no labels"
        sys.stderr.write(f"No catalogue offers anything to namespace {namespace} ({labels}).\n")
        return EXIT_OK
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        sys.stdout.write("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
    return EXIT_OK


def run_ui(args: argparse.Namespace) -> int:
    """Serve the portal on 127.0.0.1 with the caller's credentials and open the browser."""
    from .server import local_app, serve_in_thread

    try:
        api_client, _ = _client(args)
    except PortalError as error:
        sys.stderr.write(f"error: {error.message}\n")
        return EXIT_FAILED
    app, identity = local_app(api_client)
    running = serve_in_thread(app, "127.0.0.1", args.port)
    url = f"{running.url}/login?token={identity.launch_token}"
    sys.stdout.write(
        f"The portal runs at {url}\n(only for you: the link carries a one-time token). Ctrl-C stops it.\n"
    )
    sys.stdout.flush()
    if not args.no_browser:
        webbrowser.open(url)
    try:
        while running.thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    running.stop()
    return EXIT_OK


def register_portal_commands(commands: Any, shared: list[argparse.ArgumentParser]) -> None:
    """Add `ui` and `catalogue` to `kubectl portal` (a `kubectl_portal.REGISTRATIONS` entry)."""
    ui = commands.add_parser(
        "ui",
        parents=shared,
        help="open the web portal locally, with your kubeconfig credentials",
        epilog="examples:\n  kubectl portal ui\n  kubectl portal ui --port 8765 --no-browser\n"
        "  kubectl portal ui --context staging",
    )
    ui.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    ui.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    ui.set_defaults(handler=lambda args, _context: run_ui(args))
    catalogue = commands.add_parser(
        "catalogue",
        parents=shared,
        help="what a namespace may request: catalogues, products, plans and approval",
        epilog="examples:\n  kubectl portal catalogue                  # the context's namespace\n"
        "  kubectl portal catalogue -n team-mobile",
    )
    catalogue.set_defaults(handler=lambda args, _context: run_catalogue(args))
