"""An in-memory Kubernetes API server emulator for tests (aiohttp, plain HTTP on loopback).

    from tests.emulators.kube import KubeEmulator

    with KubeEmulator() as emu:
        emu.write_kubeconfig(path)   # then use the official client or kopf with that kubeconfig

Tests reach it only over HTTP, as they would reach a real cluster.
"""

from .server import KubeEmulator

__all__ = ["KubeEmulator"]
