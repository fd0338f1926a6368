"""`kubectl portal`: approve, deny, rotate and inspect ProvisioningRequests; try JWT credentials.

Installed as the console script `kubectl-portal`, so kubectl finds it as a plugin:

    kubectl portal -n team-a approve orders-access --reason "payments team, ticket OPS-42"
    kubectl portal deny    orders-access -n team-a --reason "use the sandbox plan"
    kubectl portal rotate  orders-access -n team-a          # or --all, or -l app=mobile
    kubectl portal status  -A -o wide                       # a table (or -o json|yaml|name)
    kubectl portal status  orders-access -n team-a          # detail: conditions, approval, Events
    kubectl portal token   maps-access -n team-a            # a short-lived token (JWT credentials)

It follows kubectl's conventions: the global flags (`-n`, `-A`, `--context`, `--kubeconfig`,
`-o`) go before or after the subcommand; the namespace defaults to the kubeconfig context's;
`version` and `completion bash|zsh` work without a cluster. `kubectl_complete-portal` (also
installed) answers kubectl's own plugin completion (kubectl 1.26+).

Approving and denying write `status.approval` through the `/status` subresource, so RBAC on
`provisioningrequests/status` (verb `patch`) decides who may approve. A decision is final: the
plugin refuses to overwrite one, and the CRD's validation rejects any attempt that races it.
`by` is the kubeconfig context's user name (or `--as-name`); it records who acted, while
authorisation is still the API server's.

Adding a subcommand: write a `_register_<name>(commands, shared)` function that adds a parser
(with `epilog=` examples and `parents=shared`) and sets `handler=` to a function
`(args, ctx) -> int`, then list it in `REGISTRATIONS`.

Exit codes: 0 done, 1 refused or failed (the message says why), 2 usage error.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, cast

from . import __version__
from .core.credentials import format_time, parse_time
from .core.naming import ROTATE_ANNOTATION
from .models.base import API_GROUP, API_VERSION
from .portal.cli import register_portal_commands

__all__ = ["PLURAL", "REGISTRATIONS", "build_parser", "complete_main", "main"]

PLURAL = "provisioningrequests"
KIND = f"provisioningrequest.{API_GROUP}"
KIND_NAME = "ProvisioningRequest"
REASON_MAX_LENGTH = 1024
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CONFLICT_ATTEMPTS = 3
OUTPUTS = ("json", "yaml", "wide", "name")
SHELLS = ("bash", "zsh")
EVENTS_SHOWN = 10
# kubectl plugin completion (kubectl 1.26+) calls `kubectl_complete-portal`; this directive tells
# it not to fall back to file names (cobra's ShellCompDirectiveNoFileComp).
_NO_FILE_COMPLETION = ":4"


class _Failure(Exception):
    """A refusal or failure to report to the user (exit code 1)."""


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(f"error: {text}\n")


# ----- connecting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Session:
    """API clients with what the kubeconfig says about the user and the default namespace."""

    custom: Any  # kubernetes.client.CustomObjectsApi
    core: Any  # kubernetes.client.CoreV1Api
    user: str | None
    namespace: str
    # How `namespace` was chosen, for messages ("the namespace of context 'dev'", ...).
    namespace_origin: str


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
        context_name = (chosen or {}).get("name") or "?"
        user, namespace = details.get("user"), details.get("namespace")
        origin = (
            f"the namespace of kubeconfig context {context_name!r}"
            if namespace
            else f"the default, as kubeconfig context {context_name!r} sets no namespace"
        )
    except (ConfigException, FileNotFoundError) as exc:
        if kubeconfig is not None:
            raise _Failure(f"cannot load kubeconfig {kubeconfig}: {exc}") from exc
        try:
            configuration = k8s.Configuration()
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except ConfigException:
            raise _Failure(f"no usable kubeconfig ({exc}) and not running in a cluster") from exc
        api_client = k8s.ApiClient(configuration)
        user, namespace, origin = None, _pod_namespace(), "the pod's service account namespace"
    return _Session(
        custom=k8s.CustomObjectsApi(api_client),
        core=k8s.CoreV1Api(api_client),
        user=str(user) if user else None,
        namespace=str(namespace) if namespace else "default",
        namespace_origin=origin,
    )


def _pod_namespace() -> str | None:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


@dataclass
class Context:
    """What a subcommand handler gets besides its arguments: a lazily opened API session."""

    args: argparse.Namespace
    _session: _Session | None = field(default=None, repr=False)

    def session(self) -> _Session:
        if self._session is None:
            self._session = _connect(self.args.kubeconfig, self.args.context)
        return self._session

    def namespace(self) -> str:
        """The namespace to act in: `-n`, else the kubeconfig context's, else `default`."""
        explicit: str | None = self.args.namespace
        return explicit or self.session().namespace

    def namespace_origin(self) -> str:
        return "from --namespace" if self.args.namespace else self.session().namespace_origin

    def scope(self) -> str | None:
        """The namespace to list in, or None for every namespace (`-A`)."""
        return None if self.args.all_namespaces else self.namespace()


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
    try:
        return str(json.loads(exc.body).get("message") or exc.body)[:500]
    except (TypeError, ValueError, AttributeError):
        return str(exc.body or "")[:500]


def _not_found(ctx: Context, namespace: str, name: str) -> _Failure:
    hint = "" if ctx.args.namespace else "; pass -n NAMESPACE"
    return _Failure(
        f"{KIND} {name} not found in namespace {namespace} ({ctx.namespace_origin()}{hint}; "
        "list every namespace with: kubectl portal status -A)"
    )


def _get(ctx: Context, namespace: str, name: str) -> dict[str, Any]:
    try:
        obj = ctx.session().custom.get_namespaced_custom_object(
            API_GROUP, API_VERSION, namespace, PLURAL, name
        )
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            raise _not_found(ctx, namespace, name) from exc
        raise _api_failure(exc, f"read {KIND} {namespace}/{name}") from exc
    return cast(dict[str, Any], obj)


def _list(ctx: Context, namespace: str | None, selector: str | None = None) -> list[dict[str, Any]]:
    custom = ctx.session().custom
    extra = {"label_selector": selector} if selector else {}
    try:
        if namespace is None:
            listing = custom.list_cluster_custom_object(API_GROUP, API_VERSION, PLURAL, **extra)
        else:
            listing = custom.list_namespaced_custom_object(API_GROUP, API_VERSION, namespace, PLURAL, **extra)
    except Exception as exc:
        raise _api_failure(exc, f"list {PLURAL}") from exc
    return sorted(listing.get("items") or [], key=lambda o: (_meta(o, "namespace"), _meta(o, "name")))


def _meta(obj: dict[str, Any], key: str) -> str:
    return str((obj.get("metadata") or {}).get(key) or "")


# ----- output ---------------------------------------------------------------------------------------


def _ref_name(obj: dict[str, Any]) -> str:
    return f"{KIND}/{_meta(obj, 'name')}"


def _dump(data: Any, output: str) -> str:
    if output == "json":
        return json.dumps(data, indent=4, sort_keys=False)
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n")


def _print_objects(items: list[dict[str, Any]], output: str, *, single: bool) -> bool:
    """Print in a machine format (json, yaml, name); False when `output` is a table format."""
    if output == "name":
        for item in items:
            _out(_ref_name(item))
        return True
    if output in ("json", "yaml"):
        data: Any = items[0] if single else {"apiVersion": "v1", "kind": "List", "items": items}
        _out(_dump(data, output))
        return True
    return False


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return cast(dict[str, Any], condition)
    return {}


def _ref(ref: dict[str, Any] | None) -> str:
    ref = ref or {}
    if not ref.get("name"):
        return "-"
    return f"{ref['namespace']}/{ref['name']}" if ref.get("namespace") else str(ref["name"])


def _age(timestamp: str | None, now: datetime.datetime) -> str:
    moment = parse_time(timestamp) if timestamp else None
    if moment is None:
        return "-"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _row(obj: dict[str, Any], *, wide: bool, now: datetime.datetime) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ready = _condition(obj, "Ready")
    row = [
        _meta(obj, "namespace") or "-",
        _meta(obj, "name") or "-",
        str((spec.get("appRef") or {}).get("name") or "-"),
        _ref(spec.get("planRef")),
        str((status.get("approval") or {}).get("decision") or "Pending"),
        str(ready.get("status") or "-"),
        str(ready.get("reason") or "-"),
        str(status.get("secretName") or "-"),
    ]
    if wide:
        row += [
            ",".join(_ref(p) for p in spec.get("products") or []) or "-",
            str(status.get("expiresAt") or "-"),
            str(status.get("nextRotationTime") or "-"),
            _age(_meta(obj, "creationTimestamp"), now),
        ]
    return row


HEADER = ["NAMESPACE", "NAME", "APP", "PLAN", "DECISION", "READY", "REASON", "SECRET"]
WIDE_HEADER = [*HEADER, "PRODUCTS", "EXPIRES", "NEXT-ROTATION", "AGE"]


# ----- approve / deny -------------------------------------------------------------------------------


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


def _decide(args: argparse.Namespace, ctx: Context, decision: str) -> int:
    from kubernetes.client.exceptions import ApiException

    namespace, name = ctx.namespace(), args.name
    session = ctx.session()
    by = args.as_name or session.user
    if not by:
        raise _Failure("cannot tell who you are from the kubeconfig: pass --as-name NAME")
    approval = {
        "decision": decision,
        "reason": args.reason,
        "time": format_time(datetime.datetime.now(datetime.UTC)),
        "by": by,
    }
    updated: dict[str, Any] = {}
    for attempt in range(CONFLICT_ATTEMPTS):
        obj = _get(ctx, namespace, name)
        _refuse_if_decided(obj, namespace, name)
        patch = {
            # The resourceVersion makes the write conditional, so a decision made meanwhile is
            # never overwritten; on a conflict (e.g. the operator updated conditions) read again.
            "metadata": {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion")},
            "status": {"approval": approval},
        }
        try:
            updated = session.custom.patch_namespaced_custom_object_status(
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
    if not _print_objects([updated], args.output or "", single=True):
        _out(f"{KIND}/{name} {decision.lower()} in namespace {namespace} by {by}: {args.reason}")
    return EXIT_OK


def _reason(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the reason must not be empty")
    if len(text) > REASON_MAX_LENGTH:
        raise argparse.ArgumentTypeError(f"the reason is longer than {REASON_MAX_LENGTH} characters")
    return text


def _register_decisions(commands: _Subparsers, shared: list[argparse.ArgumentParser]) -> None:
    for verb, decision, example in (
        (
            "approve",
            "Approved",
            'kubectl portal approve mobile-orders-gold -n team-mobile --reason "launch, MOB-7"',
        ),
        (
            "deny",
            "Denied",
            'kubectl portal -n team-mobile deny mobile-orders-gold --reason "use the free plan"',
        ),
    ):
        parser = commands.add_parser(
            verb,
            parents=shared,
            help=f"{verb} a request (final; writes status.approval)",
            description=f"{verb.capitalize()} a ProvisioningRequest. The decision is final and is written "
            "through the /status subresource, so RBAC on provisioningrequests/status decides who may do it.",
            epilog=_examples(
                example, f"kubectl portal {verb} NAME --reason TEXT --as-name alice@example.com -o yaml"
            ),
        )
        _name_argument(parser)
        parser.add_argument(
            "--reason", required=True, type=_reason, help="why (recorded in status, shown to the requester)"
        )
        parser.add_argument("--as-name", help="who is deciding (default: the kubeconfig context's user)")
        parser.set_defaults(handler=lambda args, ctx, d=decision: _decide(args, ctx, d))


# ----- rotate ---------------------------------------------------------------------------------------


def _rotate(args: argparse.Namespace, ctx: Context) -> int:
    chosen = bool(args.names) + bool(args.all) + bool(args.selector)
    if chosen != 1:
        raise _Usage("rotate needs request names, --all or -l SELECTOR (exactly one of them)")
    if args.names:
        if args.all_namespaces:
            raise _Usage("rotate by name works in one namespace: use -n, not -A")
        namespace = ctx.namespace()
        targets = [(namespace, name) for name in args.names]
    else:
        items = _list(ctx, ctx.scope(), args.selector)
        targets = [(_meta(o, "namespace"), _meta(o, "name")) for o in items]
        if not targets:
            where = "any namespace" if args.all_namespaces else f"namespace {ctx.namespace()}"
            what = f" matching {args.selector!r}" if args.selector else ""
            sys.stderr.write(f"No provisioning requests{what} found in {where}.\n")
            return EXIT_OK
    token = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    patch = {"metadata": {"annotations": {ROTATE_ANNOTATION: token}}}
    failed = 0
    for namespace, name in targets:
        try:
            ctx.session().custom.patch_namespaced_custom_object(
                API_GROUP,
                API_VERSION,
                namespace,
                PLURAL,
                name,
                patch,
                _content_type="application/merge-patch+json",
            )
        except Exception as exc:
            failure = (
                _not_found(ctx, namespace, name)
                if getattr(exc, "status", None) == 404
                else _api_failure(exc, f"annotate {KIND} {namespace}/{name}")
            )
            _err(str(failure))
            failed += 1
            continue
        if args.output == "name":
            _out(f"{KIND}/{name}")
        else:
            _out(f"{KIND}/{name} rotation requested in namespace {namespace} ({ROTATE_ANNOTATION}={token})")
    if failed < len(targets) and args.output != "name":
        sys.stderr.write(
            "The new key appears in each Secret as api-key; the old one stays as api-key-previous for the overlap.\n"
        )
    return EXIT_FAILED if failed else EXIT_OK


def _register_rotate(commands: _Subparsers, shared: list[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "rotate",
        parents=shared,
        help=f"rotate credentials now (sets the {ROTATE_ANNOTATION} annotation)",
        description="Ask the operator for a new key. The previous key stays valid for the request's "
        "rotation.overlap. Select requests by name, with --all, or with a label selector (-l).",
        epilog=_examples(
            "kubectl portal rotate mobile-shop-free -n team-mobile",
            "kubectl portal rotate mobile-shop-free mobile-orders-gold -n team-mobile",
            "kubectl portal rotate --all -n team-mobile",
            "kubectl portal rotate -l app=checkout -A",
        ),
    )
    names = parser.add_argument("names", nargs="*", metavar="NAME", help="names of ProvisioningRequests")
    names.completer = _complete_names  # type: ignore[attr-defined]
    parser.add_argument(
        "--all", action="store_true", help="every request in the namespace (or with -A, everywhere)"
    )
    _selector_argument(parser)
    parser.set_defaults(handler=_rotate)


# ----- status ---------------------------------------------------------------------------------------


def _status(args: argparse.Namespace, ctx: Context) -> int:
    if args.name:
        if args.all_namespaces:
            raise _Usage("status NAME shows one request: use -n, not -A")
        return _status_one(args, ctx, args.name)
    namespace = ctx.scope()
    items = _list(ctx, namespace, args.selector)
    output = args.output or ""
    if output in ("json", "yaml"):
        _print_objects(items, output, single=False)
        return EXIT_OK
    if not items:
        where = "any namespace" if namespace is None else f"namespace {namespace}"
        sys.stderr.write(f"No provisioning requests found in {where}.\n")
        return EXIT_OK
    if _print_objects(items, output, single=False):
        return EXIT_OK
    wide = output == "wide"
    now = datetime.datetime.now(datetime.UTC)
    header = WIDE_HEADER if wide else HEADER
    _out(_table([header, *(_row(item, wide=wide, now=now) for item in items)]))
    return EXIT_OK


def _events(ctx: Context, obj: dict[str, Any]) -> list[dict[str, Any]] | str:
    """Recent Events about the object (newest last), or why they cannot be shown."""
    namespace, name, uid = _meta(obj, "namespace"), _meta(obj, "name"), _meta(obj, "uid")
    try:
        listing = ctx.session().core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={name},involvedObject.kind={KIND_NAME}"
        )
    except Exception as exc:
        return str(_api_failure(exc, "list Events"))
    events = [
        event.to_dict() if hasattr(event, "to_dict") else event
        for event in (getattr(listing, "items", None) or [])
    ]
    mine = [
        e
        for e in events
        if (e.get("involved_object") or {}).get("uid") in (None, "", uid)
        and (e.get("involved_object") or {}).get("kind") == KIND_NAME
    ]

    def when(event: dict[str, Any]) -> str:
        moment = event.get("last_timestamp") or event.get("event_time") or event.get("first_timestamp")
        if isinstance(moment, datetime.datetime):
            return format_time(moment)
        return str(moment or "")

    for event in mine:
        event["_when"] = when(event)
    return sorted(mine, key=lambda e: str(e["_when"]))[-EVENTS_SHOWN:]


def _status_one(args: argparse.Namespace, ctx: Context, name: str) -> int:
    namespace = ctx.namespace()
    obj = _get(ctx, namespace, name)
    if _print_objects([obj], args.output or "", single=True):
        return EXIT_OK
    now = datetime.datetime.now(datetime.UTC)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    approval = status.get("approval") or {}
    if approval:
        decided = f"{approval.get('decision')} by {approval.get('by') or 'unknown'} at {approval.get('time') or '?'}"
        if approval.get("reason"):
            decided += f": {approval['reason']}"
    else:
        decided = "Pending (no decision yet)"
    lines = [
        ("Name", name),
        ("Namespace", namespace),
        ("App", str((spec.get("appRef") or {}).get("name") or "-")),
        ("Catalogue", _ref(spec.get("catalogueRef"))),
        ("Products", ", ".join(_ref(p) for p in spec.get("products") or []) or "-"),
        ("Plan", _ref(spec.get("planRef"))),
        ("Approval", decided),
        ("Secret", str(status.get("secretName") or spec.get("secretName") or "-")),
        ("Issued", str(status.get("issuedAt") or "-")),
        ("Expires", str(status.get("expiresAt") or "never")),
        ("Last rotation", str(status.get("lastRotationTime") or "-")),
        ("Next rotation", str(status.get("nextRotationTime") or "-")),
        ("Suspended", "yes" if spec.get("suspended") else "no"),
        ("Age", _age(_meta(obj, "creationTimestamp"), now)),
    ]
    width = max(len(label) for label, _ in lines) + 2
    for label, value in lines:
        _out(f"{label + ':':<{width}}{value}")
    _out("Conditions:")
    conditions = status.get("conditions") or []
    if conditions:
        rows = [["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"]] + [
            [
                str(c.get("type") or "-"),
                str(c.get("status") or "-"),
                str(c.get("reason") or "-"),
                _age(c.get("lastTransitionTime"), now),
                str(c.get("message") or ""),
            ]
            for c in conditions
        ]
        _out(_indent(_table(rows)))
    else:
        _out("  <none: the operator has not looked at this request yet>")
    _out("Events:")
    events = _events(ctx, obj)
    if isinstance(events, str):
        _out(f"  <{events}>")
    elif not events:
        _out("  <none>")
    else:
        rows = [["LAST SEEN", "TYPE", "REASON", "MESSAGE"]] + [
            [
                _age(e["_when"], now),
                str(e.get("type") or "-"),
                str(e.get("reason") or "-"),
                str(e.get("message") or ""),
            ]
            for e in events
        ]
        _out(_indent(_table(rows)))
    return EXIT_OK


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def _register_status(commands: _Subparsers, shared: list[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "status",
        parents=shared,
        help="list requests (decision, Ready, Secret), or show one in detail",
        description="Without NAME: a table of requests in the namespace (-A: every namespace). "
        "With NAME: the request's approval, Secret, expiry, conditions and recent Events.",
        epilog=_examples(
            "kubectl portal status                          # the context's namespace",
            "kubectl portal -n team-mobile status -o json",
            "kubectl portal status -A -o wide",
            "kubectl portal status -l app=checkout -o name",
            "kubectl portal status mobile-orders-gold -n team-mobile",
        ),
    )
    name = parser.add_argument("name", nargs="?", help="a ProvisioningRequest to show in detail")
    name.completer = _complete_names  # type: ignore[attr-defined]
    _selector_argument(parser)
    parser.set_defaults(handler=_status)


# ----- token (JWT credentials) ---------------------------------------------------------------------

TOKEN_TTL_DEFAULT = "5m"
TOKEN_TTL_MAX = 3600


def _token_ttl(text: str) -> int:
    from .core.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise _Usage(str(exc)) from exc
    if not 0 < seconds <= TOKEN_TTL_MAX:
        raise _Usage(f"--ttl must be between 1s and 1h (a token for a quick try), got {text!r}")
    return seconds


def _token(args: argparse.Namespace, ctx: Context) -> int:
    """Sign a short-lived token with the JWT credential's private key, read from its Secret with
    the user's own credentials (RBAC on Secrets decides who may); the key itself is never printed."""
    import base64
    import time

    import jwt

    from .core.credential_type_jwt import DATA_JWT_PRIVATE_KEY, JWT_ALGORITHM, jwt_key_id, jwt_private_key

    ttl = _token_ttl(args.ttl)
    namespace, name = ctx.namespace(), args.name
    obj = _get(ctx, namespace, name)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    kind = spec.get("credentialType") or "AuthToken"
    if kind != "JWT":
        raise _Failure(
            f"{KIND} {namespace}/{name} has credentialType {kind}: kubectl portal token signs tokens "
            "for JWT credentials only (its Secret holds the credential to use as it is)"
        )
    secret_name = status.get("secretName") or spec.get("secretName") or f"{name}-credentials"
    try:
        secret = ctx.session().core.read_namespaced_secret(secret_name, namespace)
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            raise _Failure(
                f"Secret {namespace}/{secret_name} not found: the credential is not issued yet "
                f"(kubectl portal status {name} -n {namespace})"
            ) from exc
        raise _api_failure(exc, f"read Secret {namespace}/{secret_name}") from exc
    encoded = (getattr(secret, "data", None) or {}).get(DATA_JWT_PRIVATE_KEY)
    key = None
    if encoded:
        with suppress(ValueError):
            key = jwt_private_key(base64.b64decode(encoded).decode())
    if key is None:
        raise _Failure(
            f"Secret {namespace}/{secret_name} holds no readable {DATA_JWT_PRIVATE_KEY}; "
            f"see kubectl portal status {name} -n {namespace}"
        )
    now = int(time.time())
    subject = args.subject or f"{namespace}/{name}"
    claims = {"sub": subject, "iat": now, "exp": now + ttl}
    token = jwt.encode(claims, key, algorithm=JWT_ALGORITHM, headers={"kid": jwt_key_id(key)})
    if args.output in ("json", "yaml"):
        expires = format_time(datetime.datetime.fromtimestamp(now + ttl, datetime.UTC))
        _out(_dump({"token": token, "expiresAt": expires, "subject": subject}, args.output))
        return EXIT_OK
    _out(token)
    if sys.stderr.isatty():
        sys.stderr.write(
            f'Valid for {args.ttl}. Try it: curl -H "Authorization: Bearer $(kubectl portal token {name} '
            f'-n {namespace})" <gateway-url from the Secret>/<API listen path>\n'
        )
    return EXIT_OK


def _register_token(commands: _Subparsers, shared: list[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "token",
        parents=shared,
        help="print a short-lived token signed with a JWT credential (for a quick try)",
        description="Sign a short-lived JWT (ES256, its kid the credential's key id) with the private "
        "key in the request's Secret, read with your own kubeconfig (you need get on that Secret), and "
        "print it. The private key is never printed. Workloads sign their own tokens from the Secret.",
        epilog=_examples(
            "kubectl portal token mobile-maps-gold -n team-mobile",
            "kubectl portal token mobile-maps-gold -n team-mobile --ttl 15m",
            'curl -H "Authorization: Bearer $(kubectl portal token mobile-maps-gold)" "$GATEWAY/maps/"',
        ),
    )
    _name_argument(parser)
    parser.add_argument(
        "--ttl", default=TOKEN_TTL_DEFAULT, help=f"lifetime, up to 1h (default {TOKEN_TTL_DEFAULT})"
    )
    parser.add_argument("--subject", help="the token's sub claim (default NAMESPACE/NAME)")
    parser.set_defaults(handler=_token)


# ----- version and completion -----------------------------------------------------------------------


def _version(args: argparse.Namespace, ctx: Context) -> int:
    if args.output in ("json", "yaml"):
        _out(_dump({"clientVersion": {"name": "kubectl-portal", "version": __version__}}, args.output))
    else:
        _out(f"kubectl-portal {__version__}")
    return EXIT_OK


def _register_version(commands: _Subparsers, shared: list[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "version",
        parents=shared,
        help="print the plugin's version",
        description="Print the plugin's version (no cluster access).",
        epilog=_examples("kubectl portal version", "kubectl portal version -o json"),
    )
    parser.set_defaults(handler=_version)


def _completion(args: argparse.Namespace, ctx: Context) -> int:
    from argcomplete.shell_integration import shellcode

    script = shellcode(["kubectl-portal"], shell=args.shell)
    sys.stdout.write(script if script.endswith("\n") else script + "\n")
    return EXIT_OK


def _register_completion(commands: _Subparsers, shared: list[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "completion",
        parents=shared,
        help="print a shell completion script (bash or zsh)",
        description="Print a completion script for `kubectl-portal`. `kubectl portal <TAB>` itself is "
        "completed by kubectl 1.26+ through the installed `kubectl_complete-portal` helper.",
        epilog=_examples(
            "source <(kubectl portal completion bash)          # in ~/.bashrc",
            'kubectl portal completion zsh > "${fpath[1]}/_kubectl-portal"',
        ),
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell")
    parser.set_defaults(handler=_completion)


# ----- parsing --------------------------------------------------------------------------------------


class _Usage(Exception):
    """A usage error found after parsing (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 for usage errors and examples kept as written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


if TYPE_CHECKING:
    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
# A subcommand: adds its parser (with `parents=shared`) and sets `handler=`.
Registration = Callable[["_Subparsers", list[argparse.ArgumentParser]], None]


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _name_argument(parser: argparse.ArgumentParser) -> None:
    action = parser.add_argument("name", help="name of the ProvisioningRequest")
    action.completer = _complete_names  # type: ignore[attr-defined]


def _selector_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-l", "--selector", help="label selector, e.g. app=checkout,tier!=test (as kubectl get -l)"
    )


def _global_flags(*, suppress: bool) -> argparse.ArgumentParser:
    """kubectl's global flags. On subcommands they default to SUPPRESS, so a value given before the
    subcommand is not overwritten by the subcommand's default."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    flags = _Parser(add_help=False)
    group = flags.add_argument_group("global flags (before or after the subcommand)")
    group.add_argument(
        "-n",
        "--namespace",
        default=default(None),
        help="namespace (default: the kubeconfig context's namespace)",
    )
    group.add_argument(
        "-A", "--all-namespaces", action="store_true", default=default(False), help="every namespace"
    )
    group.add_argument(
        "--context", default=default(None), help="kubeconfig context (default: the current one)"
    )
    group.add_argument(
        "--kubeconfig",
        default=default(None),
        help="path to the kubeconfig (default: $KUBECONFIG or ~/.kube/config)",
    )
    group.add_argument("-o", "--output", choices=OUTPUTS, default=default(None), help="output format")
    return flags


# Subcommands, in the order `--help` lists them. Other modules may append registrations.
REGISTRATIONS: list[Registration] = [
    _register_decisions,
    _register_rotate,
    _register_status,
    _register_token,
    _register_version,
    _register_completion,
    register_portal_commands,  # ui, catalogue (portal/cli.py)
]


def build_parser() -> argparse.ArgumentParser:
    """Build the command line parser."""
    parser = _Parser(
        prog="kubectl portal",
        parents=[_global_flags(suppress=False)],
        description="Approve, deny, rotate and inspect API access requests (ProvisioningRequests).",
        epilog=_examples(
            "kubectl portal status -A",
            "kubectl portal -n team-mobile status -o json",
            "kubectl portal status mobile-orders-gold -n team-mobile",
            'kubectl portal approve mobile-orders-gold -n team-mobile --reason "launch, MOB-7"',
            "kubectl portal rotate --all -n team-mobile",
            "kubectl portal <command> --help",
        ),
    )
    commands: _Subparsers = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )
    shared = [_global_flags(suppress=True)]
    for register in REGISTRATIONS:
        register(commands, shared)
    return parser


def _complete_names(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """Names of requests in the namespace the command line points at (empty on any failure)."""
    try:
        args = argparse.Namespace(
            namespace=getattr(parsed_args, "namespace", None),
            all_namespaces=False,
            context=getattr(parsed_args, "context", None),
            kubeconfig=getattr(parsed_args, "kubeconfig", None),
        )
        ctx = Context(args)
        return [n for n in (_meta(o, "name") for o in _list(ctx, ctx.namespace())) if n.startswith(prefix)]
    except Exception:
        return []


class _CompletionDone(Exception):
    pass


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def completions(words: Sequence[str]) -> list[str]:
    """Completions for `kubectl portal WORDS...` (the last word is the one being typed)."""
    import argcomplete.io
    from argcomplete.finders import CompletionFinder

    words = list(words) or [""]
    line = " ".join(["kubectl-portal", *words])
    buffer = io.StringIO()

    def stop(code: int = 0) -> NoReturn:
        raise _CompletionDone

    class Finder(CompletionFinder):
        def _init_debug_stream(self) -> None:
            """argcomplete writes debug output to fd 9 by default; that may be anything here."""
            argcomplete.io.debug_stream = io.StringIO()

    env = {"_ARGCOMPLETE": "1", "_ARGCOMPLETE_IFS": "\n", "COMP_LINE": line, "COMP_POINT": str(len(line))}
    with _environment(env), suppress(_CompletionDone):
        Finder()(
            build_parser(),
            always_complete_options=False,
            exit_method=stop,
            output_stream=buffer,
            append_space=False,
        )
    return [c for c in buffer.getvalue().split("\n") if c]


def complete_main(argv: list[str] | None = None) -> int:
    """`kubectl_complete-portal`: kubectl's plugin completion protocol (one candidate per line, then
    a `:directive` line)."""
    for candidate in completions(sys.argv[1:] if argv is None else argv):
        _out(candidate)
    _out(_NO_FILE_COMPLETION)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Run `kubectl portal`.

    Args:
        argv: Arguments without the program name (default: `sys.argv[1:]`).

    Returns:
        0 when done, 1 when refused or failed, 2 for a usage error.
    """
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # pragma: no cover - the shell's completion hook
        import argcomplete

        argcomplete.autocomplete(parser)
    try:
        args = parser.parse_args(argv)
        if args.all_namespaces and args.namespace:
            parser.error("-n/--namespace and -A/--all-namespaces cannot be combined")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return cast(int, args.handler(args, Context(args)))
    except _Usage as usage:
        sys.stderr.write(f"{parser.prog} {args.command}: error: {usage}\n")
        return EXIT_USAGE
    except _Failure as failure:
        _err(str(failure))
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
