"""`python -m tests.emulators.kube --port 0 --kubeconfig PATH`: serve until interrupted."""

from __future__ import annotations

import argparse
import signal
import threading

from .server import KubeEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="In-memory Kubernetes API server emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for the emulator to this path")
    parser.add_argument("--history", type=int, default=10_000, help="watch events kept for resuming")
    args = parser.parse_args(argv)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    emulator = KubeEmulator(host=args.host, port=args.port, history_limit=args.history).start()
    try:
        if args.kubeconfig:
            emulator.write_kubeconfig(args.kubeconfig)
        print(emulator.url, flush=True)
        stopping.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
