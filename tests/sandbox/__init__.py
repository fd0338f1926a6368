"""The local sandbox behind `make demo`: the real operator against in-memory emulators.

    python -m tests.sandbox [--keep-running] [--state-dir DIR]

Starts the Kubernetes API emulator and the Tyk Dashboard emulator on 127.0.0.1, installs the CRDs,
runs the operator in-process (kopf), applies `examples/` in order and prints what came of it.
No cluster, no Docker, no Tyk licence. `manifests` is shared with the integration tests.
"""

from __future__ import annotations

from .main import main

__all__ = ["main"]
