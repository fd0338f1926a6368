"""Fixtures for the Kubernetes emulator's tests.

The tests speak to the API only through the official `kubernetes` client and a kubeconfig, so the
same tests run against a real cluster when `PORTAL_TEST_KUBECONFIG` points at one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.emulators.kube import KubeEmulator

from .helpers import REAL_CLUSTER_KUBECONFIG, TEST_GROUP, Widgets, wait_for, widget_crd


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kubeconfig: the real cluster's when PORTAL_TEST_KUBECONFIG is set, else a fresh emulator's."""
    if REAL_CLUSTER_KUBECONFIG:
        yield REAL_CLUSTER_KUBECONFIG
        return
    with KubeEmulator() as emulator:
        path = emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")
        yield str(path)


@pytest.fixture(scope="session")
def api_client(kubeconfig: str) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=kubeconfig)
    yield api
    api.close()


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    name = f"emutest-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture
def widgets(
    api_client: client.ApiClient, custom: client.CustomObjectsApi, namespace: str
) -> Iterator[Widgets]:
    """A CRD of the test's own (applied through the API, deleted afterwards)."""
    suffix = uuid.uuid4().hex[:8]
    plural, kind = f"widgets{suffix}", f"Widget{suffix.upper()}"
    extensions = client.ApiextensionsV1Api(api_client)
    extensions.create_custom_resource_definition(widget_crd(plural, kind))

    def established() -> bool:
        crd = extensions.read_custom_resource_definition(f"{plural}.{TEST_GROUP}")
        conditions = (crd.status.conditions if crd.status else None) or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    wait_for(established, what="the CRD to be established")
    yield Widgets(custom, plural, kind, namespace)
    try:
        extensions.delete_custom_resource_definition(f"{plural}.{TEST_GROUP}")
    except ApiException as exc:
        if exc.status != 404:
            raise
