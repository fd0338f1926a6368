"""The Live Portal's pages: a Starlette application rendering HTML on the server.

Handlers are thin: read with `CatalogueReader` (public catalogue) and `UserClient` (everything
personal), decide with `offers` (the operator's own visibility and approval rules), render a
template. Every write goes to the API server with the person's credentials; its refusal is shown
as is. No page ever reads or shows a Secret's data.
"""

from __future__ import annotations

import datetime
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..core.visibility import ref_key
from ..models import APIProduct, ProvisioningRequest
from .identity import Identity, LocalIdentity, OIDCIdentity
from .kube import REQUESTED_BY_ANNOTATION, CatalogueReader, PortalError, SignInRequired, UserClient
from .offers import Offer, Team, find_offer, matches, offers_for, quota_text, rate_text, request_state

__all__ = ["PortalApp", "create_app"]

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
NAME_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
TEAMS_TTL = 10.0
REASON_MAX = 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _swagger_ui_path() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


@dataclass
class PortalApp:
    """The portal's state: how people are identified, the catalogue reader, templates."""

    identity: Identity
    reader: CatalogueReader
    title: str = "API portal"
    teams_ttl: float = TEAMS_TTL
    """Seconds a person's list of teams (one SelfSubjectAccessReview per team namespace) is reused."""

    def __post_init__(self) -> None:
        self.templates = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(rate_text=rate_text, quota_text=quota_text, quote=quote)
        self._teams: dict[str, tuple[float, list[Team]]] = {}

    # ----- helpers ----------------------------------------------------------------------------
    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        session = request.session
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(24)
        flashes = session.pop("flash", [])
        body = self.templates.get_template(template).render(
            title=self.title,
            mode=self.identity.mode,
            user=session.get("name"),
            csrf=session["csrf"],
            flashes=flashes,
            path=request.url.path,
            **context,
        )
        return HTMLResponse(body, status_code=status)

    @staticmethod
    def flash(request: Request, kind: str, text: str) -> None:
        request.session.setdefault("flash", []).append({"kind": kind, "text": text})

    def teams(self, request: Request, user: UserClient) -> list[Team]:
        """The person's teams: team namespaces where RBAC lets them create requests."""
        key = self.identity.session_key(request)
        hit = self._teams.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.teams_ttl:
            return hit[1]
        teams = user.requestable(self.reader.team_namespaces())
        self._teams[key] = (time.monotonic(), teams)
        return teams

    def forget_teams(self, request: Request) -> None:
        self._teams.pop(self.identity.session_key(request), None)

    def offers(self, teams: list[Team]) -> list[Offer]:
        data = self.reader.catalogue()
        return [offers_for(team, data.catalogues, data.products, data.plans) for team in teams]


def _sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


Form = dict[str, str]
Page = Callable[[PortalApp, Request, UserClient, Form], Response]


def _page(portal: PortalApp, page: Page) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a page: require a signed-in person, check CSRF on POST, show refusals."""

    async def endpoint(request: Request) -> Response:
        user = portal.identity.client(request)
        if user is None:
            if portal.identity.mode == "local":
                return portal.render(
                    request,
                    "message.html",
                    401,
                    heading="Open the portal from its URL",
                    message="Use the URL `kubectl portal ui` printed (it carries a one-time token).",
                )
            return _sign_in(request)
        form: Form = {}
        if request.method == "POST":
            form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
            sent = str(form.get("csrf") or "")
            if not sent or not secrets.compare_digest(sent, str(request.session.get("csrf") or "")):
                return portal.render(
                    request,
                    "message.html",
                    400,
                    heading="Form expired",
                    message="The form was stale or not sent by this portal: reload the page and try again.",
                )
        try:
            # The Kubernetes client blocks: run the page in a worker thread, not on the event loop.
            return await run_in_threadpool(page, portal, request, user, form)
        except SignInRequired:
            if isinstance(portal.identity, OIDCIdentity):
                OIDCIdentity.forget(request)
            return _sign_in(request)
        except PortalError as error:
            return portal.render(
                request,
                "message.html",
                error.status or 502,
                heading="The request failed",
                message=error.message,
                alert=True,
            )

    return endpoint


def _team_param(request: Request, teams: list[Team]) -> Team | None:
    wanted = request.query_params.get("team")
    for team in teams:
        if team.namespace == wanted:
            return team
    return teams[0] if teams else None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# ----- pages ----------------------------------------------------------------------------------
def catalogue_page(portal: PortalApp, request: Request, user: UserClient, form: Form) -> Response:
    teams = portal.teams(request, user)
    team = _team_param(request, teams)
    query = request.query_params.get("q", "")
    lifecycle = request.query_params.get("lifecycle", "")
    tag = request.query_params.get("tag", "")
    offer = portal.offers([team])[0] if team else None
    entries = []
    tags: set[str] = set()
    for entry in offer.catalogues if offer else ():
        for product in entry.products:
            tags.update(product.product.spec.tags or [])
        shown = [p for p in entry.products if matches(p.product, query, lifecycle, tag)]
        if shown:
            entries.append((entry, shown))
    return portal.render(
        request,
        "catalogue.html",
        teams=teams,
        team=team,
        entries=entries,
        q=query,
        lifecycle=lifecycle,
        tag=tag,
        tags=sorted(tags),
    )


def _product_offers(
    portal: PortalApp, teams: list[Team], key: tuple[str, str]
) -> tuple[APIProduct | None, list[Any]]:
    """The product if any of the teams is offered it, and (team, catalogue offer) pairs listing it."""
    found: APIProduct | None = None
    listings = []
    for offer in portal.offers(teams):
        for entry in offer.catalogues:
            for product in entry.products:
                if product.key == key:
                    found = product.product
                    listings.append((offer.team, entry))
    return found, listings


def product_page(portal: PortalApp, request: Request, user: UserClient, form: Form) -> Response:
    key = (request.path_params["namespace"], request.path_params["name"])
    teams = portal.teams(request, user)
    product, listings = _product_offers(portal, teams, key)
    if product is None:
        return portal.render(
            request,
            "message.html",
            404,
            heading="Not offered to your teams",
            message=f"No catalogue visible to your teams lists APIProduct {key[0]}/{key[1]}.",
        )
    documentation = product.spec.documentation
    has_openapi = documentation is not None and documentation.config_map_ref is not None
    return portal.render(request, "product.html", product=product, listings=listings, has_openapi=has_openapi)


def openapi_document(portal: PortalApp, request: Request, user: UserClient, form: Form) -> Response:
    key = (request.path_params["namespace"], request.path_params["name"])
    product, _ = _product_offers(portal, portal.teams(request, user), key)
    if product is None:
        return PlainTextResponse("not offered to your teams", status_code=404)
    text = portal.reader.openapi_document(product)
    if text is None:
        return PlainTextResponse("this product has no OpenAPI document", status_code=404)
    media = "application/json" if text.lstrip().startswith("{") else "application/yaml"
    return Response(text, media_type=media, headers={"Cache-Control": "no-store"})


def _mount_snippet(secret: str) -> str:
    return (
        "env:\n"
        "  - name: API_KEY\n"
        "    valueFrom:\n"
        f"      secretKeyRef: {{name: {secret}, key: api-key}}\n"
        "  - name: GATEWAY_URL\n"
        "    valueFrom:\n"
        f"      secretKeyRef: {{name: {secret}, key: gateway-url, optional: true}}"
    )


def apps_page(portal: PortalApp, request: Request, user: UserClient, form: Form) -> Response:
    teams = portal.teams(request, user)
    team = _team_param(request, teams)
    if team is None:
        return portal.render(request, "apps.html", teams=teams, team=None)
    now = _now()
    apps = sorted(user.apps(team.namespace), key=lambda a: a.name)
    rows = []
    for item in sorted(user.requests(team.namespace), key=lambda r: r.name):
        secret = item.status.secret_name or item.spec.secret_name or f"{item.name}-credentials"
        rows.append(
            {
                "request": item,
                "state": request_state(item, now),
                "secret": secret,
                "mount": _mount_snippet(secret),
                "events": user.events(team.namespace, item.name),
            }
        )
    offer = portal.offers([team])[0]
    choices = [
        {
            "value": "|".join(["/".join(entry.key), "/".join(product.key), "/".join(plan.key)]),
            "label": f"{product.product.spec.display_name} on {plan.plan.spec.display_name} "
            f"({plan.approval}) through {entry.catalogue.spec.display_name or entry.catalogue.name}",
        }
        for entry in offer.catalogues
        for product in entry.products
        for plan in entry.plans
    ]
    return portal.render(
        request,
        "apps.html",
        teams=teams,
        team=team,
        apps=apps,
        rows=rows,
        choices=choices,
        preselect=request.query_params.get("offer", ""),
    )


def _check_name(value: str, what: str) -> str:
    import re

    if not re.match(NAME_RE, value) or len(value) > 63:
        raise PortalError(f"{what} must be a lowercase DNS label (a-z, 0-9, '-'), at most 63 characters", 400)
    return value


def _requestable(portal: PortalApp, request: Request, user: UserClient) -> Team:
    namespace = request.path_params["namespace"]
    for team in portal.teams(request, user):
        if team.namespace == namespace:
            return team
    # Not one of the person's teams: try anyway, so the API server's refusal is what they see.
    return portal.reader.namespace(namespace)


def new_app(portal: PortalApp, request: Request, user: UserClient, form: Form) -> Response:
    team = _requestable(portal, request, user)
    name = _check_name(str(form.get("name") or "").strip(), "The app's name")
    display = str(form.get("displayName") or "").strip() or name
    spec: dict[str, Any] = {"displayName": display[:128]}
    if description := str(form.get("description") or "").strip():
        spec["description"] = description[:4096]
    if contact := str(form.get("contact") or "").strip():
        spec["owner"] = {"team": team.team[:128], "contact": contact[:256]}
    body = {
        "apiVersion": "apiportal.dev/v1alpha1",
        "kind": "ConsumerApp",
        "metadata": {"name": name},
        "spec": spec,
    }
    user.create(team.namespace, "consumerapps", body, f"create ConsumerApp {team.namespace}/{name}")
    portal.flash(request, "ok", f"ConsumerApp {name} created in {team.namespace}.")
    return RedirectResponse(f"/apps?team={quote(team.namespace)}", status_code=303)


def _split_key(text: str) -> tuple[str, str]:
    namespace, _, name = text.partition("/")
    return namespace, name


def create_request(portal: PortalApp, request: Request, user: UserClient, form: Form) -> Response:
    team = _requestable(portal, request, user)
    name = _check_name(str(form.get("name") or "").strip(), "The request's name")
    app = _check_name(str(form.get("app") or "").strip(), "The app")
    parts = str(form.get("offer") or "").split("|")
    if len(parts) != 3:
        raise PortalError("choose a product and plan from the list", 400)
    catalogue, product, plan = (_split_key(part) for part in parts)
    offer = portal.offers([team])[0]
    if find_offer(offer, catalogue, product, plan) is None:
        raise PortalError(
            f"namespace {team.namespace} may not request {product[0]}/{product[1]} on plan {plan[0]}/{plan[1]} "
            f"through catalogue {catalogue[0]}/{catalogue[1]}",
            400,
        )
    me = user.whoami()
    spec: dict[str, Any] = {
        "appRef": {"name": app},
        "catalogueRef": {"name": catalogue[1], "namespace": catalogue[0]},
        "products": [{"name": product[1], "namespace": product[0]}],
        "planRef": {"name": plan[1], "namespace": plan[0]},
    }
    if use_case := str(form.get("useCase") or "").strip():
        spec["useCase"] = use_case[:2048]
    body = {
        "apiVersion": "apiportal.dev/v1alpha1",
        "kind": "ProvisioningRequest",
        "metadata": {"name": name, "annotations": {REQUESTED_BY_ANNOTATION: me.username[:256]}},
        "spec": spec,
    }
    user.create(
        team.namespace, "provisioningrequests", body, f"create ProvisioningRequest {team.namespace}/{name}"
    )
    portal.flash(request, "ok", f"Access requested: ProvisioningRequest {name} in {team.namespace}.")
    return RedirectResponse(f"/apps?team={quote(team.namespace)}", status_code=303)


def rotate(portal: PortalApp, request: Request, user: UserClient, form: Form) -> Response:
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    user.rotate(namespace, name, _now())
    portal.flash(
        request,
        "ok",
        f"Rotation requested for {name}: the new key replaces api-key in the Secret; "
        "the previous one stays as api-key-previous for the overlap.",
    )
    return RedirectResponse(f"/apps?team={quote(namespace)}", status_code=303)


def _decidable_namespaces(portal: PortalApp, user: UserClient) -> list[str] | None:
    """None: the person may decide in every namespace; else the namespaces where they may."""
    if user.can("patch", "provisioningrequests", "", "status"):
        return None
    return [
        team.namespace
        for team in portal.reader.team_namespaces()
        if user.can("patch", "provisioningrequests", team.namespace, "status")
    ]


def _pending(portal: PortalApp, user: UserClient) -> list[ProvisioningRequest]:
    namespaces = _decidable_namespaces(portal, user)
    found: list[ProvisioningRequest] = []
    if namespaces is None:
        found = user.requests(None)
    else:
        for namespace in namespaces:
            found.extend(user.requests(namespace))
    return sorted(
        (r for r in found if r.status.approval is None and not r.metadata.get("deletionTimestamp")),
        key=lambda r: (r.namespace or "", r.name),
    )


def _request_summary(item: ProvisioningRequest) -> dict[str, Any]:
    home = item.namespace or ""
    plan = ref_key(item.spec.plan_ref, home)
    catalogue = ref_key(item.spec.catalogue_ref, home)
    return {
        "request": item,
        "products": [f"{ns}/{name}" for ns, name in (ref_key(p, home) for p in item.spec.products)],
        "plan": f"{plan[0]}/{plan[1]}",
        "catalogue": f"{catalogue[0]}/{catalogue[1]}",
        "requested_by": item.annotations.get(REQUESTED_BY_ANNOTATION, ""),
        "state": request_state(item, _now()),
    }


def approvals_page(portal: PortalApp, request: Request, user: UserClient, form: Form) -> Response:
    pending = [_request_summary(item) for item in _pending(portal, user)]
    return portal.render(request, "approvals.html", pending=pending)


def decide_page(portal: PortalApp, request: Request, user: UserClient, form: Form) -> Response:
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    item = user.request(namespace, name)
    return portal.render(request, "decide.html", item=_request_summary(item))


def decide(portal: PortalApp, request: Request, user: UserClient, form: Form) -> Response:
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    decision = {"approve": "Approved", "deny": "Denied"}.get(str(form.get("decision") or ""))
    reason = str(form.get("reason") or "").strip()
    if decision is None:
        raise PortalError("choose approve or deny", 400)
    if not reason or len(reason) > REASON_MAX:
        raise PortalError(f"give a reason (1 to {REASON_MAX} characters): the requester sees it", 400)
    me = user.whoami()
    user.decide(namespace, name, decision, reason, me.username, _now())
    portal.flash(
        request, "ok", f"ProvisioningRequest {namespace}/{name} {decision.lower()} by {me.username}."
    )
    return RedirectResponse("/approvals", status_code=303)


# ----- sign-in --------------------------------------------------------------------------------
def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/catalogue"
    return target


def _auth_routes(portal: PortalApp) -> list[Route]:
    identity = portal.identity

    async def login(request: Request) -> Response:
        if isinstance(identity, LocalIdentity):
            token = request.query_params.get("token", "")
            if token and identity.accept(request, token):
                return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
            return portal.render(
                request,
                "message.html",
                401,
                heading="Open the portal from its URL",
                message="Use the URL `kubectl portal ui` printed (it carries a one-time token).",
            )
        assert isinstance(identity, OIDCIdentity)
        request.session["next"] = _safe_next(request.query_params.get("next"))
        redirect_uri = identity.settings.redirect_uri or str(request.url_for("auth_callback"))
        response: Response = await identity.provider.authorize_redirect(request, redirect_uri)
        return response

    async def callback(request: Request) -> Response:
        assert isinstance(identity, OIDCIdentity)
        from authlib.integrations.base_client.errors import OAuthError

        try:
            token = await identity.provider.authorize_access_token(request)
        except OAuthError as error:
            return portal.render(
                request,
                "message.html",
                401,
                heading="Sign-in failed",
                message=f"The identity provider said: {error.error}",
                alert=True,
            )
        name = identity.remember(request, token)
        portal.forget_teams(request)
        logger.info("signed in: %s", name)
        return RedirectResponse(_safe_next(request.session.pop("next", None)), status_code=303)

    async def logout(request: Request) -> Response:
        portal.forget_teams(request)
        request.session.clear()
        return portal.render(request, "message.html", heading="Signed out", message="You are signed out.")

    return [
        Route("/login", login),
        Route("/auth/callback", callback, name="auth_callback"),
        Route("/logout", logout, methods=["GET", "POST"]),
    ]


class _Headers:
    """Security headers on every answer (no inline scripts, no framing, no referrer)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    portal: PortalApp, *, session_secret: str, secure_cookies: bool, session_max_age: int = 8 * 3600
) -> Starlette:
    """The ASGI application.

    Args:
        portal: Identity, catalogue reader and templates.
        session_secret: Key signing the session cookie.
        secure_cookies: Send the session cookie over HTTPS only (in the cluster behind TLS).
        session_max_age: Seconds a session cookie lives (an expired ID token ends it sooner).
    """

    def page(fn: Page) -> Callable[[Request], Awaitable[Response]]:
        return _page(portal, fn)

    async def home(request: Request) -> Response:
        return RedirectResponse("/catalogue", status_code=303)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/catalogue", page(catalogue_page)),
        Route("/products/{namespace}/{name}", page(product_page)),
        Route("/products/{namespace}/{name}/openapi", page(openapi_document)),
        Route("/apps", page(apps_page)),
        Route("/apps/{namespace}", page(new_app), methods=["POST"]),
        Route("/requests/{namespace}", page(create_request), methods=["POST"]),
        Route("/requests/{namespace}/{name}/rotate", page(rotate), methods=["POST"]),
        Route("/approvals", page(approvals_page)),
        Route("/approvals/{namespace}/{name}", page(decide_page)),
        Route("/approvals/{namespace}/{name}", page(decide), methods=["POST"]),
        *_auth_routes(portal),
        Mount("/static/swagger-ui", StaticFiles(directory=str(_swagger_ui_path())), name="swagger-ui"),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(_Headers),
        Middleware(
            SessionMiddleware,
            secret_key=session_secret,
            session_cookie="portal_session",
            max_age=session_max_age,
            same_site="lax",
            https_only=secure_cookies,
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.portal = portal
    return app


def dumps(value: Any) -> str:
    """JSON for templates' data attributes."""
    return json.dumps(value)
