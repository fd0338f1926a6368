"""A tiny kopf operator for the emulator's end-to-end test (loaded by `kopf run` from this path).

It handles the test's own CRD, named by the environment (EMUTEST_GROUP, EMUTEST_VERSION, EMUTEST_PLURAL).
"""

from __future__ import annotations

import os
from typing import Any

import kopf

GROUP = os.environ["EMUTEST_GROUP"]
VERSION = os.environ["EMUTEST_VERSION"]
PLURAL = os.environ["EMUTEST_PLURAL"]


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.watching.server_timeout = 10
    settings.watching.client_timeout = 15
    settings.execution.default_backoff = 0.5
    settings.persistence.finalizer = "emutest.apiportal.dev/kopf"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="emutest.apiportal.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="emutest.apiportal.dev")


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """kopf's own kubeconfig login through the `kubernetes` client ($KUBECONFIG).

    Declared explicitly because a fresh `kopf.OperatorRegistry` has no fallback login handlers.
    """
    info: kopf.ConnectionInfo | None = kopf.login_via_client(**kwargs)
    return info


@kopf.on.create(GROUP, VERSION, PLURAL)
def created(patch: kopf.Patch, spec: kopf.Spec, **_: Any) -> None:
    patch.status["phase"] = "Seen"
    patch.status["observedGeneration"] = 1


@kopf.on.delete(GROUP, VERSION, PLURAL)
def deleted(**_: Any) -> None:
    """Only here so that kopf puts its finalizer on the objects."""
