"""The Live Portal in the sandbox: a mock OpenID provider, identities with RBAC, and the portal.

The Kubernetes API emulator runs with authentication on: it trusts the mock provider's ID tokens
(as a cluster configured with `--oidc-issuer-url` does) and authorizes with RBAC. Two people can
sign in from the provider's page with one click:

* `dev@mobile.example` (group `team-mobile-devs`): `apiportal-consumer` in team-mobile;
* `approver@acme.example` (group `api-approvers`): `apiportal-approver` in every namespace.

The portal reads the catalogue as its own ServiceAccount (read-only: catalogues, products, plans,
namespaces, and the one ConfigMap holding the orders product's OpenAPI document).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tests.emulators.kube.auth import Authentication, OIDCIssuer, UserInfo
from tests.integration.cluster import Cluster

__all__ = [
    "ADMIN_TOKEN",
    "APPROVER",
    "CONSUMER",
    "CONSUMER_GROUP",
    "OPENAPI_CONFIGMAP",
    "PORTAL_CLIENT_ID",
    "PORTAL_READER",
    "PORTAL_READER_TOKEN",
    "PortalSandbox",
    "authentication",
    "oidc_provider",
    "setup_portal_objects",
    "start_portal",
]

# The kubeconfig the emulator writes carries this token: the operator and the sandbox act as admin.
ADMIN_TOKEN = "emulator-token"
PORTAL_READER_TOKEN = "sandbox-portal-reader-token"  # not a secret: an in-memory emulator on 127.0.0.1
PORTAL_READER = "system:serviceaccount:tyk-portal-system:tyk-portal-portal"
PORTAL_CLIENT_ID = "tyk-portal"
CONSUMER, CONSUMER_GROUP = "dev@mobile.example", "team-mobile-devs"
APPROVER, APPROVER_GROUP = "approver@acme.example", "api-approvers"
OPENAPI_CONFIGMAP = "orders-openapi"
RBAC = "rbac.authorization.k8s.io"

ORDERS_OPENAPI = """\
openapi: 3.0.3
info:
  title: Orders API
  version: 1.0.0
  description: Read and place customer orders.
paths:
  /orders/:
    get:
      summary: List orders
      responses:
        "200": {description: The orders}
    post:
      summary: Place an order
      responses:
        "201": {description: Created}
  /orders/{id}:
    get:
      summary: Get one order
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: The order}
"""


@contextlib.contextmanager
def oidc_provider() -> Iterator[str]:
    """A mock OpenID provider with the two sandbox people; yields its issuer URL."""
    import oidc_provider_mock

    users = [
        oidc_provider_mock.User(sub=CONSUMER, claims={"email": CONSUMER, "groups": [CONSUMER_GROUP]}),
        oidc_provider_mock.User(sub=APPROVER, claims={"email": APPROVER, "groups": [APPROVER_GROUP]}),
    ]
    with oidc_provider_mock.run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


def authentication(issuer: str) -> Authentication:
    """The emulator's authentication: the admin token, the portal's reader token, the issuer."""
    return Authentication(
        tokens={
            ADMIN_TOKEN: UserInfo("sandbox-admin", ("system:masters",)),
            PORTAL_READER_TOKEN: UserInfo(PORTAL_READER, ("system:serviceaccounts",)),
        },
        oidc=OIDCIssuer(issuer=issuer, client_id=PORTAL_CLIENT_ID),
    )


def _rules(*rules: tuple[list[str], list[str], list[str]]) -> list[dict[str, Any]]:
    return [{"apiGroups": g, "resources": r, "verbs": v} for g, r, v in rules]


READ = ["get", "list", "watch"]
WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]
# The chart's persona ClusterRoles (deploy/helm/.../templates/rbac/personas.yaml), as the sandbox needs them.
CLUSTER_ROLES: dict[str, list[dict[str, Any]]] = {
    "apiportal-consumer": _rules(
        (["apiportal.dev"], ["consumerapps", "provisioningrequests"], WRITE),
        (["apiportal.dev"], ["catalogues", "apiproducts", "plans"], READ),
    ),
    "apiportal-approver": _rules(
        (["apiportal.dev"], ["provisioningrequests"], READ),
        (["apiportal.dev"], ["provisioningrequests/status"], ["patch", "update"]),
    ),
    # The chart's portal ClusterRole (templates/portal/rbac.yaml).
    "tyk-portal-portal-catalogue-reader": _rules(
        (["apiportal.dev"], ["catalogues", "apiproducts", "plans"], READ),
        ([""], ["namespaces"], READ),
    ),
    "sandbox-event-reader": _rules(([""], ["events"], READ)),
}


def _subject(kind: str, name: str) -> dict[str, str]:
    if kind == "ServiceAccount":
        _, _, namespace, sa = name.split(":")
        return {"kind": kind, "name": sa, "namespace": namespace}
    return {"apiGroup": RBAC, "kind": kind, "name": name}


def grant(cluster: Cluster, namespace: str | None, role: str, kind: str, subject: str, name: str) -> None:
    """Bind a ClusterRole (in a namespace, or cluster-wide) to a user, group or ServiceAccount."""
    from kubernetes.client import RbacAuthorizationV1Api
    from kubernetes.client.exceptions import ApiException

    rbac = RbacAuthorizationV1Api(cluster.api_client)
    body = {
        "metadata": {"name": name},
        "subjects": [_subject(kind, subject)],
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
    }
    try:
        if namespace is None:
            rbac.create_cluster_role_binding(body)
        else:
            rbac.create_namespaced_role_binding(namespace, body)
    except ApiException as exc:
        if exc.status != 409:
            raise


def setup_portal_objects(cluster: Cluster) -> None:
    """RBAC for the two people and the portal, and the orders product's OpenAPI document."""
    from kubernetes.client import RbacAuthorizationV1Api
    from kubernetes.client.exceptions import ApiException

    rbac = RbacAuthorizationV1Api(cluster.api_client)
    for name, rules in CLUSTER_ROLES.items():
        with contextlib.suppress(ApiException):
            rbac.create_cluster_role({"metadata": {"name": name}, "rules": rules})
    grant(cluster, "team-mobile", "apiportal-consumer", "Group", CONSUMER_GROUP, "team-mobile-devs")
    grant(cluster, "team-mobile", "sandbox-event-reader", "Group", CONSUMER_GROUP, "team-mobile-devs-events")
    grant(cluster, None, "apiportal-approver", "Group", APPROVER_GROUP, "api-approvers")
    grant(
        cluster, None, "tyk-portal-portal-catalogue-reader", "ServiceAccount", PORTAL_READER, "portal-reader"
    )
    with contextlib.suppress(ApiException):
        rbac.create_namespaced_role(
            "shop",
            {
                "metadata": {"name": "portal-documentation"},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["configmaps"],
                        "verbs": ["get"],
                        "resourceNames": [OPENAPI_CONFIGMAP],
                    }
                ],
            },
        )
    with contextlib.suppress(ApiException):
        rbac.create_namespaced_role_binding(
            "shop",
            {
                "metadata": {"name": "portal-documentation"},
                "subjects": [_subject("ServiceAccount", PORTAL_READER)],
                "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "portal-documentation"},
            },
        )
    with contextlib.suppress(ApiException):
        cluster.core.create_namespaced_config_map(
            "shop", {"metadata": {"name": OPENAPI_CONFIGMAP}, "data": {"openapi.yaml": ORDERS_OPENAPI}}
        )
    cluster.patch(
        "apiproducts",
        "orders",
        {"spec": {"documentation": {"configMapRef": {"name": OPENAPI_CONFIGMAP, "key": "openapi.yaml"}}}},
        "shop",
    )


@dataclass
class PortalSandbox:
    """The running portal and how to reach it."""

    url: str
    issuer: str
    running: Any

    def stop(self) -> None:
        self.running.stop()


def start_portal(kube_url: str, issuer: str, env: Mapping[str, str] | None = None) -> PortalSandbox:
    """Serve the in-cluster portal (OIDC sign-in) against the emulator, on 127.0.0.1."""
    from tyk_portal_operator.portal.identity import OIDCIdentity, OIDCSettings, bearer_client
    from tyk_portal_operator.portal.kube import CatalogueReader
    from tyk_portal_operator.portal.server import serve_in_thread
    from tyk_portal_operator.portal.web import PortalApp, create_app

    settings = OIDCSettings(
        issuer=issuer,
        client_id=PORTAL_CLIENT_ID,
        client_secret="sandbox-client-secret",
        kube_host=kube_url,
        kube_verify_ssl=False,
    )
    reader = CatalogueReader(bearer_client(kube_url, PORTAL_READER_TOKEN, None, False), ttl=0.5)
    portal = PortalApp(
        identity=OIDCIdentity(settings), reader=reader, title="ACME API portal (sandbox)", teams_ttl=1.0
    )
    app = create_app(portal, session_secret="sandbox-session-secret", secure_cookies=False)
    running = serve_in_thread(app, "127.0.0.1", 0)
    return PortalSandbox(running.url, issuer, running)
