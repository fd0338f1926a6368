"""kopf 1.45 runs unmodified against the API: it sees a new object, patches its status, and
removes its finalizer when the object is deleted."""

from __future__ import annotations

from pathlib import Path

import kopf
import pytest
from kopf.testing import KopfRunner
from kubernetes.config import kube_config

from .helpers import Widgets, wait_for

pytestmark = pytest.mark.emulator

OPERATOR = Path(__file__).with_name("kopf_operator.py")


def test_kopf_operator_handles_create_and_delete(
    widgets: Widgets, kubeconfig: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    # The client reads $KUBECONFIG when it is imported, which happened long before this test.
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", kubeconfig)
    monkeypatch.setenv("EMUTEST_GROUP", widgets.group)
    monkeypatch.setenv("EMUTEST_VERSION", widgets.version)
    monkeypatch.setenv("EMUTEST_PLURAL", widgets.plural)

    args = ["run", "--standalone", "--all-namespaces", "--verbose", str(OPERATOR)]
    with KopfRunner(args, registry=kopf.OperatorRegistry(), timeout=60) as runner:
        widgets.create("handled")
        seen = wait_for(
            lambda: (widgets.get("handled").get("status") or {}).get("phase") == "Seen",
            timeout=15,
            what="kopf to patch the status",
        )
        assert seen
        assert "emutest.apiportal.dev/kopf" in widgets.get("handled")["metadata"]["finalizers"]
        widgets.delete("handled")
        wait_for(lambda: not widgets.exists("handled"), timeout=15, what="kopf to release its finalizer")

    assert runner.exception is None, runner.output
    assert runner.exit_code == 0
    assert "Handler 'created' succeeded" in runner.output
