"""Run the local sandbox: emulators, CRDs, the real operator, the examples, and a report."""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx
from kopf.testing import KopfRunner
from kubernetes.client.exceptions import ApiException

from tests.emulators.kube import KubeEmulator
from tests.emulators.tyk import DEMO_APIS, TykEmulator
from tests.integration.cluster import GROUP, VERSION, Cluster
from tyk_portal_operator.core.conditions import Reason, Severity

from . import portal as sandbox_portal
from .manifests import (
    DASHBOARD_KEY_PLACEHOLDER,
    DASHBOARD_URL_PLACEHOLDER,
    GATEWAY_URL_PLACEHOLDER,
    KINDS,
    apply_document,
    as_gateway_provider,
    documents_of,
    load_examples,
    object_ref,
)
from .report import PLAIN_SECRET_KEYS, condition, kind_table, mask, policy_table

__all__ = ["OPERATOR_SETTINGS", "main"]

REPO = Path(__file__).resolve().parents[2]
# The emulated Dashboard's key and Gateway secret: not secrets (they guard an in-memory emulator
# on 127.0.0.1).
SANDBOX_DASHBOARD_KEY = "sandbox-dashboard-key"
SANDBOX_GATEWAY_SECRET = "sandbox-gateway-secret"
# Short intervals so retries and rechecks happen within seconds (production defaults are minutes).
OPERATOR_SETTINGS = {
    "TYK_PORTAL_RETRY_DELAY": "0.5",
    "TYK_PORTAL_MAX_RETRY_DELAY": "2",
    "TYK_PORTAL_STALLED_RETRY_INTERVAL": "5",
    "TYK_PORTAL_PROVIDER_RETRY_INTERVAL": "1",
    "TYK_PORTAL_DEFAULT_RESYNC_INTERVAL": "10",
    "TYK_PORTAL_TYK_TIMEOUT": "5",
    "TYK_PORTAL_TYK_RETRIES": "1",
    "TYK_PORTAL_TYK_BACKOFF": "0.1",
    "TYK_PORTAL_WATCH_SERVER_TIMEOUT": "60",
    "TYK_PORTAL_CREDENTIAL_CHECK_INTERVAL": "2",
}
# What must become Ready for the sandbox to count as working.
REQUIRED_KINDS = ("TykProvider", "APIProduct", "Plan")
CONSUMER_KINDS = ("Catalogue", "ConsumerApp", "ProvisioningRequest")
KIND_ORDER = ("TykProvider", "APIProduct", "Plan", "Catalogue", "ConsumerApp", "ProvisioningRequest")
READY_TIMEOUT = 60.0
REQUEST_TIMEOUT = 20.0
POLL = 0.25


class Console:
    """Writes to the terminal captured at start-up.

    kopf's test runner swaps `sys.stdout`/`sys.stderr` for buffers while the operator runs (that is
    where the operator's log goes), so the sandbox keeps its own handle on the real terminal.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def section(self, title: str) -> None:
        self(f"\n== {title} " + "=" * max(0, 76 - len(title)))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sandbox",
        description="Local sandbox: the operator against in-memory Kubernetes API and Tyk Dashboard emulators.",
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="keep the emulators and the operator running until Ctrl-C, to explore with kubectl",
    )
    parser.add_argument(
        "--mode",
        choices=("dashboard", "gateway"),
        default="dashboard",
        help="which Tyk API the example TykProvider drives: the Dashboard's (default) or the open-source "
        "Gateway's (/tyk/*, no Dashboard licence needed)",
    )
    parser.add_argument(
        "--state-dir",
        default=str(REPO / ".sandbox"),
        help="where the kubeconfig and the operator log are written (default: .sandbox/)",
    )
    return parser.parse_args(argv)


def banner(say: Console, gateway: bool = False) -> None:
    say("=" * 80)
    say("  tyk-portal-operator: LOCAL SANDBOX" + (" (open-source Gateway mode)" if gateway else ""))
    tyk = "Tyk Gateway emulator (its /tyk/* API)" if gateway else "Tyk Dashboard emulator"
    say(f"  In-memory Kubernetes API emulator + {tyk} on 127.0.0.1.")
    say("  No cluster, no Docker, no Tyk: nothing outside this process is touched.")
    say("  The operator is the real one (kopf, in-process); examples/ is applied through the API.")
    say("=" * 80)


def provider_org_id(examples_docs: Sequence[Mapping[str, Any]]) -> str:
    """The orgID the example TykProvider names (the emulated Dashboard is given the same one)."""
    for doc in examples_docs:
        if doc.get("kind") == "TykProvider":
            return str((doc.get("spec") or {}).get("orgID") or "sandbox-org")
    return "sandbox-org"


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block (the in-process operator reads them)."""
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


def list_kind(cluster: Cluster, kind: str) -> list[dict[str, Any]]:
    """Every object of one of our kinds, sorted by namespace and name."""
    info = KINDS[kind]
    result = cluster.custom.list_cluster_custom_object(GROUP, VERSION, info.plural)
    items: list[dict[str, Any]] = result["items"]
    return sorted(items, key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))


def _get(cluster: Cluster, doc: Mapping[str, Any]) -> dict[str, Any] | None:
    info = KINDS[str(doc["kind"])]
    metadata = doc["metadata"]
    return cluster.get(info.plural, metadata["name"], metadata.get("namespace") if info.namespaced else None)


def _is_ready(obj: Mapping[str, Any] | None) -> bool:
    cond = condition(obj or {})
    return bool(cond and cond.get("status") == "True")


def _settled(obj: Mapping[str, Any] | None) -> bool:
    """Ready, or not Ready for a reason the operator will not fix by itself (a person must act)."""
    cond = condition(obj or {})
    if cond is None:
        return False
    if cond.get("status") == "True":
        return True
    try:
        return Reason(str(cond.get("reason"))).severity is not Severity.PROGRESSING
    except ValueError:
        return False


def wait_all(
    cluster: Cluster,
    docs: Sequence[Mapping[str, Any]],
    done: Callable[[Mapping[str, Any] | None], bool],
    timeout: float,
    say: Console,
) -> list[Mapping[str, Any]]:
    """Poll until `done` holds for every object, reporting each as it gets there; returns the rest."""
    started = time.monotonic()
    pending = list(docs)
    while pending and time.monotonic() - started < timeout:
        for doc in list(pending):
            obj = _get(cluster, doc)
            if done(obj):
                pending.remove(doc)
                cond = condition(obj or {}) or {}
                say(
                    f"  {object_ref(doc):52} Ready={cond.get('status')} ({cond.get('reason')})"
                    f"  after {time.monotonic() - started:.1f}s"
                )
        if pending:
            time.sleep(POLL)
    return pending


def tyk_policies(tyk: TykEmulator, gateway: bool = False) -> list[dict[str, Any]]:
    """Every policy in the emulated Dashboard (or loaded by the emulated Gateway), through its API
    (as a Tyk admin would list them)."""
    if gateway:
        response = httpx.get(
            f"{tyk.gateway_url}/tyk/policies", headers={"x-tyk-authorization": SANDBOX_GATEWAY_SECRET}
        )
        response.raise_for_status()
        return sorted(response.json(), key=lambda p: str(p.get("id")))
    response = httpx.get(
        f"{tyk.url}/api/portal/policies", params={"p": "-1"}, headers={"Authorization": SANDBOX_DASHBOARD_KEY}
    )
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json().get("Data") or []
    return data


def tyk_key(tyk: TykEmulator, key_hash: str, gateway: bool = False) -> dict[str, Any] | None:
    """A key's session in the emulated Dashboard (or Gateway), looked up by its hash (never by the key)."""
    if gateway:
        response = httpx.get(
            f"{tyk.gateway_url}/tyk/keys/{key_hash}",
            params={"hashed": "true"},
            headers={"x-tyk-authorization": SANDBOX_GATEWAY_SECRET},
        )
        return dict(response.json()) if response.status_code == 200 else None
    response = httpx.get(
        f"{tyk.url}/api/keys/{key_hash}",
        params={"hashed": "1"},
        headers={"Authorization": SANDBOX_DASHBOARD_KEY},
    )
    if response.status_code != 200:
        return None
    session: dict[str, Any] = response.json().get("data") or {}
    return session


def describe_request(
    cluster: Cluster, tyk: TykEmulator, request: Mapping[str, Any], say: Console, gateway: bool = False
) -> None:
    """Decision, condition and credential of one request; key material masked."""
    metadata = request["metadata"]
    namespace, name = metadata["namespace"], metadata["name"]
    status = request.get("status") or {}
    say(f"\n  ProvisioningRequest {namespace}/{name}")
    approval = status.get("approval")
    if approval:
        say(f"    decision:  {approval.get('decision')} by {approval.get('by')}: {approval.get('reason')}")
    else:
        say("    decision:  none yet")
    cond = condition(request)
    if cond is None:
        say("    Ready:     no status written (the operator has not reported on this request)")
    else:
        say(f"    Ready:     {cond.get('status')} ({cond.get('reason')}): {cond.get('message')}")
    secret_name = status.get("secretName") or f"{name}-credentials"
    secret = cluster.get_secret(namespace, secret_name)
    if secret is None:
        say(f"    Secret:    {secret_name} does not exist")
    else:
        say(f"    Secret:    {secret_name} (values masked)")
        for key, encoded in sorted((secret.get("data") or {}).items()):
            value = base64.b64decode(encoded).decode(errors="replace")
            shown = value if key in PLAIN_SECRET_KEYS else mask(value)
            say(f"      {key:18} {shown}")
    key_hash = status.get("keyHash")
    if key_hash:
        session = tyk_key(tyk, key_hash, gateway)
        if session is None:
            say(f"    Tyk key:   hash {key_hash} not found in Tyk")
        else:
            policies = ", ".join(session.get("apply_policies") or []) or "-"
            say(f"    Tyk key:   hash {key_hash}, alias {session.get('alias')!r}, policies {policies}")


def report(cluster: Cluster, tyk: TykEmulator, say: Console, gateway: bool = False) -> None:
    """What a person would look at: every kind's table, Tyk's policies, each request in detail."""
    say.section("Portal objects (like `kubectl get <kind> -A`)")
    for kind in KIND_ORDER:
        say(f"\n  {kind}s")
        say(kind_table(kind, list_kind(cluster, kind)))
    where = (
        "GET /tyk/policies on the emulated Gateway"
        if gateway
        else "GET /api/portal/policies on the emulated Dashboard"
    )
    say.section(f"Tyk policies ({where})")
    say(policy_table(tyk_policies(tyk, gateway)))
    requests = list_kind(cluster, "ProvisioningRequest")
    say.section("Access requests and their credentials")
    if not requests:
        say("  (none)")
    for request in requests:
        describe_request(cluster, tyk, request, say, gateway)


def portal_banner(url: str, say: Console) -> None:
    """Where the Live Portal is and who can sign in."""
    say.section("Live Portal")
    say(f"  Portal URL: {url}")
    say("  Sign in at the mock OpenID provider with one click, as either person:")
    say(f"    {sandbox_portal.CONSUMER:24} a developer of team-mobile (apiportal-consumer there)")
    say(f"    {sandbox_portal.APPROVER:24} an approver (apiportal-approver in every namespace)")
    say("  The Kubernetes API emulator trusts the provider's ID tokens and enforces RBAC, as a real")
    say("  cluster does; the portal acts with the signed-in person's own token. See docs/portal.md.")


def explore(
    kubeconfig: Path, tyk: TykEmulator, keep_running: bool, say: Console, gateway: bool = False
) -> None:
    say.section("Explore")
    if keep_running:
        say("  The sandbox keeps running until Ctrl-C. Meanwhile, in another terminal:")
        say(f"    export KUBECONFIG={kubeconfig}")
        say("    kubectl get apiportal -A            # READY and REASON columns, as on a real cluster")
        say("    kubectl describe apiproduct orders -n shop")
        say("    .venv/bin/kubectl-portal status -A")
        say("    .venv/bin/kubectl-portal approve mobile-orders-gold -n team-mobile --reason demo")
        if gateway:
            say(
                f"    curl -s -H 'x-tyk-authorization: {SANDBOX_GATEWAY_SECRET}' {tyk.gateway_url}/tyk/policies"
            )
        else:
            say(f"    curl -s -H 'Authorization: {SANDBOX_DASHBOARD_KEY}' {tyk.url}/api/portal/policies")
    else:
        mode = " --mode gateway" if gateway else ""
        say(f"  Run `.venv/bin/python -m tests.sandbox{mode} --keep-running` to keep the emulators and the")
        say("  operator up; then, with the kubeconfig the sandbox writes, plain kubectl works:")
        say(f"    kubectl --kubeconfig {kubeconfig} get apiportal -A")
        say(f"    .venv/bin/kubectl-portal status -A --kubeconfig {kubeconfig}")
        say(
            f"    .venv/bin/kubectl-portal approve mobile-orders-gold -n team-mobile --reason demo --kubeconfig {kubeconfig}"
        )
    say("  The manifests applied are in examples/ (see examples/README.md).")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _write_operator_log(runner: KopfRunner, path: Path, say: Console) -> None:
    try:
        result = runner.future.result(timeout=0)
    except Exception as exc:  # the runner thread itself failed
        say(f"\nThe operator's runner failed: {exc!r}")
        return
    path.write_text(result.output)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        say(f"\nThe operator stopped with an error: {result.exception!r} (log: {path})")


def run(args: argparse.Namespace, say: Console) -> int:
    state_dir = Path(args.state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    kubeconfig = state_dir / "kubeconfig"
    log_path = state_dir / "operator.log"

    raw_docs = documents_of(load_examples())
    with contextlib.ExitStack() as stack:
        say("\nStarting the emulators")
        issuer = stack.enter_context(sandbox_portal.oidc_provider())
        say(f"  OpenID provider (mock)    {issuer}   (people sign in to the portal here)")
        # HTTPS, as kubectl sends bearer tokens only over TLS.
        kube = stack.enter_context(
            KubeEmulator(authentication=sandbox_portal.authentication(issuer), tls=True)
        )
        kube.write_kubeconfig(kubeconfig)
        say(f"  Kubernetes API emulator   {kube.url}   (kubeconfig: {kubeconfig})")
        gateway = args.mode == "gateway"
        tyk = stack.enter_context(
            TykEmulator(
                api_key=SANDBOX_DASHBOARD_KEY,
                org_id=provider_org_id(raw_docs),
                hash_keys=True,
                seed_apis=DEMO_APIS,
                gateway_secret=SANDBOX_GATEWAY_SECRET,
            )
        )
        if gateway:
            say(f"  Tyk Gateway emulator      {tyk.gateway_url}   (/tyk/* API and data plane)")
        else:
            say(f"  Tyk Dashboard emulator    {tyk.url}   (gateway: {tyk.gateway_url})")
        say(f"  Tyk APIs seeded           {', '.join(api['api_id'] for api in DEMO_APIS)}")

        cluster = Cluster(str(kubeconfig))
        cluster.install_crds()
        say(f"  CRDs installed            {len(list((REPO / 'crds').glob('*.yaml')))} from crds/")

        say(
            "\nStarting the operator (kopf run --standalone --all-namespaces -m tyk_portal_operator.handlers)"
        )
        stack.enter_context(environment({**OPERATOR_SETTINGS, "KUBECONFIG": str(kubeconfig)}))
        runner = KopfRunner(
            ["run", "--standalone", "--all-namespaces", "-m", "tyk_portal_operator.handlers"],
            timeout=60,
            reraise=False,
        )
        stack.callback(_write_operator_log, runner, log_path, say)
        stack.enter_context(runner)

        api_url = tyk.gateway_url if gateway else tyk.url
        substitutions = {
            DASHBOARD_URL_PLACEHOLDER: api_url,
            GATEWAY_URL_PLACEHOLDER: tyk.gateway_url,
            DASHBOARD_KEY_PLACEHOLDER: SANDBOX_GATEWAY_SECRET if gateway else SANDBOX_DASHBOARD_KEY,
        }
        say("\nApplying examples/ through the Kubernetes API")
        say(f"  (placeholders replaced: {DASHBOARD_URL_PLACEHOLDER} -> {api_url},")
        say(
            f"   {GATEWAY_URL_PLACEHOLDER} -> {tyk.gateway_url}, {DASHBOARD_KEY_PLACEHOLDER} -> the emulator's "
            + ("Gateway secret;" if gateway else "key)")
        )
        if gateway:
            say("   and the TykProvider's spec.mode -> Gateway)")
        applied: list[dict[str, Any]] = []
        for example in load_examples(substitutions):
            for doc in example.documents:
                if gateway:
                    doc = as_gateway_provider(doc)
                try:
                    result = apply_document(cluster, doc)
                except ApiException as exc:
                    say(f"  {example.path.name}: {object_ref(doc)} REJECTED ({exc.status}): {exc.body}")
                    return 1
                say(f"  {example.path.name:24} {object_ref(doc)} {result}")
                applied.append(doc)

        required = [d for d in applied if d.get("kind") in REQUIRED_KINDS]
        say(f"\nWaiting up to {READY_TIMEOUT:.0f}s for the provider, products and plans to be Ready")
        missing = wait_all(cluster, required, _is_ready, READY_TIMEOUT, say)
        if missing:
            say("\nFAILED: these never became Ready:")
            for doc in missing:
                cond = condition(_get(cluster, doc) or {}) or {}
                say(f"  {object_ref(doc)}: {cond.get('reason', 'no status')}: {cond.get('message', '')}")
            say(f"The operator's log is written to {log_path} when the sandbox stops.")
            return 1

        consumer_side = [d for d in applied if d.get("kind") in CONSUMER_KINDS]
        if consumer_side:
            say(f"\nWaiting up to {REQUEST_TIMEOUT:.0f}s for catalogues, apps and access requests to settle")
            say("  (Ready, or waiting for a person; whatever their state then, it is reported as is)")
            unsettled = wait_all(cluster, consumer_side, _settled, REQUEST_TIMEOUT, say)
            for doc in unsettled:
                cond = condition(_get(cluster, doc) or {})
                state = f"{cond.get('reason')}" if cond else "no status written"
                say(f"  {object_ref(doc):52} not settled after {REQUEST_TIMEOUT:.0f}s: {state}")

        report(cluster, tyk, say, gateway)
        sandbox_portal.setup_portal_objects(cluster)
        portal = sandbox_portal.start_portal(kube.url, issuer)
        stack.callback(portal.stop)
        explore(kubeconfig, tyk, args.keep_running, say, gateway)
        portal_banner(portal.url, say)
        if args.keep_running:
            signal.signal(signal.SIGTERM, _interrupt)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(1)
            say("\nStopping")
    say(f"\nSandbox finished. Operator log: {log_path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m tests.sandbox` (and `make demo`); returns the exit code."""
    args = parse_args(argv)
    say = Console(sys.stdout)
    banner(say, args.mode == "gateway")
    try:
        return run(args, say)
    except KeyboardInterrupt:
        say("\nInterrupted")
        return 130
