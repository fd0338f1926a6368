"""The JWT credential type (core/credential_type_jwt.py): a key pair from entropy, the Secret's data
both ways, the Tyk key that validates tokens signed with it, and the unchanged lifecycle driving it."""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tyk_portal_operator.core.credential_type_jwt import JWT, JWT_ALGORITHM, jwt_private_key
from tyk_portal_operator.core.credential_types import Grant, TykRef, credential_type_of
from tyk_portal_operator.core.credentials import META_REQUEST_UID
from tyk_portal_operator.core.lifecycle import CreateInTyk, DeleteInTyk, EnsureFinalizer, WriteSecret
from tyk_portal_operator.models import ProvisioningRequest

from . import test_lifecycle
from .test_lifecycle import HOUR, T0, World

KIND = JWT()


def fixed(seed: str) -> Any:
    return lambda size: hashlib.sha256(seed.encode()).digest()[:size]


def request(**spec: Any) -> ProvisioningRequest:
    return ProvisioningRequest.model_validate(
        {
            "metadata": {"name": "orders-access", "namespace": "team-a", "uid": "uid-r1"},
            "spec": {
                "appRef": {"name": "mobile"},
                "catalogueRef": {"name": "shop", "namespace": "apis"},
                "products": [{"name": "orders", "namespace": "apis"}],
                "planRef": {"name": "gold", "namespace": "apis"},
                "credentialType": "JWT",
                **spec,
            },
        }
    )


def sign(private_pem: str, kid: str) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": "team-a/orders-access", "iat": now, "exp": now + 60},
        private_pem,
        algorithm=JWT_ALGORITHM,
        headers={"kid": kid},
    )


def test_the_request_chooses_the_type() -> None:
    assert credential_type_of(request()) is not None
    assert credential_type_of(request()).name == "JWT"
    assert KIND.auth_types == frozenset({"jwt"})


def test_generation_is_a_pure_function_of_the_entropy() -> None:
    one, again, other = KIND.generate(fixed("a")), KIND.generate(fixed("a")), KIND.generate(fixed("b"))
    assert one == again and one.values["kid"] != other.values["kid"]
    key = jwt_private_key(one.values["private_key"])
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert one.values["kid"] == hashlib.sha256(der).hexdigest()
    assert one.fingerprint == hashlib.sha256(one.values["kid"].encode()).hexdigest()[:12]
    # The private key never shows in a repr.
    assert "PRIVATE" not in repr(one) and one.values["private_key"] in one.secrets()


def test_every_scalar_gives_a_valid_key() -> None:
    for pattern in (b"\x00", b"\xff"):

        def same(size: int, byte: bytes = pattern) -> bytes:
            return byte * size

        material = KIND.generate(same)
        assert jwt_private_key(material.values["private_key"]) is not None


def test_secret_data_both_ways() -> None:
    current, previous = KIND.generate(fixed("c")), KIND.generate(fixed("p"))
    data = KIND.render(current, None)
    assert set(data) == {"jwt-private-key", "jwt-key-id", "jwt-algorithm"}
    assert data["jwt-algorithm"] == "ES256" and data["jwt-key-id"] == current.values["kid"]
    assert KIND.read(data) == (current, None)
    both = KIND.render(current, previous)
    assert both["jwt-key-id-previous"] == previous.values["kid"]
    assert KIND.read(both) == (current, previous)
    # The key id is derived from the key, never taken from the Secret; an unreadable key is absent.
    assert KIND.read({**data, "jwt-key-id": "forged"}) == (current, None)
    assert KIND.read({"jwt-private-key": "not a key"}) == (None, None)
    rsa_like = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    assert KIND.read({"jwt-private-key": rsa_like}) == (None, None)


def test_the_tyk_key_validates_tokens_signed_with_the_secret() -> None:
    material = KIND.generate(fixed("k"))
    grant = Grant(request(), ("p.orders", "p.gold"), "org1", 0, False)
    (obj,) = KIND.tyk_objects(material, grant)
    assert obj.ref == TykRef("key", material.values["kid"]) and KIND.refs(material) == [obj.ref]
    assert obj.body["apply_policies"] == ["p.orders", "p.gold"]
    assert obj.body["meta_data"][META_REQUEST_UID] == "uid-r1"
    assert "PRIVATE" not in str(obj.body)
    token = sign(KIND.render(material, None)["jwt-private-key"], material.values["kid"])
    assert jwt.get_unverified_header(token)["kid"] == obj.ref.id
    public = serialization.load_pem_public_key(obj.body["jwt_data"]["secret"].encode())
    assert jwt.decode(token, public, algorithms=["ES256"])["sub"] == "team-a/orders-access"  # type: ignore[arg-type]
    other = KIND.tyk_objects(KIND.generate(fixed("x")), grant)[0].body["jwt_data"]["secret"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, serialization.load_pem_public_key(other.encode()), algorithms=["ES256"])  # type: ignore[arg-type]


def test_a_replaced_public_key_in_tyk_is_drift_and_repaired() -> None:
    material = KIND.generate(fixed("k"))
    (obj,) = KIND.tyk_objects(material, Grant(request(), ("p.o", "p.g"), None, 0, False))
    in_sync = {**obj.body, "jwt_data": {"secret": obj.body["jwt_data"]["secret"].strip() + "\n"}}
    assert KIND.differences(obj, in_sync) == []
    tampered = {**obj.body, "jwt_data": {"secret": "-----BEGIN PUBLIC KEY-----\nother\n"}, "extra": 1}
    assert KIND.differences(obj, tampered) == ["jwt_data"]
    body = KIND.update_body(obj, tampered)
    assert body["jwt_data"] == obj.body["jwt_data"] and body["extra"] == 1
    assert KIND.differences(obj, {**obj.body, "jwt_data": None}) == ["jwt_data"]
    assert KIND.differences(obj, {**obj.body, "apply_policies": ["p.o"]}) == ["apply_policies"]


# ----- the unchanged lifecycle with this type -------------------------------------------------------


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(test_lifecycle, "AUTH", KIND)  # the lifecycle tests' world, with JWT material
    yield World(spec={"credentialType": "JWT", "rotation": {"overlap": "2h"}})


def test_issue_then_rotate_with_overlap_then_revoke_the_previous_pair(world: World) -> None:
    plan = world.reconcile()
    assert [type(a) for a in plan.actions] == [WriteSecret, EnsureFinalizer, CreateInTyk]
    first = world.data("jwt-key-id")
    assert first and set(world.tyk) == {first} and world.data("jwt-private-key")
    assert world.data("gateway-url") == "https://gw.example.com"
    private = str(world.data("jwt-private-key"))
    assert (
        private not in repr(world.status) and private not in repr(world.events) and private not in repr(plan)
    )
    world.rotate("t1")
    world.now = T0 + HOUR
    world.reconcile()
    second = world.data("jwt-key-id")
    assert second != first and world.data("jwt-key-id-previous") == first
    assert world.data("jwt-private-key-previous") == private
    assert set(world.tyk) == {first, second}
    world.now = T0 + 3 * HOUR
    plan = world.reconcile()
    assert [type(a) for a in plan.actions] == [DeleteInTyk, WriteSecret, EnsureFinalizer]
    assert set(world.tyk) == {second} and world.data("jwt-key-id-previous") is None


def test_a_lost_secret_revokes_the_lost_key_pair_then_issues_a_new_one(world: World) -> None:
    world.reconcile()
    lost = world.data("jwt-key-id")
    world.secret = None
    world.now = T0 + datetime.timedelta(minutes=5)
    world.reconcile()
    assert lost in world.deleted and set(world.tyk) == {world.data("jwt-key-id")} and lost not in world.tyk


def test_the_consumer_guide_snippet_signs_a_token_tyk_accepts(tmp_path: Path) -> None:
    """docs/consumers.md's Python snippet, run on a Secret mounted as files, makes a token that the
    public key Tyk holds verifies, with the kid Tyk finds it by."""
    guide = (Path(__file__).resolve().parents[3] / "docs" / "consumers.md").read_text()
    section = guide.split("### JWT credentials: sign your own tokens", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    material = KIND.generate(fixed("docs"))
    for key, value in KIND.render(material, None).items():
        (tmp_path / key).write_text(value)
    namespace: dict[str, Any] = {}
    exec(snippet.replace("/var/run/secrets/maps", str(tmp_path)), namespace)
    token = namespace["token"]
    (obj,) = KIND.tyk_objects(material, Grant(request(), ("p.o", "p.g"), None, 0, False))
    assert jwt.get_unverified_header(token)["kid"] == obj.ref.id
    public = serialization.load_pem_public_key(obj.body["jwt_data"]["secret"].encode())
    assert jwt.decode(token, public, algorithms=["ES256"])["exp"] > time.time()  # type: ignore[arg-type]
