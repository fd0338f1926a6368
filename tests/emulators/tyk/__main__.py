"""Standalone runner for the local sandbox.

    python -m tests.emulators.tyk --port 3000 --gateway-port 8080 --api-key KEY --org-id ORG \
        [--seed-apis FILE.yaml|demo] [--control-port N] [--no-hash-keys]
        [--gateway-tls [--gateway-tls-port 8443] [--gateway-tls-ca-out FILE]]
"""

from __future__ import annotations

import argparse
import copy
import signal
import threading
from pathlib import Path
from typing import Any

import yaml

from .demo import DEMO_APIS
from .server import TykEmulator


def load_seed(source: str | None) -> list[dict[str, Any]]:
    if not source:
        return []
    if source == "demo":
        return copy.deepcopy(DEMO_APIS)
    data = yaml.safe_load(Path(source).read_text())
    if isinstance(data, dict):
        data = data.get("apis", [data])
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise SystemExit(f"{source}: expected a list of API definitions (or {{apis: [...]}})")
    return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.tyk", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="Dashboard API port")
    parser.add_argument("--gateway-port", type=int, default=8080, help="Gateway data plane port")
    parser.add_argument("--control-port", type=int, default=0, help="control-only port (0 = any free port)")
    parser.add_argument("--api-key", default="dash-secret")
    parser.add_argument("--org-id", default="org1")
    parser.add_argument("--no-hash-keys", action="store_true")
    parser.add_argument("--seed-apis", help="YAML file with API definitions, or 'demo'")
    parser.add_argument(
        "--gateway-tls", action="store_true", help="also serve the Gateway over HTTPS (client certificates)"
    )
    parser.add_argument("--gateway-tls-port", type=int, default=8443, help="HTTPS Gateway port")
    parser.add_argument("--gateway-tls-ca-out", help="write the HTTPS Gateway's CA certificate (PEM) here")
    args = parser.parse_args(argv)

    emu = TykEmulator(
        api_key=args.api_key,
        org_id=args.org_id,
        hash_keys=not args.no_hash_keys,
        host=args.host,
        port=args.port,
        gateway_port=args.gateway_port,
        control_port=args.control_port,
        seed_apis=load_seed(args.seed_apis),
        gateway_tls=args.gateway_tls,
        gateway_tls_port=args.gateway_tls_port,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    emu.start()
    print(f"Tyk Dashboard emulator: {emu.url}", flush=True)
    print(f"Tyk Gateway emulator:   {emu.gateway_url}", flush=True)
    if args.gateway_tls:
        print(f"Tyk Gateway over TLS:   {emu.gateway_tls_url}", flush=True)
        if args.gateway_tls_ca_out:
            Path(args.gateway_tls_ca_out).write_text(emu.gateway_tls_ca_pem)
            print(f"Its CA certificate:     {args.gateway_tls_ca_out}", flush=True)
    print(f"Control endpoints:      {emu.url}/_emulator/ (also {emu.control_url}/_emulator/)", flush=True)
    print(f"APIs seeded: {', '.join(sorted(emu.state.apis)) or 'none'}", flush=True)
    try:
        stop.wait()
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
