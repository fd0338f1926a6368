"""`kubectl portal`: approve, deny, rotate and list ProvisioningRequests.

Installed as the console script `kubectl-portal`, so kubectl finds it as a plugin:

    kubectl portal approve orders-access -n team-a --reason "payments team, ticket OPS-42"
    kubectl portal deny    orders-access -n team-a --reason "use the sandbox plan"
    kubectl portal rotate  orders-access -n team-a
    kubectl portal status  -A

Approving and denying write `status.approval` through the `/status` subresource, so RBAC on
`provisioningrequests/status` (verb `patch`) decides who may approve. A decision is final: the
plugin refuses to overwrite one, and the CRD's validation rejects any attempt that races it.
`by` is the kubeconfig context's user name (or `--as-name`); it records who acted, while
authorisation is still the API server's.

Exit codes: 0 done, 1 refused or failed (the message says why), 2 usage error.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from .core.credentials import format_time
from .core.naming import ROTATE_ANNOTATION
from .models.base import API_GROUP, API_VERSION

__all__ = ["PLURAL", "build_parser", "main"]

PLURAL = "provisioningrequests"
KIND = f"provisioningrequest.{API_GROUP}"
REASON_MAX_LENGTH = 1024
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CONFLICT_ATTEMPTS = 3


class _Failure(Exception):
    """A refusal or failure to report to the user (exit code 1)."""


@dataclass(frozen=True)
class _Session:
    """An API client with what the kubeconfig says about the user."""

    custom: Any  # kubernetes.client.CustomObjectsApi
    user: str | None
    namespace: str


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(f"error: {text}\n")


# ----- connecting -----------------------------------------------------------------------------------


def _connect(kubeconfig: str | None, context: str | None) -> _Session:
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        chosen = current
        if context is not None:
            chosen = next((c for c in contexts or [] if c.get("name") == context), None)
            if chosen is None:
                raise _Failure(f"context {context!r} not found in the kubeconfig")
        api_client = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context
        )
        details = (chosen or {}).get("context") or {}
        user, namespace = details.get("user"), details.get("namespace")
    except (ConfigException, FileNotFoundError) as exc:
        if kubeconfig is not None:
            raise _Failure(f"cannot load kubeconfig {kubeconfig}: {exc}") from exc
        try:
            configuration = k8s.Configuration()
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except ConfigException:
            raise _Failure(f"no usable kubeconfig ({exc}) and not running in a cluster") from exc
        api_client = k8s.ApiClient(configuration)
        user, namespace = None, None
    return _Session(
        custom=k8s.CustomObjectsApi(api_client),
        user=str(user) if user else None,
        namespace=str(namespace) if namespace else "default",
    )


def _api_failure(exc: Exception, what: str) -> _Failure:
    """Turn a client exception into a message a person can act on."""
    from kubernetes.client.exceptions import ApiException

    if not isinstance(exc, ApiException):
        return _Failure(f"cannot reach the Kubernetes API server while trying to {what}: {exc}")
    status = exc.status
    if status == 404:
        return _Failure(f"{what}: not found (check the name and namespace: kubectl portal status -A)")
    if status == 403:
        return _Failure(f"{what}: forbidden; ask for RBAC permission ({exc.reason})")
    if status == 409:
        return _Failure(f"{what}: the object changed while this command ran; look at it again and retry")
    if status == 422:
        return _Failure(f"{what}: rejected by the API server: {_server_message(exc)}")
    return _Failure(f"{what}: the API server answered {status} {exc.reason}: {_server_message(exc)}")


def _server_message(exc: Any) -> str:
    import json

    try:
        return str(json.loads(exc.body).get("message") or exc.body)[:500]
    except (TypeError, ValueError, AttributeError):
        return str(exc.body or "")[:500]


def _get(session: _Session, namespace: str, name: str) -> dict[str, Any]:
    try:
        obj = session.custom.get_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL, name)
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            raise _Failure(f"{KIND} {name} not found in namespace {namespace}") from exc
        raise _api_failure(exc, f"read {KIND} {namespace}/{name}") from exc
    return cast(dict[str, Any], obj)


# ----- commands -------------------------------------------------------------------------------------


def _refuse_if_decided(obj: dict[str, Any], namespace: str, name: str) -> None:
    existing = (obj.get("status") or {}).get("approval")
    if not existing:
        return
    by = existing.get("by") or "unknown"
    when = f" at {existing['time']}" if existing.get("time") else ""
    reason = f" ({existing['reason']})" if existing.get("reason") else ""
    raise _Failure(
        f"{KIND} {namespace}/{name} was already {existing.get('decision', 'decided')} by {by}{when}{reason}; "
        "a decision is final: create a new ProvisioningRequest to ask again"
    )


def _decide(args: argparse.Namespace, session: _Session, decision: str) -> int:
    from kubernetes.client.exceptions import ApiException

    namespace = args.namespace or session.namespace
    name = args.name
    by = args.as_name or session.user
    if not by:
        raise _Failure("cannot tell who you are from the kubeconfig: pass --as-name NAME")
    approval = {
        "decision": decision,
        "reason": args.reason,
        "time": format_time(datetime.datetime.now(datetime.UTC)),
        "by": by,
    }
    for attempt in range(CONFLICT_ATTEMPTS):
        obj = _get(session, namespace, name)
        _refuse_if_decided(obj, namespace, name)
        patch = {
            # The resourceVersion makes the write conditional, so a decision made meanwhile is
            # never overwritten; on a conflict (e.g. the operator updated conditions) read again.
            "metadata": {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion")},
            "status": {"approval": approval},
        }
        try:
            session.custom.patch_namespaced_custom_object_status(
                API_GROUP,
                API_VERSION,
                namespace,
                PLURAL,
                name,
                patch,
                _content_type="application/merge-patch+json",
            )
        except ApiException as exc:
            if exc.status == 409 and attempt + 1 < CONFLICT_ATTEMPTS:
                continue
            raise _api_failure(exc, f"record the decision on {KIND} {namespace}/{name}") from exc
        except Exception as exc:
            raise _api_failure(exc, f"record the decision on {KIND} {namespace}/{name}") from exc
        break
    _out(f"{KIND}/{name} {decision.lower()} in namespace {namespace} by {by}: {args.reason}")
    return EXIT_OK


def _rotate(args: argparse.Namespace, session: _Session) -> int:
    namespace = args.namespace or session.namespace
    token = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    patch = {"metadata": {"annotations": {ROTATE_ANNOTATION: token}}}
    try:
        session.custom.patch_namespaced_custom_object(
            API_GROUP,
            API_VERSION,
            namespace,
            PLURAL,
            args.name,
            patch,
            _content_type="application/merge-patch+json",
        )
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            raise _Failure(f"{KIND} {args.name} not found in namespace {namespace}") from exc
        raise _api_failure(exc, f"annotate {KIND} {namespace}/{args.name}") from exc
    _out(
        f"{KIND}/{args.name} rotation requested in namespace {namespace} ({ROTATE_ANNOTATION}={token}); "
        "the new key appears in the Secret as api-key, the old one stays as api-key-previous for the overlap"
    )
    return EXIT_OK


def _ready(obj: dict[str, Any]) -> tuple[str, str]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status") or "-"), str(condition.get("reason") or "-")
    return "-", "-"


def _row(obj: dict[str, Any]) -> list[str]:
    metadata, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    plan = spec.get("planRef") or {}
    plan_name = f"{plan['namespace']}/{plan.get('name', '')}" if plan.get("namespace") else plan.get("name")
    ready, reason = _ready(obj)
    return [
        str(metadata.get("namespace") or "-"),
        str(metadata.get("name") or "-"),
        str((spec.get("appRef") or {}).get("name") or "-"),
        str(plan_name or "-"),
        str((status.get("approval") or {}).get("decision") or "Pending"),
        ready,
        reason,
        str(status.get("secretName") or "-"),
    ]


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _status(args: argparse.Namespace, session: _Session) -> int:
    namespace = None if args.all_namespaces else (args.namespace or session.namespace)
    try:
        if namespace is None:
            listing = session.custom.list_cluster_custom_object(API_GROUP, API_VERSION, PLURAL)
        else:
            listing = session.custom.list_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL)
    except Exception as exc:
        raise _api_failure(exc, f"list {PLURAL}") from exc
    items = sorted(
        listing.get("items") or [],
        key=lambda o: (
            (o.get("metadata") or {}).get("namespace", ""),
            (o.get("metadata") or {}).get("name", ""),
        ),
    )
    if not items:
        where = "any namespace" if namespace is None else f"namespace {namespace}"
        sys.stderr.write(f"No provisioning requests found in {where}.\n")
        return EXIT_OK
    header = ["NAMESPACE", "NAME", "APP", "PLAN", "DECISION", "READY", "REASON", "SECRET"]
    _out(_table([header, *(_row(item) for item in items)]))
    return EXIT_OK


# ----- parsing --------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 for usage errors, raised instead of exiting the interpreter."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _reason(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the reason must not be empty")
    if len(text) > REASON_MAX_LENGTH:
        raise argparse.ArgumentTypeError(f"the reason is longer than {REASON_MAX_LENGTH} characters")
    return text


def build_parser() -> argparse.ArgumentParser:
    """Build the command line parser."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--kubeconfig", help="path to the kubeconfig (default: $KUBECONFIG or ~/.kube/config)"
    )
    common.add_argument("--context", help="kubeconfig context to use (default: the current one)")

    named = _Parser(add_help=False)
    named.add_argument("name", help="name of the ProvisioningRequest")
    named.add_argument("-n", "--namespace", help="namespace (default: the context's namespace)")

    parser = _Parser(
        prog="kubectl portal",
        description="Approve, deny, rotate and list API access requests (ProvisioningRequests).",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for verb, summary in (("approve", "approve a request"), ("deny", "deny a request")):
        decide = commands.add_parser(
            verb, parents=[named, common], help=f"{summary} (final; writes status.approval)"
        )
        decide.add_argument(
            "--reason", required=True, type=_reason, help="why (recorded in status, shown to the requester)"
        )
        decide.add_argument("--as-name", help="who is deciding (default: the kubeconfig context's user)")
    commands.add_parser(
        "rotate",
        parents=[named, common],
        help=f"rotate the credential now (sets the {ROTATE_ANNOTATION} annotation)",
    )
    status = commands.add_parser(
        "status", parents=[common], help="list requests with their decision and state"
    )
    scope = status.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", help="namespace (default: the context's namespace)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="list requests in every namespace")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `kubectl portal`.

    Args:
        argv: Arguments without the program name (default: `sys.argv[1:]`).

    Returns:
        0 when done, 1 when refused or failed, 2 for a usage error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        session = _connect(args.kubeconfig, args.context)
        if args.command == "approve":
            return _decide(args, session, "Approved")
        if args.command == "deny":
            return _decide(args, session, "Denied")
        if args.command == "rotate":
            return _rotate(args, session)
        return _status(args, session)
    except _Failure as failure:
        _err(str(failure))
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
