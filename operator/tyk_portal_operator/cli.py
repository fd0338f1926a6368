"""`tyk-portal-operator`: run the operator, print the CRDs, show the version."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__

__all__ = ["EXIT_BAD_SETTINGS", "EXIT_NO_CREDENTIALS", "build_parser", "main"]

EXIT_BAD_SETTINGS = 2
EXIT_NO_CREDENTIALS = 1


def _write_crds(output_dir: str | None) -> int:
    from .models import ALL_KINDS
    from .models.crd import crd_yaml

    if output_dir is None:
        sys.stdout.write("---\n".join(crd_yaml(kind) for kind in ALL_KINDS))
        return 0
    target = Path(output_dir)
    target.mkdir(parents=True, exist_ok=True)
    for kind in ALL_KINDS:
        (target / f"apiportal.dev_{kind.plural}.yaml").write_text(crd_yaml(kind))
    return 0


def _fail(message: str) -> None:
    sys.stderr.write(f"tyk-portal-operator: error: {message}\n")


def _run(args: argparse.Namespace) -> int:
    from .runner import find_cluster_credentials, missing_credentials_message, run_operator
    from .settings import OperatorSettings, SettingsError

    if args.provider_class is not None:
        # Settings are read from the environment when the handlers are imported.
        os.environ["TYK_PORTAL_PROVIDER_CLASS"] = args.provider_class
    if args.namespace:
        # The services list requests in these namespaces at start-up, as kopf watches them.
        os.environ["TYK_PORTAL_NAMESPACES"] = ";".join(args.namespace)
    # Checked before kopf starts: a bad value or missing credentials is one line and a non-zero
    # exit, not a traceback or a login retried forever.
    try:
        settings = OperatorSettings.from_env()
    except SettingsError as exc:
        _fail(str(exc))
        return EXIT_BAD_SETTINGS
    credentials = find_cluster_credentials()
    if credentials is None:
        _fail(missing_credentials_message())
        return EXIT_NO_CREDENTIALS

    run_operator(
        settings=settings,
        credentials=credentials,
        namespaces=settings.namespace_patterns,
        standalone=args.standalone,
        peering=args.peering,
        liveness=args.liveness,
        metrics_port=args.metrics_port,
        log_format=args.log_format,
        verbose=args.verbose,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the command line parser."""
    parser = argparse.ArgumentParser(prog="tyk-portal-operator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="run the operator against the current kubeconfig or in-cluster config"
    )
    run.add_argument(
        "-n",
        "--namespace",
        action="append",
        help="watch only this namespace or glob pattern such as 'team-*' (repeatable)",
    )
    run.add_argument(
        "--provider-class",
        help="manage only TykProviders with this spec.providerClass (default: $TYK_PORTAL_PROVIDER_CLASS, "
        "else providers without a class)",
    )
    run.add_argument("--standalone", action="store_true", help="no peering/leader election (single replica)")
    run.add_argument(
        "--peering", default="tyk-portal-operator", help="kopf peering name used for leader election"
    )
    run.add_argument(
        "--liveness",
        default="http://0.0.0.0:8080/healthz",
        help="health endpoint URL to serve (empty to disable)",
    )
    run.add_argument("--metrics-port", type=int, default=9090, help="Prometheus metrics port (0 to disable)")
    run.add_argument("--log-format", choices=["json", "plain"], default="json")
    run.add_argument("-v", "--verbose", action="store_true")

    crds = commands.add_parser("crds", help="print the CustomResourceDefinitions (or write them to a folder)")
    crds.add_argument("--output-dir", help="write one file per CRD into this folder")

    commands.add_parser("version", help="print the version")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tyk-portal-operator` command."""
    args = build_parser().parse_args(argv)
    if args.command == "crds":
        return _write_crds(args.output_dir)
    if args.command == "version":
        sys.stdout.write(f"tyk-portal-operator {__version__}\n")
        return 0
    return _run(args)


if __name__ == "__main__":
    raise SystemExit(main())
