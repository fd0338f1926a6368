"""The Live Portal in a real headless Chromium, against the sandbox (`python -m tests.sandbox`).

One sandbox (emulators, operator, mock OpenID provider, portal) and one browser serve every test
of this module's one test (one function, so nothing else runs on the worker while Playwright's
loop is alive); its steps tell one story in order: a consumer of team-mobile finds a
Private catalogue once their namespace is in its audience, reads the rendered OpenAPI document,
asks for access on a Manual plan, cannot approve it themselves (the API server's refusal is shown),
an approver approves it, and the consumer follows the credential until it is issued. Each page is
saved as a screenshot under .artifacts/screenshots/.

Chromium is Debian's (`/usr/bin/chromium`, installed by .ci/run): without it these tests are
skipped locally and FAIL in CI (CI=true).
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cluster import Cluster
from tests.sandbox.portal import APPROVER, CONSUMER, CONSUMER_GROUP, grant

pytestmark = pytest.mark.xdist_group("portal-browser")

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / ".artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
REQUEST = "browser-gold"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it in CI)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Sandbox:
    url: str
    cluster: Cluster


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """`python -m tests.sandbox --keep-running`, as a newcomer runs it; stopped with SIGTERM."""
    _require_chromium()
    state = tmp_path_factory.mktemp("sandbox")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sandbox", "--keep-running", "--state-dir", str(state)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url, seen = None, []
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if match := re.search(r"Portal URL: (http://\S+)", line):
            url = match.group(1)
    if url is None:
        process.kill()
        pytest.fail("the sandbox did not print the portal's URL:\n" + "".join(seen[-40:]))
    try:
        yield Sandbox(url, Cluster(str(state / "kubeconfig")))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh temporary profile (--user-data-dir) of its own.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, chromium_sandbox=False, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


def _sign_in(browser: Any, sandbox: Sandbox, who: str) -> Any:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{sandbox.url}/catalogue")
    # The mock OpenID provider's page: one button per sandbox person.
    page.locator(f"button[name='sub'][value='{who}']").click()
    page.wait_for_url(re.compile(re.escape(sandbox.url) + r"/catalogue.*"))
    assert who in page.locator("header").inner_text()
    return page


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _reload_until(page: Any, url: str, selector: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if page.locator(selector).count() > 0:
            return page.locator(selector)
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} never appeared on {url}: {page.locator('main').inner_text()}")
        time.sleep(0.5)


def _private_catalogue_appears_once_the_namespace_has_the_team_label(sandbox: Sandbox, consumer: Any) -> None:
    cluster = sandbox.cluster
    cluster.create_namespace("team-web")
    grant(cluster, "team-web", "apiportal-consumer", "Group", CONSUMER_GROUP, "team-web-devs")
    cluster.create(
        "catalogues",
        {
            "kind": "Catalogue",
            "metadata": {"name": "web-partners"},
            "spec": {
                "displayName": "Web partners",
                "visibility": "Private",
                "audience": {"teams": ["web"]},
                "products": [{"name": "orders"}],
                "plans": [{"name": "gold"}],
            },
        },
        "shop",
    )
    consumer.goto(f"{sandbox.url}/catalogue?team=team-web")
    assert consumer.locator("[data-catalogue='shop/web-partners']").count() == 0
    assert "team-web" not in consumer.locator("main").inner_text()  # not a team yet: unlabelled

    cluster.core.patch_namespace("team-web", {"metadata": {"labels": {"apiportal.dev/team": "web"}}})
    section = _reload_until(
        consumer, f"{sandbox.url}/catalogue?team=team-web", "[data-catalogue='shop/web-partners']"
    )
    assert "Private" in section.inner_text()
    assert "Manual" in section.inner_text()  # the Gold plan's approval
    _shot(consumer, "1-catalogue-private-after-team-label")
    # team-mobile (organisation acme) sees the acme-internal catalogue, with plans and approval.
    consumer.goto(f"{sandbox.url}/catalogue?team=team-mobile")
    acme = consumer.locator("[data-catalogue='shop/acme-internal']")
    assert "Orders" in acme.inner_text() and "Automatic" in acme.inner_text()
    assert consumer.locator("[data-catalogue='shop/web-partners']").count() == 0
    consumer.fill("#q", "payments")
    consumer.click("text=Filter")
    assert "Shop APIs" in consumer.locator("main").inner_text()
    assert "Read and place customer orders" not in consumer.locator("main").inner_text()
    _shot(consumer, "2-catalogue-search")


def _product_page_renders_the_openapi_document(sandbox: Sandbox, consumer: Any) -> None:
    consumer.goto(f"{sandbox.url}/catalogue?team=team-mobile")
    consumer.locator("[data-catalogue='shop/acme-internal'] a", has_text="Orders").first.click()
    consumer.wait_for_selector(".swagger-ui .opblock")
    text = consumer.locator("#swagger-ui").inner_text()
    assert "Orders API" in text and "/orders/{id}" in text and "Place an order" in text
    assert "#shop-apis" in consumer.locator("main").inner_text()
    _shot(consumer, "3-product-openapi")


def _consumer_requests_access_on_a_manual_plan(sandbox: Sandbox, consumer: Any) -> None:
    consumer.goto(f"{sandbox.url}/apps?team=team-mobile")
    offer = consumer.locator(
        "#req-offer option", has_text="Orders on Gold (Manual) through ACME internal APIs"
    )
    consumer.select_option("#req-offer", value=offer.get_attribute("value"))
    consumer.select_option("#req-app", value="mobile")
    consumer.fill("#req-name", REQUEST)
    consumer.fill("#req-usecase", "Browser test: launch of the web shop")
    consumer.click("form[aria-label='Request access'] button[type=submit]")
    assert "Access requested" in consumer.locator(".flash.ok").inner_text()
    state = _reload_until(
        consumer,
        f"{sandbox.url}/apps?team=team-mobile",
        f"[data-request='{REQUEST}'] [data-state='waiting for approval']",
    )
    assert state.count() == 1
    _shot(consumer, "4-apps-waiting-for-approval")
    request = sandbox.cluster.get("provisioningrequests", REQUEST, "team-mobile")
    assert request is not None
    assert request["metadata"]["annotations"]["apiportal.dev/requested-by"] == CONSUMER


def _without_rbac_rights_the_refusal_is_shown_and_nothing_happens(sandbox: Sandbox, consumer: Any) -> None:
    consumer.goto(f"{sandbox.url}/approvals/team-mobile/{REQUEST}")
    assert consumer.locator("#reason").count() == 1, consumer.locator("main").inner_text()
    consumer.fill("#reason", "approving my own request")
    consumer.click("button[value=approve]")
    alert = consumer.locator("[role=alert]").inner_text()
    assert "The Kubernetes API server refused" in alert
    assert f'User "{CONSUMER}" cannot patch resource "provisioningrequests/status"' in alert
    _shot(consumer, "5-refused-without-rbac")
    request = sandbox.cluster.get("provisioningrequests", REQUEST, "team-mobile")
    assert request is not None and not (request.get("status") or {}).get("approval")


def _approver_approves_in_the_portal(sandbox: Sandbox, approver: Any) -> None:
    approver.goto(f"{sandbox.url}/approvals")
    row = approver.locator(f"[data-request='team-mobile/{REQUEST}']")
    assert "Browser test: launch of the web shop" in row.inner_text()
    assert CONSUMER in row.inner_text()
    _shot(approver, "6-approvals")
    row.locator("a").click()
    approver.fill("#reason", "launch approved, ticket WEB-1")
    approver.click("button[value=approve]")
    assert f"approved by {APPROVER}" in approver.locator(".flash.ok").inner_text()
    approval = (sandbox.cluster.get("provisioningrequests", REQUEST, "team-mobile") or {})["status"][
        "approval"
    ]
    assert approval["decision"] == "Approved"
    assert approval["by"] == APPROVER  # the identity the API server authenticated
    assert approval["reason"] == "launch approved, ticket WEB-1"


def _consumer_sees_the_credential_issued_without_key_material(sandbox: Sandbox, consumer: Any) -> None:
    issued = _reload_until(
        consumer,
        f"{sandbox.url}/apps?team=team-mobile",
        f"[data-request='{REQUEST}'] [data-state='issued']",
        timeout=30,
    )
    assert issued.count() == 1
    section = consumer.locator(f"[data-request='{REQUEST}']")
    assert f"{REQUEST}-credentials" in section.inner_text()
    _shot(consumer, "7-apps-credential-issued")
    secret = sandbox.cluster.get_secret("team-mobile", f"{REQUEST}-credentials")
    assert secret is not None
    key = base64.b64decode(secret["data"]["api-key"]).decode()
    assert key not in consumer.content()


def test_the_portal_story(sandbox: Sandbox, browser: Any) -> None:
    consumer = _sign_in(browser, sandbox, CONSUMER)
    _private_catalogue_appears_once_the_namespace_has_the_team_label(sandbox, consumer)
    _product_page_renders_the_openapi_document(sandbox, consumer)
    _consumer_requests_access_on_a_manual_plan(sandbox, consumer)
    _without_rbac_rights_the_refusal_is_shown_and_nothing_happens(sandbox, consumer)
    approver = _sign_in(browser, sandbox, APPROVER)
    _approver_approves_in_the_portal(sandbox, approver)
    _consumer_sees_the_credential_issued_without_key_material(sandbox, consumer)
    assert len(list(SCREENSHOTS.glob("*.png"))) >= 7
