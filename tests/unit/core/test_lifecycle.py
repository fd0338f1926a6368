"""The credential lifecycle as a pure plan: each rule of core/lifecycle.py, and sequences of
reconciles against an in-memory Secret and Tyk in which any step can fail."""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tyk_portal_operator.core.conditions import Reason
from tyk_portal_operator.core.credential_types import AuthToken, TykRef
from tyk_portal_operator.core.credentials import META_REQUEST_UID, format_time, render_secret
from tyk_portal_operator.core.lifecycle import (
    CreateInTyk,
    CredentialPlan,
    DeleteInTyk,
    EnsureFinalizer,
    LifecycleInputs,
    RevokeLost,
    UpdateInTyk,
    WriteSecret,
    next_due,
    plan_credential,
    plan_revocation,
    read_record,
    refs_to_observe,
)
from tyk_portal_operator.core.policies import ProviderConfig
from tyk_portal_operator.models import ProvisioningRequest

UTC = datetime.UTC
T0 = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
UID = "uid-r1"
AUTH = AuthToken()
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


class Failed(Exception):
    """A simulated failure of one call (a Tyk 503, a Secret write conflict)."""


class World:
    """One request, its Secret and the Tyk keys, and a reconcile that plans and executes like the
    services do: actions in order, stop at the first failure, status written only after success."""

    def __init__(
        self,
        *,
        key_expiry: int | None = None,
        renew_before: int | None = None,
        hashing: bool = True,
        listable: bool = True,
        spec: dict[str, Any] | None = None,
    ) -> None:
        self.key_expiry = key_expiry
        self.renew_before = renew_before
        self.hashing = hashing
        self.listable = listable
        self.spec: dict[str, Any] = dict(spec or {})
        self.annotations: dict[str, str] = {}
        self.status: dict[str, Any] = {}
        self.reason: str | None = None
        self.secret: dict[str, Any] | None = None
        self.secret_version = 0
        self.tyk: dict[str, dict[str, Any]] = {}
        self.now = T0
        self.fail: set[str] = set()  # "create", "delete", "secret": fail the next such call
        self.fail_always: set[str] = set()
        self.events: list[tuple[str, str, str]] = []
        self.deleted: list[str] = []
        self._counter = 0

    # -- the request as the services see it ------------------------------------------------------
    def request(self) -> ProvisioningRequest:
        conditions = (
            [{"type": "Ready", "status": "True", "reason": self.reason, "lastTransitionTime": "x"}]
            if self.reason
            else []
        )
        return ProvisioningRequest.model_validate(
            {
                "metadata": {
                    "name": "orders-access",
                    "namespace": "team-a",
                    "uid": UID,
                    "annotations": dict(self.annotations),
                },
                "spec": {
                    "appRef": {"name": "mobile"},
                    "catalogueRef": {"name": "shop", "namespace": "apis"},
                    "products": [{"name": "orders", "namespace": "apis"}],
                    "planRef": {"name": "gold", "namespace": "apis"},
                    **self.spec,
                },
                "status": {**self.status, "conditions": conditions},
            }
        )

    def entropy(self, size: int) -> bytes:
        self._counter += 1
        return hashlib.sha256(f"entropy-{self._counter}".encode()).digest()[:size]

    def inputs(self) -> LifecycleInputs:
        record = read_record(self.secret, UID, AUTH)
        observed: dict[TykRef, dict[str, Any] | None] = {}
        while wanted := refs_to_observe(record, AUTH, observed):  # as services/credentials.py does
            observed.update({ref: self.tyk.get(ref.id) for ref in wanted})
        return LifecycleInputs(
            request=self.request(),
            app=None,
            credential_type=AUTH,
            products=("apis/orders",),
            plan_ref="apis/gold",
            policy_ids=("p.orders", "p.gold"),
            key_expiry=self.key_expiry,
            renew_before=self.renew_before,
            provider=ProviderConfig(name="tyk", org_id="org1", gateway_url="https://gw.example.com"),
            secret_name="orders-access-credentials",
            secret=record,
            observed=observed,
            now=self.now,
        )

    def plan(self) -> CredentialPlan:
        return plan_credential(self.inputs(), self.entropy)

    # -- executing a plan ------------------------------------------------------------------------
    def _failing(self, what: str) -> None:
        if what in self.fail_always:
            raise Failed(what)
        if what in self.fail:
            self.fail.discard(what)
            raise Failed(what)

    def hash_of(self, key: str) -> str:
        return hashlib.sha256(b"tyk" + key.encode()).hexdigest()[:16]

    def reconcile(self) -> CredentialPlan:
        plan = self.plan()
        if plan.stalled:
            self.reason = plan.outcome.reason
            return plan
        created: dict[TykRef, str | None] = {}
        for action in plan.actions:
            if isinstance(action, WriteSecret):
                self._failing("secret")
                if action.resource_version is None:
                    assert self.secret is None, "create of a Secret that exists"
                else:
                    assert self.secret is not None
                    assert action.resource_version == self.secret["metadata"]["resourceVersion"]
                self.secret_version += 1
                manifest = dict(action.manifest)
                manifest["metadata"] = {**manifest["metadata"], "resourceVersion": str(self.secret_version)}
                self.secret = manifest
            elif isinstance(action, CreateInTyk):
                self._failing("create")
                assert action.obj.ref.id not in self.tyk, "create of a key Tyk holds"
                self.tyk[action.obj.ref.id] = dict(action.obj.body)
                created[action.obj.ref] = self.hash_of(action.obj.ref.id) if self.hashing else None
            elif isinstance(action, UpdateInTyk):
                self._failing("create")
                self.tyk[action.obj.ref.id] = dict(action.body)
            elif isinstance(action, DeleteInTyk):
                self._failing("delete")
                self.tyk.pop(action.ref.id, None)
                self.deleted.append(action.ref.id)
            elif isinstance(action, RevokeLost):  # as services/credentials.py carries it out
                self._failing("delete")
                if self.listable:
                    lost = [k for k, s in self.tyk.items() if s["meta_data"][META_REQUEST_UID] == UID]
                else:
                    lost = [k for k in self.tyk if self.hash_of(k) in action.key_hashes]
                for key in lost:
                    del self.tyk[key]
                    self.deleted.append(key)
            else:
                assert isinstance(action, EnsureFinalizer)
        self.status.update(plan.status_fields(created))
        self.reason = plan.outcome.reason
        self.events += plan.events
        return plan

    def try_reconcile(self) -> CredentialPlan | None:
        try:
            return self.reconcile()
        except Failed:
            return None

    # -- reading the Secret ----------------------------------------------------------------------
    def data(self, name: str) -> str | None:
        value = ((self.secret or {}).get("data") or {}).get(name)
        return base64.b64decode(value).decode() if value else None

    def annotation(self, name: str) -> str | None:
        return ((self.secret or {}).get("metadata") or {}).get("annotations", {}).get(name)

    @property
    def key(self) -> str | None:
        return self.data("api-key")

    @property
    def previous(self) -> str | None:
        return self.data("api-key-previous")

    def rotate(self, token: str) -> None:
        self.annotations["apiportal.dev/rotate"] = token


def issued(**kwargs: Any) -> World:
    world = World(**kwargs)
    world.reconcile()
    assert world.reason == "CredentialIssued"
    return world


# ----- issuance -------------------------------------------------------------------------------------


def test_first_issue_writes_the_secret_then_tyk() -> None:
    world = World()
    plan = world.plan()
    kinds = [type(action) for action in plan.actions]
    assert kinds == [WriteSecret, EnsureFinalizer, CreateInTyk]  # rule 1: material first
    write = plan.actions[0]
    assert isinstance(write, WriteSecret) and write.resource_version is None
    world.reconcile()
    key = world.key
    assert key and len(key) == 64 and set(world.tyk) == {key}
    assert world.tyk[key]["apply_policies"] == ["p.orders", "p.gold"]
    assert world.status["keyHash"] == world.hash_of(key)
    assert world.status["keyFingerprint"] == hashlib.sha256(key.encode()).hexdigest()[:12]
    assert world.annotation("apiportal.dev/issued-at") == format_time(T0)
    assert [e[1] for e in world.events] == ["CredentialIssued"]
    # The key never appears in status, events or the plan's repr.
    assert key not in repr(world.status) and key not in repr(world.events) and key not in repr(plan)


def test_steady_state_plans_no_writes() -> None:
    world = issued(key_expiry=90 * 86400)
    version = world.secret_version
    for hours in (1, 5, 24):
        world.now = T0 + datetime.timedelta(hours=hours)
        plan = world.reconcile()
        assert plan.actions == (EnsureFinalizer(),)
        assert plan.events == ()
    assert world.secret_version == version


def test_a_tyk_failure_after_the_secret_write_is_finished_by_the_retry() -> None:
    world = World()
    world.fail.add("create")
    assert world.try_reconcile() is None
    written = world.key
    assert written and world.tyk == {}
    plan = world.reconcile()
    assert world.key == written and set(world.tyk) == {written}  # exactly the key in the Secret
    assert [e[1] for e in plan.events] == ["CredentialIssued"]


def test_a_key_deleted_in_tyk_is_restored_from_the_secret() -> None:
    world = issued()
    key = world.key
    assert key
    del world.tyk[key]
    plan = world.reconcile()
    assert [type(a) for a in plan.actions] == [EnsureFinalizer, CreateInTyk]
    assert set(world.tyk) == {key}
    assert [e[1] for e in plan.events] == ["KeyRestored"]


def test_drifted_session_is_updated() -> None:
    world = issued()
    key = world.key
    assert key
    world.tyk[key]["apply_policies"] = ["p.orders"]
    plan = world.reconcile()
    update = plan.actions[-1]
    assert isinstance(update, UpdateInTyk) and update.changes == ("apply_policies",)
    assert world.tyk[key]["apply_policies"] == ["p.orders", "p.gold"]


def test_a_secret_of_someone_else_is_never_touched() -> None:
    world = World()
    world.secret = {"metadata": {"name": "orders-access-credentials", "resourceVersion": "1"}, "data": {}}
    plan = world.plan()
    assert plan.stalled and plan.actions == ()
    assert plan.outcome.reason is Reason.SECRET_CONFLICT


def test_suspension_expires_the_key_in_the_past() -> None:
    world = issued(key_expiry=3600)
    key = str(world.key)
    world.spec["suspended"] = True
    plan = world.reconcile()
    assert world.tyk[key]["expires"] == 1 and world.reason == "Suspended"
    assert [e[1] for e in plan.events] == ["Suspended"]
    world.spec["suspended"] = False
    world.reconcile()
    assert world.tyk[key]["expires"] == int((T0 + HOUR).timestamp()) and world.reason == "CredentialIssued"


def test_suspending_during_an_overlap_revokes_the_previous_key_at_once() -> None:
    world = issued(spec={"rotation": {"overlap": "2h"}})
    first = str(world.key)
    world.rotate("t1")
    world.reconcile()
    second = str(world.key)
    assert world.previous == first and first in world.tyk
    world.spec["suspended"] = True
    plan = world.reconcile()
    # Tyk first, then the Secret: the previous key never leaves the Secret while Tyk still has it.
    assert [type(a) for a in plan.actions][:2] == [DeleteInTyk, WriteSecret]
    assert first not in world.tyk and world.previous is None
    assert world.tyk[second]["expires"] == 1 and world.reason == "Suspended"
    assert world.status["previousKeyExpiresAt"] is None


# ----- rotation -------------------------------------------------------------------------------------


def test_rotation_keeps_the_previous_key_for_the_overlap() -> None:
    world = issued(spec={"rotation": {"overlap": "2h"}})
    first = world.key
    world.rotate("t1")
    world.now = T0 + HOUR
    plan = world.reconcile()
    assert [type(a) for a in plan.actions] == [WriteSecret, EnsureFinalizer, CreateInTyk]
    second = world.key
    assert second != first and world.previous == first
    assert set(world.tyk) == {first, second}
    assert world.annotation("apiportal.dev/previous-key-expires-at") == format_time(T0 + 3 * HOUR)
    assert world.annotation("apiportal.dev/rotate-token") == "t1"
    assert world.status["previousKeyHash"] == world.hash_of(str(first))
    assert world.status["keyHash"] == world.hash_of(str(second))
    # Before the overlap ends nothing is revoked; after it, Tyk first, then the Secret (rule 2).
    world.now = T0 + 3 * HOUR - datetime.timedelta(seconds=1)
    assert world.reconcile().actions == (EnsureFinalizer(),)
    world.now = T0 + 3 * HOUR
    plan = world.reconcile()
    assert [type(a) for a in plan.actions] == [DeleteInTyk, WriteSecret, EnsureFinalizer]
    assert set(world.tyk) == {second} and world.previous is None
    assert world.status["previousKeyHash"] is None


def test_tyk_failing_mid_rotation_never_revokes_the_key_in_use() -> None:
    """The defect: a retry saw the rotation as due again and deleted the key workloads were using."""
    world = issued(spec={"rotation": {"overlap": "1h"}})
    in_use = world.key
    world.rotate("t1")
    world.fail_always.add("create")  # Tyk answers 503 to every key create
    for minutes in range(0, 180, 10):  # retries for three hours, past the overlap
        world.now = T0 + datetime.timedelta(minutes=minutes)
        assert world.try_reconcile() is None
        assert in_use in world.tyk
        assert world.previous == in_use  # api-key-previous: a key Tyk has
    new = world.key
    assert new != in_use and new not in world.tyk
    world.fail_always.clear()
    recovered = T0 + 3 * HOUR
    world.now = recovered
    plan = world.reconcile()
    assert world.key == new and set(world.tyk) == {in_use, new}  # the same new key; no third one
    # Rule 3: the overlap restarts once the new key is live; the Secret is written after Tyk.
    assert [type(a) for a in plan.actions] == [EnsureFinalizer, CreateInTyk, WriteSecret]
    assert world.annotation("apiportal.dev/previous-key-expires-at") == format_time(recovered + HOUR)
    assert [e[1] for e in plan.events] == ["Rotated"]
    world.now = recovered + HOUR
    world.reconcile()
    assert set(world.tyk) == {new}


def test_a_burst_of_rotations_waits_for_the_overlap() -> None:
    world = issued(spec={"rotation": {"overlap": "1h"}})
    first = world.key
    world.rotate("t1")
    world.reconcile()
    second = world.key
    for index, token in enumerate(("t2", "t3", "t4"), start=1):
        world.rotate(token)
        world.now = T0 + datetime.timedelta(minutes=index)
        plan = world.reconcile()
        assert plan.actions == (EnsureFinalizer(),)  # rule 4: nothing revoked, no new key
        assert world.key == second and world.previous == first and first in world.tyk
        assert f"apiportal.dev/rotate={token}" in plan.outcome.message
    assert world.status["handledRotateToken"] == "t1"
    assert world.status["nextRotationTime"] == world.status["previousKeyExpiresAt"] == format_time(T0 + HOUR)
    assert next_due(world.status, "CredentialIssued") == T0 + HOUR
    world.now = T0 + HOUR
    plan = world.reconcile()
    # The overlap ended: the first key goes, the pending rotation happens, the second key overlaps.
    assert [type(a) for a in plan.actions] == [DeleteInTyk, WriteSecret, EnsureFinalizer, CreateInTyk]
    third = world.key
    assert third not in (first, second) and world.previous == second
    assert set(world.tyk) == {second, third}
    assert world.status["handledRotateToken"] == "t4"


def test_interval_rotation_counts_from_the_current_key() -> None:
    world = issued(spec={"rotation": {"interval": "1d", "overlap": "1h"}})
    first = world.key
    assert world.status["nextRotationTime"] == format_time(T0 + DAY)
    world.now = T0 + DAY
    world.reconcile()
    assert world.previous == first
    assert world.status["lastRotationTime"] == format_time(T0 + DAY)
    assert world.status["nextRotationTime"] == format_time(T0 + 2 * DAY)


def test_rotating_a_key_tyk_does_not_hold_keeps_no_previous() -> None:
    world = issued()
    lost = world.key
    assert lost
    del world.tyk[lost]
    world.rotate("t1")
    plan = world.reconcile()
    assert world.previous is None and set(world.tyk) == {world.key}  # rule 5
    assert "Tyk did not hold the previous one" in plan.events[0][2]


# ----- expiry and renewal ---------------------------------------------------------------------------


def test_renewal_before_expiry_like_cert_manager() -> None:
    world = issued(key_expiry=90 * 86400, renew_before=30 * 86400)
    first = world.key
    assert first and world.tyk[first]["expires"] == int((T0 + 90 * DAY).timestamp())
    assert world.status["expiresAt"] == format_time(T0 + 90 * DAY)
    assert world.status["renewalTime"] == format_time(T0 + 60 * DAY)
    assert world.status["nextRotationTime"] == format_time(T0 + 60 * DAY)
    assert world.annotation("apiportal.dev/expires-at") == format_time(T0 + 90 * DAY)
    world.now = T0 + 60 * DAY
    plan = world.reconcile()
    second = world.key
    assert second != first and world.previous == first
    assert world.tyk[str(second)]["expires"] == int((T0 + 150 * DAY).timestamp())
    assert world.status["expiresAt"] == format_time(T0 + 150 * DAY)
    assert "Renewed" in plan.events[0][2]


def test_a_rotation_renews_the_expiry() -> None:
    world = issued(key_expiry=90 * 86400, renew_before=30 * 86400)
    world.now = T0 + 10 * DAY
    world.rotate("t1")
    world.reconcile()
    assert world.status["expiresAt"] == format_time(T0 + 100 * DAY)
    assert world.tyk[str(world.key)]["expires"] == int((T0 + 100 * DAY).timestamp())


def test_without_automatic_renewal_an_expired_credential_is_expired_until_rotated() -> None:
    world = issued(key_expiry=3600, renew_before=None)
    first = world.key
    assert world.status["renewalTime"] is None and world.status["nextRotationTime"] is None
    assert next_due(world.status, "CredentialIssued") == T0 + HOUR  # looked at again at expiry
    world.now = T0 + HOUR
    plan = world.reconcile()
    assert plan.outcome.reason is Reason.EXPIRED and plan.actions == (EnsureFinalizer(),)
    assert "kubectl portal rotate orders-access -n team-a" in plan.outcome.message
    assert [(e[0], e[1]) for e in plan.events] == [("Warning", "Expired")]
    assert next_due(world.status, "Expired") is None  # nothing to do until someone rotates
    assert world.reconcile().events == ()  # the Event is posted once
    world.now = T0 + 2 * HOUR
    world.rotate("renew")
    plan = world.reconcile()
    assert plan.outcome.reason is Reason.CREDENTIAL_ISSUED
    # Rule 5: the expired key is deleted from Tyk before it leaves the Secret; no previous.
    assert [type(a) for a in plan.actions] == [DeleteInTyk, WriteSecret, EnsureFinalizer, CreateInTyk]
    assert world.previous is None and set(world.tyk) == {world.key} and first not in world.tyk
    assert world.status["expiresAt"] == format_time(T0 + 3 * HOUR)


def test_an_expired_credential_is_renewed_automatically_when_the_plan_renews() -> None:
    world = issued(key_expiry=3600, renew_before=1200)
    world.now = T0 + 2 * HOUR  # the operator was away past the expiry
    plan = world.reconcile()
    assert plan.outcome.reason is Reason.CREDENTIAL_ISSUED
    assert world.previous is None  # an expired key is not kept as previous


# ----- a lost Secret --------------------------------------------------------------------------------


def test_lost_secret_on_a_tyk_that_cannot_list_keys_revokes_by_hash_first() -> None:
    world = issued(listable=False, spec={"rotation": {"overlap": "1h"}})
    world.rotate("t1")
    world.reconcile()
    lost = {str(world.key), str(world.previous)}
    world.secret = None
    plan = world.reconcile()
    revoke = plan.actions[0]
    assert isinstance(revoke, RevokeLost)
    assert set(revoke.key_hashes) == {world.hash_of(k) for k in lost}
    assert isinstance(plan.actions[1], WriteSecret)  # rule 6: revoked before a new one is issued
    assert set(world.tyk) == {world.key} and not lost & set(world.tyk)
    assert [e[1] for e in plan.events] == ["SecretRestored"]


def test_lost_secret_on_a_tyk_without_hashing_is_found_by_its_mark() -> None:
    world = issued(hashing=False)
    lost = world.key
    assert world.status["keyHash"] is None  # nothing to revoke by
    world.secret = None
    plan = world.reconcile()
    assert plan.actions[0] == RevokeLost(UID, ())
    assert lost not in world.tyk and set(world.tyk) == {world.key}


def test_a_failed_revocation_of_a_lost_key_issues_nothing() -> None:
    world = issued()
    lost = world.key
    world.secret = None
    world.fail.add("delete")
    assert world.try_reconcile() is None
    assert world.secret is None and set(world.tyk) == {lost}  # still exactly one credential


# ----- revocation and scheduling --------------------------------------------------------------------


def test_revocation_deletes_what_the_secret_holds_else_the_lost_keys() -> None:
    world = issued(spec={"rotation": {"overlap": "1h"}})
    world.rotate("t1")
    world.reconcile()
    request = world.request()
    record = read_record(world.secret, UID, AUTH)
    refs = {a.ref.id for a in plan_revocation(request, AUTH, record) if isinstance(a, DeleteInTyk)}
    assert refs == {world.key, world.previous}
    gone = plan_revocation(request, AUTH, read_record(None, UID, AUTH))
    assert len(gone) == 1 and isinstance(gone[0], RevokeLost) and len(gone[0].key_hashes) == 2
    never = World().request()
    assert plan_revocation(never, AUTH, read_record(None, UID, AUTH)) == ()


def test_next_due() -> None:
    status = {
        "nextRotationTime": "2025-03-02T00:00:00Z",
        "previousKeyExpiresAt": "2025-03-01T13:00:00Z",
        "expiresAt": "2025-03-01T12:30:00Z",
    }
    assert next_due(status, "CredentialIssued") == T0 + datetime.timedelta(minutes=30)
    assert next_due(status, "Suspended") == T0 + HOUR
    assert next_due({}, "CredentialIssued") is None


def test_a_secret_written_before_the_rotation_record_existed() -> None:
    """Secrets of earlier versions: issued-at is the first issue, the handled token is in status."""
    world = issued(key_expiry=90 * 86400, renew_before=30 * 86400)
    key = str(world.key)
    request = world.request()
    old = render_secret(
        request,
        None,
        secret_name="orders-access-credentials",
        data={"api-key": key, "gateway-url": "https://gw.example.com"},
        annotations={"apiportal.dev/issued-at": format_time(T0)},
        products=["apis/orders"],
        plan="apis/gold",
    )
    world.secret = {**old, "metadata": {**old["metadata"], "resourceVersion": "7"}}
    world.secret_version = 7
    world.annotations["apiportal.dev/rotate"] = "t-old"
    world.status.update({"handledRotateToken": "t-old", "lastRotationTime": format_time(T0 + DAY)})
    world.now = T0 + 2 * DAY
    plan = world.reconcile()
    assert world.key == key  # no rotation: the token was handled, per status
    assert world.annotation("apiportal.dev/rotate-token") == "t-old"
    assert world.annotation("apiportal.dev/issued-at") == format_time(T0 + DAY)
    assert any(isinstance(a, WriteSecret) for a in plan.actions)
    assert world.reconcile().actions == (EnsureFinalizer(),)  # once


def test_the_current_credential_must_have_been_observed() -> None:
    world = issued()
    inputs = world.inputs()
    with pytest.raises(ValueError, match="not observed"):
        plan_credential(
            LifecycleInputs(**{**inputs.__dict__, "observed": {}}),
            world.entropy,
        )


# ----- any sequence of events -----------------------------------------------------------------------

STEP = st.sampled_from(
    [
        "reconcile",
        "rotate",
        "advance-minutes",
        "advance-hours",
        "fail-create",
        "fail-delete",
        "fail-secret",
        "outage",
        "recovery",
        "delete-current-in-tyk",
        "delete-secret",
    ]
)


def _overlap_running(world: World) -> bool:
    until = world.annotation("apiportal.dev/previous-key-expires-at")
    return until is not None and world.now < datetime.datetime.fromisoformat(until.replace("Z", "+00:00"))


@settings(max_examples=400, deadline=None)
@given(steps=st.lists(STEP, max_size=30), hashing=st.booleans(), renewing=st.booleans())
# The defects and near misses, always tried: Tyk down across a rotation and past its overlap; a
# burst of rotations; a Secret write failing after the Tyk delete; a lost Secret mid-rotation.
@example(
    steps=["outage", "rotate", "advance-hours", "advance-hours", "recovery"], hashing=True, renewing=False
)
@example(steps=["rotate", "rotate", "rotate", "advance-minutes", "rotate"], hashing=False, renewing=True)
@example(steps=["rotate", "fail-secret", "advance-hours"], hashing=False, renewing=False)
@example(steps=["outage", "rotate", "delete-secret", "recovery"], hashing=False, renewing=False)
@example(steps=["advance-hours", "advance-hours", "outage", "advance-hours"], hashing=True, renewing=True)
@example(
    steps=["rotate", "fail-secret", "advance-hours", "delete-current-in-tyk"], hashing=False, renewing=False
)
def test_invariants_hold_whatever_happens(steps: list[str], hashing: bool, renewing: bool) -> None:
    """Each step is something that happens (a rotation asked for, time passing, a Tyk outage, a
    failing call, a key or the Secret deleted by hand), then a reconcile, as the operator runs one
    after every change; the invariants are checked after each."""
    world = World(
        hashing=hashing,
        key_expiry=6 * 3600,
        renew_before=2 * 3600 if renewing else None,
        spec={"rotation": {"overlap": "1h"}},
    )
    tokens = iter(range(10_000))
    happen: dict[str, Callable[[], None]] = {
        "reconcile": lambda: None,
        "rotate": lambda: world.rotate(f"t{next(tokens)}"),
        "advance-minutes": lambda: setattr(world, "now", world.now + datetime.timedelta(minutes=20)),
        "advance-hours": lambda: setattr(world, "now", world.now + 2 * HOUR),
        "fail-create": lambda: world.fail.add("create"),
        "fail-delete": lambda: world.fail.add("delete"),
        "fail-secret": lambda: world.fail.add("secret"),
        "outage": lambda: world.fail_always.add("create"),
        "recovery": world.fail_always.clear,
        "delete-current-in-tyk": lambda: world.tyk.pop(world.key or "", None),
        "delete-secret": lambda: setattr(world, "secret", None),
    }

    def working(key: str | None, tyk: dict[str, dict[str, Any]]) -> bool:
        expires = int(tyk[key].get("expires") or 0) if key in tyk else 0
        return key is not None and key in tyk and not 0 < expires <= world.now.timestamp()

    for step in ["reconcile", *steps, "recovery", "reconcile", "reconcile", "reconcile"]:
        happen[step]()
        old_key, old_previous, old_tyk = world.key, world.previous, dict(world.tyk)
        overlap_running = _overlap_running(world)
        done = world.try_reconcile()
        key, previous, tyk = world.key, world.previous, set(world.tyk)
        # While its overlap runs, api-key-previous holds a key Tyk has. (Once it ended, the key is
        # deleted in Tyk first and then from the Secret: a failure between leaves it in the Secret for
        # the next reconcile to remove, never a key in Tyk that nothing refers to.)
        assert previous is None or previous in tyk or not _overlap_running(world)
        if world.secret is not None and old_key is not None:
            # A live key in the Secret leaves it only as the previous one, or once expired.
            if old_key in old_tyk and old_key not in (key, previous):
                assert not working(old_key, old_tyk), "a live key in use was dropped"
            # The previous key is never revoked before its overlap ended.
            if old_previous in old_tyk and overlap_running:
                assert old_previous in tyk, "the previous key was revoked before its overlap ended"
            # Workloads are never left without a working credential by a reconcile.
            if working(old_key, old_tyk) or working(old_previous, old_tyk):
                assert working(key, world.tyk) or working(previous, world.tyk), "no working credential"
        # Never more than two credentials in Tyk; after a successful reconcile, exactly the Secret's.
        assert len(tyk) <= 2
        if done is not None and not done.stalled:
            assert tyk == {k for k in (key, previous) if k}
    # Once nothing fails any more, everything converges on the Secret's credentials.
    assert set(world.tyk) == {k for k in (world.key, world.previous) if k}
