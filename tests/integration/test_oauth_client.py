"""OAuthClient credentials through the real operator: a consumer that knows only its Secret gets
tokens (client credentials grant, Tyk as the authorization server) and calls the product's APIs;
rotation with overlap, suspension, deletion, the auth type check, and a crash between the Secret
write and the Tyk write.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from kopf.testing import KopfRunner

from tests.emulators.kube import KubeEmulator
from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator

from .backends import GATEWAY_SECRET, TykAdmin
from .cluster import Cluster, wait_for
from .conftest import start_operator_process, stop_operator_process
from .test_policies import AUTH, plan, product
from .test_provisioning import request

OAUTH_APIS = [
    {
        "api_id": api_id,
        "name": name,
        "proxy": {"listen_path": f"/{name}/", "target_url": f"http://{name}.upstream.invalid/"},
        "use_oauth2": True,
        "oauth_meta": {"allowed_access_types": ["client_credentials"], "allowed_authorize_types": []},
    }
    for api_id, name in (("billing-api", "billing"), ("reports-api", "reports"))
]


def setup_oauth_portal(
    cluster: Cluster, namespace: str, admin: TykAdmin, control: TykControl, prefix: str
) -> None:
    """OAuth APIs in Tyk; a provider whose public Gateway URL is the emulator's; products `billing`
    (OAuth) and `orders` (auth token), a plan, a catalogue listing both, an app."""
    control.seed_apis(OAUTH_APIS)
    provider = admin.make_provider(cluster, namespace, prefix=prefix, gateway_url=admin.gateway_url)
    cluster.create("apiproducts", product("billing", provider, [{"apiID": "billing-api"}]), namespace)
    cluster.create("apiproducts", product("orders", provider, [{"apiID": "orders-api"}]), namespace)
    cluster.create(
        "plans",
        plan("gold", provider, rateLimit={"requests": 100, "per": "1s"}, approval="Automatic"),
        namespace,
    )
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "public"},
            "spec": {
                "visibility": "Public",
                "products": [{"name": "billing"}, {"name": "orders"}],
                "plans": [{"name": "gold"}],
            },
        },
        namespace,
    )
    cluster.create(
        "consumerapps",
        {"kind": "ConsumerApp", "metadata": {"name": "mobile"}, "spec": {"displayName": "Mobile"}},
        namespace,
    )
    for name in ("billing", "orders"):
        cluster.wait_condition("apiproducts", name, namespace, reason="PolicySynced")
    cluster.wait_condition("plans", "gold", namespace, reason="PolicySynced")


def oauth_request(name: str, **spec: Any) -> dict[str, Any]:
    return request(
        name, credentialType="OAuthClient", products=[{"name": "billing"}], planRef={"name": "gold"}, **spec
    )


class Consumer:
    """A workload that knows only what its Secret holds."""

    def __init__(self, cluster: Cluster, namespace: str, secret: str) -> None:
        self.data = {
            key: cluster.secret_value(namespace, secret, key)
            for key in (
                "client-id",
                "client-secret",
                "client-id-previous",
                "client-secret-previous",
                "token-url",
                "gateway-url",
            )
        }

    def token(self, previous: bool = False) -> httpx.Response:
        suffix = "-previous" if previous else ""
        return httpx.post(
            str(self.data["token-url"]),
            data={"grant_type": "client_credentials"},
            auth=(str(self.data[f"client-id{suffix}"]), str(self.data[f"client-secret{suffix}"])),
        )

    def call(self, path: str, token: str) -> int:
        url = f"{self.data['gateway-url']}{path}"
        return httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code

    def rotated_from(self, first: Consumer) -> Consumer | None:
        """This Secret's reading, if it holds another client than `first`'s."""
        issued = self.data["client-id"]
        return self if issued and issued != first.data["client-id"] else None

    def works(self, previous: bool = False) -> bool:
        answer = self.token(previous)
        return (
            answer.status_code == 200 and self.call("/billing/invoices", answer.json()["access_token"]) == 200
        )


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "oauth_client.py"


def run_example(consumer: Consumer, mount: Path, path: str) -> str:
    """examples/oauth_client.py (what docs/consumers.md shows) on the Secret's files, as a volume
    mount would present them."""
    mount.mkdir(exist_ok=True)
    for key, value in consumer.data.items():
        if value is not None:
            (mount / key).write_text(value)
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), str(mount), path], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_an_oauth_client_from_issue_to_revocation(
    operator: KopfRunner,
    cluster: Cluster,
    namespace: str,
    admin: TykAdmin,
    control: TykControl,
    tmp_path: Path,
) -> None:
    setup_oauth_portal(cluster, namespace, admin, control, prefix="oa")

    # An OAuthClient for auth-token APIs is refused before anything reaches Tyk.
    control.clear_requests()
    cluster.create(
        "provisioningrequests",
        request("wrong", credentialType="OAuthClient", planRef={"name": "gold"}),
        namespace,
    )
    refused = cluster.wait_condition(
        "provisioningrequests", "wrong", namespace, status="False", reason="AuthTypeMismatch"
    )
    message = next(c["message"] for c in refused["status"]["conditions"] if c["type"] == "Ready")
    assert "orders (authToken" in message
    assert not [r for r in control.requests() if r["method"] != "GET"]

    cluster.create("provisioningrequests", oauth_request("r1", rotation={"overlap": "6s"}), namespace)
    obj = cluster.wait_condition("provisioningrequests", "r1", namespace, reason="CredentialIssued")
    consumer = Consumer(cluster, namespace, "r1-credentials")
    assert consumer.data["token-url"] == f"{admin.gateway_url}/billing/oauth/token"
    assert str(consumer.data["client-secret"]) not in str(obj)
    answer = consumer.token()
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    assert consumer.call("/billing/invoices", token) == 200
    assert consumer.call("/reports/daily", token) == 403  # an OAuth API of no requested product
    assert consumer.call("/orders/items", token) == 403  # an auth-token API its policy does not grant
    assert run_example(consumer, tmp_path / "secret", "/billing/invoices") == "200"
    assert run_example(consumer, tmp_path / "secret", "/reports/daily") == "403"

    # Rotation: a new client; the previous one keeps working for the whole overlap, then is refused.
    cluster.patch(
        "provisioningrequests", "r1", {"metadata": {"annotations": {"apiportal.dev/rotate": "1"}}}, namespace
    )
    first = consumer
    consumer = wait_for(
        lambda: Consumer(cluster, namespace, "r1-credentials").rotated_from(first),
        what="a new client in the Secret",
    )
    assert consumer.data["client-id-previous"] == first.data["client-id"]
    ends = wait_for(
        lambda: ((cluster.get("provisioningrequests", "r1", namespace) or {}).get("status") or {}).get(
            "previousKeyExpiresAt"
        ),
        what="the overlap's end in status",
    )
    overlap_end = datetime.datetime.fromisoformat(str(ends).replace("Z", "+00:00"))
    wait_for(consumer.works, what="the new client works")
    assert consumer.works(previous=True) and first.works()
    assert first.call("/billing/invoices", token) == 200  # a token issued before the rotation too
    wait_for(lambda: not first.works(), what="the previous client refused after the overlap", timeout=30)
    assert datetime.datetime.now(datetime.UTC) >= overlap_end
    assert first.call("/billing/invoices", token) == 403
    wait_for(
        lambda: cluster.secret_value(namespace, "r1-credentials", "client-id-previous") is None,
        what="the previous client leaves the Secret",
    )
    assert consumer.works()

    # Suspension refuses tokens already issued and new ones; resuming restores access.
    live = consumer.token().json()["access_token"]
    cluster.patch("provisioningrequests", "r1", {"spec": {"suspended": True}}, namespace)
    cluster.wait_condition("provisioningrequests", "r1", namespace, status="False", reason="Suspended")
    wait_for(lambda: consumer.call("/billing/invoices", live) == 403, what="issued token refused")
    # A Dashboard's Gateways do not load the inactive policy (no token at all); an open-source
    # Gateway loads it and refuses the token on the API (is_inactive): either way, no access.
    assert not consumer.works()
    cluster.patch("provisioningrequests", "r1", {"spec": {"suspended": False}}, namespace)
    wait_for(consumer.works, what="resumed")

    # A lost Secret: the lost client is revoked, a new one written.
    lost = consumer
    cluster.core.delete_namespaced_secret("r1-credentials", namespace)
    consumer = wait_for(
        lambda: Consumer(cluster, namespace, "r1-credentials").rotated_from(lost),
        what="a new client after the Secret was lost",
    )
    assert not lost.works()
    wait_for(consumer.works, what="the new client works")
    assert len(clients_on(admin, "billing-api")) == 1

    # Deleting the request revokes the client.
    cluster.delete("provisioningrequests", "r1", namespace)
    wait_for(lambda: cluster.get("provisioningrequests", "r1", namespace) is None, what="request gone")
    assert not consumer.works()
    assert clients_on(admin, "billing-api") == []


def clients_on(admin: TykAdmin, api_id: str) -> list[dict[str, Any]]:
    """The OAuth clients of an API, as this mode's API lists them."""
    if admin.gateway:
        answer = httpx.get(
            f"{admin.url}/tyk/oauth/clients/{api_id}", headers={"x-tyk-authorization": admin.secret}
        )
        return list(answer.json())
    answer = httpx.get(f"{admin.url}/api/apis/oauth/{api_id}", headers=AUTH)
    return list(answer.json()["apps"])


@pytest.mark.skipif(
    bool(os.environ.get("PORTAL_TEST_KUBECONFIG")),
    reason="kills and restarts its own operator process against its own API server emulator",
)
@pytest.mark.timeout(180)
def test_operator_killed_after_the_secret_write_converges_on_one_client(tmp_path: Path) -> None:
    with (
        KubeEmulator() as kube,
        TykEmulator(api_key="dash-secret", org_id="org1", gateway_secret=GATEWAY_SECRET) as tyk,
        TykControl(tyk.url) as control,
    ):
        control.seed_apis(DEMO_APIS)
        kubeconfig = str(kube.write_kubeconfig(tmp_path / "kubeconfig"))
        cluster = Cluster(kubeconfig)
        cluster.install_crds()
        namespace = "restart-oauth"
        cluster.create_namespace(namespace)
        log = tmp_path / "operator.log"
        first = start_operator_process(kubeconfig, log, "--standalone", namespace=None)
        try:
            setup_oauth_portal(cluster, namespace, TykAdmin(tyk), control, prefix="ro")
            # Tyk refuses policy creates (the client's policy is its first object) for now.
            control.error(503, match="POST /api/portal/policies")
            cluster.create("provisioningrequests", oauth_request("r1"), namespace)
            written = wait_for(
                lambda: cluster.secret_value(namespace, "r1-credentials", "client-id"),
                what="Secret written before the Tyk call",
            )
        except BaseException:
            print(log.read_text())
            raise
        finally:
            stop_operator_process(first, signal.SIGKILL)
        uid = (cluster.get("provisioningrequests", "r1", namespace) or {})["metadata"]["uid"]
        assert not Consumer(cluster, namespace, "r1-credentials").works()
        control.clear_faults()
        second = start_operator_process(kubeconfig, log, "--standalone", namespace=None)
        try:
            cluster.wait_condition(
                "provisioningrequests", "r1", namespace, reason="CredentialIssued", timeout=60
            )
            consumer = Consumer(cluster, namespace, "r1-credentials")
            assert consumer.data["client-id"] == written  # the client of the Secret, not a second one
            assert consumer.works()
            mine = [
                c["client_id"]
                for c in clients_on(TykAdmin(tyk), "billing-api")
                if (c.get("meta_data") or {}).get("apiportal.dev/request-uid") == uid
            ]
            assert mine == [written]
            policies = httpx.get(f"{tyk.url}/api/portal/policies", params={"p": -1}, headers=AUTH).json()[
                "Data"
            ]
            assert [p["id"] for p in policies if "apiportal:oauth-client" in (p.get("tags") or [])] == [
                f"oauth.{written}"
            ]
        except BaseException:
            print(log.read_text())
            raise
        finally:
            stop_operator_process(second)
