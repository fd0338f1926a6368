"""The adapter's public surface is exactly what ``__all__`` declares."""

from __future__ import annotations

import importlib

import pytest

__all__: list[str] = []

MODULES = [
    "tyk_portal_operator.tyk",
    "tyk_portal_operator.tyk.errors",
    "tyk_portal_operator.tyk.client",
    "tyk_portal_operator.tyk.gateway",
    "tyk_portal_operator.tyk.models",
    "tyk_portal_operator.tyk.port",
    "tyk_portal_operator.tyk._http",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_all_and_exports_exist(name: str) -> None:
    module = importlib.import_module(name)

    assert isinstance(module.__all__, list | tuple)
    for exported in module.__all__:
        assert hasattr(module, exported), f"{name}.{exported}"


def test_error_tree_shape() -> None:
    from tyk_portal_operator.tyk import errors

    assert issubclass(errors.TykConflict, errors.TykRejected)
    for cls in (errors.TykUnavailable, errors.TykAuthError, errors.TykNotFound, errors.TykRejected):
        assert cls.__bases__ == (errors.TykError,)
    assert [c.__name__ for c in (errors.TykError, errors.TykUnavailable) if c.transient] == ["TykUnavailable"]
