"""OpenID Connect sign-in against a mock OpenID provider (`oidc-provider-mock`), without a browser.

The in-cluster portal signs people in with the authorization code flow and PKCE (Authlib), keeps
the ID token in its signed session cookie and sends it as the bearer token of the person's
Kubernetes API calls; the API server (here the emulator, trusting the same issuer) authenticates
them. An expired ID token is never sent: the person is sent to sign in again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.emulators.kube import KubeEmulator
from tests.emulators.kube.auth import Authentication, OIDCIssuer, UserInfo
from tests.integration.cluster import Cluster
from tyk_portal_operator.portal.identity import EXPIRY_MARGIN, OIDCIdentity, OIDCSettings, bearer_client
from tyk_portal_operator.portal.kube import CatalogueReader
from tyk_portal_operator.portal.server import RunningServer, serve_in_thread
from tyk_portal_operator.portal.web import PortalApp, create_app

pytestmark = pytest.mark.xdist_group("portal-oidc")

CLIENT_ID = "portal-test"
ADMIN = "oidc-test-admin-token"
TOKEN_LIFETIME = EXPIRY_MARGIN + 2  # the portal treats a token this close to expiry as expired


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread(
        access_token_max_age=timedelta(seconds=TOKEN_LIFETIME), issue_refresh_token=False
    ) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def portal(issuer: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    authentication = Authentication(
        tokens={ADMIN: UserInfo("admin", ("system:masters",))}, oidc=OIDCIssuer(issuer, CLIENT_ID)
    )
    with KubeEmulator(authentication=authentication) as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig", token=ADMIN)
        Cluster(str(kubeconfig)).install_crds()
        settings = OIDCSettings(
            issuer=issuer, client_id=CLIENT_ID, client_secret="test-secret", kube_host=kube.url
        )
        app = create_app(
            PortalApp(
                identity=OIDCIdentity(settings),
                reader=CatalogueReader(bearer_client(kube.url, ADMIN, None, False)),
            ),
            session_secret="test-session-secret",
            secure_cookies=False,
        )
        running = serve_in_thread(app)
        yield running
        running.stop()


def _sign_in(portal: RunningServer, who: str) -> httpx.Client:
    browser = httpx.Client(base_url=portal.url, follow_redirects=False, timeout=10)
    to_login = browser.get("/catalogue")
    assert to_login.status_code == 303 and to_login.headers["location"].startswith("/login?next=")
    to_provider = browser.get(to_login.headers["location"])
    assert to_provider.status_code == 302
    authorize = to_provider.headers["location"]
    query = parse_qs(urlparse(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]  # PKCE
    assert query["client_id"] == [CLIENT_ID] and "openid" in query["scope"][0]
    back = httpx.post(authorize, data={"sub": who}, follow_redirects=False)
    assert back.status_code == 302
    callback = urlparse(back.headers["location"])
    assert callback.path == "/auth/callback"
    landed = browser.get(f"{callback.path}?{callback.query}")
    assert landed.status_code == 303 and landed.headers["location"] == "/catalogue"
    return browser


def test_sign_in_with_pkce_and_act_with_the_id_token(portal: RunningServer) -> None:
    browser = _sign_in(portal, "alice@example.com")
    page = browser.get("/catalogue")
    assert page.status_code == 200
    assert "alice@example.com" in page.text
    # Alice has no RBAC rights: the SelfSubjectAccessReviews ran with her token, and say no.
    assert "You may not create access requests in any team namespace" in page.text
    cookie = next(iter(browser.cookies.jar))
    assert cookie.name == "portal_session" and cookie.has_nonstandard_attr("httponly")


def test_an_expired_token_sends_the_person_to_sign_in_again(portal: RunningServer) -> None:
    browser = _sign_in(portal, "bob@example.com")
    assert browser.get("/catalogue").status_code == 200
    time.sleep(TOKEN_LIFETIME - EXPIRY_MARGIN + 0.5)
    again = browser.get("/apps")
    assert again.status_code == 303
    assert again.headers["location"] == "/login?next=%2Fapps"


def test_a_refused_sign_in_is_reported(portal: RunningServer) -> None:
    browser = httpx.Client(base_url=portal.url, follow_redirects=False, timeout=10)
    authorize = browser.get("/login").headers["location"]
    denied = httpx.post(authorize, data={"action": "deny"}, follow_redirects=False)
    callback = urlparse(denied.headers["location"])
    page = browser.get(f"{callback.path}?{callback.query}")
    assert page.status_code == 401
    assert "Sign-in failed" in page.text and "access_denied" in page.text


def test_the_emulator_refuses_an_expired_id_token(issuer: str, tmp_path: Path) -> None:
    """The API server side: an expired (or foreign) ID token is 401, so it could never act."""
    oidc = OIDCIssuer(issuer, CLIENT_ID)
    assert oidc.authenticate("not.a.token") is None
    assert Authentication(oidc=oidc).tokens == {}
