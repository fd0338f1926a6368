"""Authentication, RBAC and the self-review APIs, as a kube-apiserver with anonymous access off does.

Each behaviour stated here is the real server's:

* no token or an unknown token: 401 with a `Status` whose message is `Unauthorized`;
* RBAC is additive; a RoleBinding grants only in its namespace, a ClusterRoleBinding everywhere;
  `resourceNames` never covers create or list; subresources are separate resources
  (`provisioningrequests/status`); an aggregated ClusterRole gets the rules of the roles it selects;
* a refusal is 403 `Forbidden` naming the user, verb, resource, API group and namespace;
* SelfSubjectAccessReview, SelfSubjectRulesReview and SelfSubjectReview answer for the caller;
* without authentication configured the emulator stays open (every request is a cluster admin).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.emulators.kube import KubeEmulator
from tests.emulators.kube.auth import Authentication, UserInfo

from .helpers import emulator_only

pytestmark = [pytest.mark.emulator, emulator_only]

ADMIN, ALICE, BOB = "admin-token", "alice-token", "bob-token"
TOKENS = {
    ADMIN: UserInfo("admin", ("system:masters",)),
    ALICE: UserInfo("alice@example.com", ("team-a-devs",)),
    BOB: UserInfo("bob@example.com", ("approvers",)),
}
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def emulator() -> Iterator[KubeEmulator]:
    with KubeEmulator(authentication=Authentication(tokens=TOKENS)) as emu:
        yield emu


def _api(emulator: KubeEmulator, tmp_path: Path, token: str | None) -> client.ApiClient:
    path = emulator.write_kubeconfig(tmp_path / f"kubeconfig-{token}", token=token or "")
    api = config.new_client_from_config(config_file=str(path))
    if token is None:
        api.configuration.api_key = {}
    return api


@pytest.fixture(scope="module")
def admin(emulator: KubeEmulator, tmp_path_factory: pytest.TempPathFactory) -> client.ApiClient:
    api = _api(emulator, tmp_path_factory.mktemp("admin"), ADMIN)
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    for name in ("team-a", "team-b"):
        core.create_namespace({"metadata": {"name": name}})
    rbac.create_cluster_role(
        {
            "metadata": {"name": "configmap-editor", "labels": {"aggregate-to-team": "true"}},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create"]}],
        }
    )
    rbac.create_cluster_role(
        {
            "metadata": {"name": "team"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"aggregate-to-team": "true"}}]},
            "rules": [],
        }
    )
    rbac.create_namespaced_role_binding(
        "team-a",
        {
            "metadata": {"name": "team-a-devs"},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": "team-a-devs"}],
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "team"},
        },
    )
    rbac.create_namespaced_role(
        "team-b",
        {
            "metadata": {"name": "one-secret"},
            "rules": [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["s1"]}
            ],
        },
    )
    rbac.create_namespaced_role_binding(
        "team-b",
        {
            "metadata": {"name": "bob-one-secret"},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "bob@example.com"}],
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "one-secret"},
        },
    )
    rbac.create_cluster_role(
        {
            "metadata": {"name": "status-patcher"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces/status"], "verbs": ["patch"]}],
        }
    )
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": "approvers"},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": "approvers"}],
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "status-patcher"},
        }
    )
    return api


def _body(exc: ApiException) -> dict[str, object]:
    body: dict[str, object] = json.loads(exc.body)
    return body


def test_requests_without_a_valid_token_are_unauthorized(
    emulator: KubeEmulator, admin: client.ApiClient, tmp_path: Path
) -> None:
    for token in (None, "not-a-token"):
        with pytest.raises(ApiException) as caught:
            client.CoreV1Api(_api(emulator, tmp_path, token)).list_namespace()
        assert caught.value.status == 401
        assert _body(caught.value)["message"] == "Unauthorized"


def test_rolebinding_grants_only_in_its_namespace_through_an_aggregated_role(
    emulator: KubeEmulator, admin: client.ApiClient, tmp_path: Path
) -> None:
    alice = client.CoreV1Api(_api(emulator, tmp_path, ALICE))
    alice.create_namespaced_config_map("team-a", {"metadata": {"name": "c1"}})
    assert [c.metadata.name for c in alice.list_namespaced_config_map("team-a").items] == ["c1"]
    with pytest.raises(ApiException) as caught:
        alice.list_namespaced_config_map("team-b")
    assert caught.value.status == 403
    body = _body(caught.value)
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        'configmaps is forbidden: User "alice@example.com" cannot list resource "configmaps" '
        'in API group "" in the namespace "team-b"'
    )
    with pytest.raises(ApiException) as caught:
        alice.delete_namespaced_config_map("c1", "team-a")
    assert caught.value.status == 403


def test_resource_names_and_subresources(
    emulator: KubeEmulator, admin: client.ApiClient, tmp_path: Path
) -> None:
    client.CoreV1Api(admin).create_namespaced_secret("team-b", {"metadata": {"name": "s1"}})
    bob = client.CoreV1Api(_api(emulator, tmp_path, BOB))
    assert bob.read_namespaced_secret("s1", "team-b").metadata.name == "s1"
    with pytest.raises(ApiException) as caught:
        bob.list_namespaced_secret("team-b")  # resourceNames never covers list
    assert caught.value.status == 403
    with pytest.raises(ApiException) as caught:
        bob.patch_namespace("team-a", {"metadata": {"labels": {"x": "y"}}})  # only the status subresource
    assert caught.value.status == 403
    assert 'cannot patch resource "namespaces"' in str(_body(caught.value)["message"])
    bob.patch_namespace_status("team-a", {"metadata": {"labels": {"x": "y"}}})


def test_self_reviews_answer_for_the_caller(
    emulator: KubeEmulator, admin: client.ApiClient, tmp_path: Path
) -> None:
    api = _api(emulator, tmp_path, ALICE)
    review = client.AuthenticationV1Api(api).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    assert review.status.user_info.username == "alice@example.com"
    assert review.status.user_info.groups == ["team-a-devs", "system:authenticated"]
    authz = client.AuthorizationV1Api(api)

    def can(verb: str, namespace: str) -> bool:
        answer = authz.create_self_subject_access_review(
            {"spec": {"resourceAttributes": {"verb": verb, "resource": "configmaps", "namespace": namespace}}}
        )
        return bool(answer.status.allowed)

    assert can("create", "team-a")
    assert not can("create", "team-b")
    assert not can("delete", "team-a")
    rules = authz.create_self_subject_rules_review({"spec": {"namespace": "team-a"}}).status.resource_rules
    assert any("configmaps" in r.resources and "create" in r.verbs for r in rules)


def test_without_authentication_the_emulator_stays_open(tmp_path: Path) -> None:
    with KubeEmulator() as emu:
        api = config.new_client_from_config(config_file=str(emu.write_kubeconfig(tmp_path / "kc")))
        client.CoreV1Api(api).create_namespace({"metadata": {"name": "open"}})
        review = client.AuthenticationV1Api(api).create_self_subject_review(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
        assert "system:masters" in review.status.user_info.groups
