"""Project hygiene: licence, changelog, contributing and security files; documentation links and
file references that resolve inside the repository."""

from __future__ import annotations

import re
import tomllib

from .conftest import REPO_ROOT

DOC_FILES = [
    REPO_ROOT / name for name in ("README.md", "CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md")
] + sorted((REPO_ROOT / "docs").glob("*.md"))


def test_licence_matches_pyproject() -> None:
    assert tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["license"] == "Apache-2.0"
    text = (REPO_ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_changelog_contributing_security() -> None:
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "### Upgrade notes" in changelog
    contributing = (REPO_ROOT / "CONTRIBUTING.md").read_text()
    assert all(
        target in contributing
        for target in ("make test", "make demo", "make bench", "PORTAL_TEST_KUBECONFIG")
    )
    assert "Reporting a vulnerability" in (REPO_ROOT / "SECURITY.md").read_text()


def test_upgrade_guide_points_at_the_changelog() -> None:
    install = (REPO_ROOT / "docs" / "install.md").read_text()
    assert "[CHANGELOG.md](../CHANGELOG.md)" in install
    for path in DOC_FILES:
        assert "release notes" not in path.read_text().lower(), (
            f"{path.name} cites release notes that do not exist"
        )


def test_relative_links_resolve() -> None:
    broken = []
    for path in DOC_FILES:
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            if not (path.parent / target.split("#", 1)[0]).exists():
                broken.append(f"{path.relative_to(REPO_ROOT)} -> {target}")
    assert broken == []


def test_no_citations_of_notes_outside_the_repository() -> None:
    roots = [
        REPO_ROOT / "operator",
        REPO_ROOT / "docs",
        REPO_ROOT / "deploy",
        REPO_ROOT / "tests" / "emulators",
    ]
    files = [
        REPO_ROOT / "README.md",
        *(p for root in roots for p in root.rglob("*") if p.suffix in {".py", ".md", ".yaml"}),
    ]
    citing = [str(p.relative_to(REPO_ROOT)) for p in files if "API-NOTES" in p.read_text(errors="replace")]
    assert citing == []
