"""The consumer-side core modules stay pure and document their public surface."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from pathlib import Path

import pytest

MODULES = ["visibility", "approval", "credentials", "credential_types", "lifecycle"]
CORE = Path(__file__).resolve().parents[3] / "operator" / "tyk_portal_operator" / "core"


@pytest.mark.parametrize("name", MODULES)
def test_public_names_exist_and_are_documented(name: str) -> None:
    module = importlib.import_module(f"tyk_portal_operator.core.{name}")
    assert module.__doc__
    exported = module.__all__
    assert sorted(exported) == sorted(set(exported)), "duplicates in __all__"
    for public in exported:
        obj = getattr(module, public)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{name}.{public} has no docstring"


@pytest.mark.parametrize("name", MODULES)
def test_imports_only_stdlib_models_and_core(name: str) -> None:
    tree = ast.parse((CORE / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: ..models or .sibling inside core
                target = node.module or ""
                assert node.level == 1 or target.split(".")[0] == "models", (
                    f"{name}: from {'.' * node.level}{target}"
                )
            else:
                assert (node.module or "").split(".")[0] in sys.stdlib_module_names, (
                    f"{name}: from {node.module}"
                )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] in sys.stdlib_module_names, f"{name}: import {alias.name}"


@pytest.mark.parametrize("name", MODULES)
def test_no_clock_or_randomness(name: str) -> None:
    tree = ast.parse((CORE / f"{name}.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not imported & {"random", "secrets", "uuid", "time", "os"}, f"{name} imports {imported}"
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"now", "utcnow", "today", "urandom", "token_bytes", "token_hex"}, (
        f"{name} calls {calls}"
    )
