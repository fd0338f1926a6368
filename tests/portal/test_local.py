"""`kubectl portal catalogue` and the local portal of `kubectl portal ui`, with a kubeconfig only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import config as k8s_config
from starlette.testclient import TestClient

from tests.emulators.kube import KubeEmulator
from tests.integration.cluster import Cluster
from tyk_portal_operator.kubectl_portal import main
from tyk_portal_operator.portal.server import local_app

pytestmark = pytest.mark.xdist_group("portal-local")


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with KubeEmulator() as kube:
        path = str(kube.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig"))
        cluster = Cluster(path)
        cluster.install_crds()
        cluster.create_namespace("shop")
        cluster.create_namespace("team-a", {"apiportal.dev/team": "a"})
        cluster.create_namespace("team-b", {"apiportal.dev/team": "b"})
        cluster.create(
            "apiproducts",
            {
                "kind": "APIProduct",
                "metadata": {"name": "orders"},
                "spec": {"displayName": "Orders", "apis": [{"apiID": "o"}], "lifecycle": "production"},
            },
            "shop",
        )
        cluster.create(
            "plans",
            {
                "kind": "Plan",
                "metadata": {"name": "gold"},
                "spec": {
                    "displayName": "Gold",
                    "approval": "Manual",
                    "rateLimit": {"requests": 5, "per": "1m"},
                },
            },
            "shop",
        )
        cluster.create(
            "catalogues",
            {
                "kind": "Catalogue",
                "metadata": {"name": "private"},
                "spec": {
                    "visibility": "Private",
                    "audience": {"teams": ["a"]},
                    "products": [{"name": "orders"}],
                    "plans": [{"name": "gold"}],
                },
            },
            "shop",
        )
        yield path


def test_catalogue_command_prints_what_a_namespace_may_request(
    kubeconfig: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalogue", "-n", "team-a", "--kubeconfig", kubeconfig]) == 0
    out = capsys.readouterr().out
    assert "shop/private" in out and "shop/orders (not ready)" in out and "shop/gold" in out
    assert "5 requests per 1m" in out and "Manual" in out
    assert main(["catalogue", "-n", "team-b", "--kubeconfig", kubeconfig]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "No catalogue offers anything to namespace team-b" in captured.err


def test_local_portal_needs_the_launch_token(kubeconfig: str) -> None:
    app, identity = local_app(k8s_config.new_client_from_config(config_file=kubeconfig))
    with TestClient(app, follow_redirects=False) as browser:
        assert browser.get("/catalogue").status_code == 401
        assert browser.get("/login?token=guess").status_code == 401
        entered = browser.get(f"/login?token={identity.launch_token}&next=/catalogue?team=team-a")
        assert entered.status_code == 303 and entered.headers["location"] == "/catalogue?team=team-a"
        page = browser.get("/catalogue?team=team-a")
        assert page.status_code == 200 and "Orders" in page.text and "Private" in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        # A form without the session's CSRF token is refused before anything reaches the API server.
        refused = browser.post("/apps/team-a", data={"name": "x"})
        assert refused.status_code == 400 and "Form expired" in refused.text
