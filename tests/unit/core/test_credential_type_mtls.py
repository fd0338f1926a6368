"""The MutualTLS credential type (core/credential_type_mtls.py): pure generation from entropy, the
Secret's data both ways, what Tyk must hold, and its place in the one lifecycle."""

from __future__ import annotations

import base64
import datetime
import hashlib
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from tyk_portal_operator.core.credential_type_mtls import (
    ConsumerCertificate,
    MutualTLS,
    certificate_fingerprint,
    read_source_certificate,
    source_rotate_token,
    with_source_token,
)
from tyk_portal_operator.core.credential_types import (
    CREDENTIAL_TYPES,
    CredentialType,
    Grant,
    TykObject,
    credential_type_of,
)
from tyk_portal_operator.core.credentials import ROTATE_ANNOTATION
from tyk_portal_operator.core.lifecycle import (
    CreateInTyk,
    DeleteInTyk,
    EnsureFinalizer,
    LifecycleInputs,
    WriteSecret,
    plan_credential,
    read_record,
)
from tyk_portal_operator.core.policies import ProviderConfig
from tyk_portal_operator.models import ProvisioningRequest

MTLS = MutualTLS()
T0 = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)


def entropy_from(seed: str) -> Any:
    counter = iter(range(1000))

    def entropy(size: int) -> bytes:
        return hashlib.sha256(f"{seed}-{next(counter)}".encode()).digest()[:size]

    return entropy


def request(**spec: Any) -> ProvisioningRequest:
    return ProvisioningRequest.model_validate(
        {
            "metadata": {"name": "secure-access", "namespace": "team-a", "uid": "uid-1"},
            "spec": {
                "appRef": {"name": "mobile"},
                "catalogueRef": {"name": "shop"},
                "products": [{"name": "secure"}],
                "planRef": {"name": "gold"},
                "credentialType": "MutualTLS",
                **spec,
            },
        }
    )


def test_registered_under_its_credential_type_value() -> None:
    assert isinstance(CREDENTIAL_TYPES["MutualTLS"], MutualTLS)
    assert isinstance(credential_type_of(request()), MutualTLS)
    assert MTLS.auth_types == {"certificate"}


def test_generation_is_a_pure_function_of_the_entropy() -> None:
    one, same, other = (MTLS.generate(entropy_from(s)) for s in ("a", "a", "b"))
    assert one.values == same.values and one.fingerprint == same.fingerprint
    assert other.values["cert"] != one.values["cert"] and other.values["key"] != one.values["key"]


def test_a_generated_certificate_is_a_self_signed_client_certificate_for_its_key() -> None:
    material = MTLS.generate(entropy_from("a"))
    cert = x509.load_pem_x509_certificate(material.values["cert"].encode())
    key = serialization.load_pem_private_key(material.values["key"].encode(), password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    assert cert.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    cert.verify_directly_issued_by(cert)  # self-signed
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    der_sha = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert material.values["sha256"] == der_sha == certificate_fingerprint(material.values["cert"])
    assert material.fingerprint == der_sha[:12]
    assert material.values["key"] not in repr(material)


def test_secret_data_both_ways() -> None:
    current, previous = MTLS.generate(entropy_from("a")), MTLS.generate(entropy_from("b"))
    data = MTLS.render(current, previous)
    assert set(data) == {"tls.crt", "tls.key", "tls-previous.crt", "tls-previous.key"}
    assert MTLS.read(data) == (current, previous)
    assert set(MTLS.render(current, None)) == {"tls.crt", "tls.key"}
    assert MTLS.read({}) == (None, None)
    # A tls.crt that is no certificate is material lost (issued again), never a crash.
    assert MTLS.read({"tls.crt": "garbage", "tls.key": "x"}) == (None, None)
    # A certificate without its key (one the consumer holds the key of) renders no tls.key.
    cert_only = MTLS.read({"tls.crt": current.values["cert"]})[0]
    assert cert_only is not None and set(MTLS.render(cert_only, None)) == {"tls.crt"}


def test_tyk_holds_the_certificate_then_a_key_bound_to_it() -> None:
    material = MTLS.generate(entropy_from("a"))
    sha = material.values["sha256"]
    refs = MTLS.refs(material)
    assert [(r.kind, r.id) for r in refs] == [("certificate", sha), ("certificate_key", sha)]
    grant = Grant(request(), ("p.secure", "p.gold"), "org1", 1_900_000_000, suspended=False)
    cert_obj, key_obj = MTLS.tyk_objects(material, grant)
    assert [cert_obj.ref, key_obj.ref] == refs
    assert cert_obj.body == {"cert": material.values["cert"]}  # never the private key
    assert "PRIVATE KEY" not in repr(cert_obj.body) + repr(key_obj.body)
    session = key_obj.body
    assert session["certificate"] == "org1" + sha
    assert session["apply_policies"] == ["p.secure", "p.gold"] and session["expires"] == 1_900_000_000
    assert session["meta_data"]["apiportal.dev/request-uid"] == "uid-1"
    suspended = MTLS.tyk_objects(material, Grant(request(), ("p.secure", "p.gold"), "org1", 0, True))[1]
    assert suspended.body["expires"] == 1  # in the past: Tyk refuses the key


def test_differences_and_updates() -> None:
    material = MTLS.generate(entropy_from("a"))
    grant = Grant(request(), ("p.secure", "p.gold"), "org1", 0, suspended=False)
    cert_obj, key_obj = MTLS.tyk_objects(material, grant)
    assert MTLS.differences(cert_obj, {"id": "org1" + material.values["sha256"]}) == []
    stored = {**key_obj.body, "access_rights": {"secure-api": {}}, "quota_remaining": 3}
    assert MTLS.differences(key_obj, stored) == []
    assert MTLS.differences(key_obj, {**stored, "certificate": "org1" + "0" * 64}) == ["certificate"]
    assert MTLS.differences(key_obj, {**stored, "expires": 1}) == ["expires"]
    # A certificate's key is replaced as a whole (deleted and created again by the services).
    assert MTLS.update_body(key_obj, stored) == key_obj.body


def _inputs(
    secret: dict[str, Any] | None,
    observed: dict[Any, Any],
    now: datetime.datetime,
    kind: CredentialType = MTLS,
    req: ProvisioningRequest | None = None,
    **spec: Any,
) -> LifecycleInputs:
    req = req or request(**spec)
    return LifecycleInputs(
        request=req,
        app=None,
        credential_type=kind,
        products=("team-a/secure",),
        plan_ref="team-a/gold",
        policy_ids=("p.secure", "p.gold"),
        key_expiry=None,
        renew_before=None,
        provider=ProviderConfig(name="tyk", org_id="org1", gateway_url="https://gw.example.com"),
        secret_name="secure-access-credentials",
        secret=read_record(secret, req.uid, kind),
        observed=observed,
        now=now,
    )


def test_the_lifecycle_issues_and_retires_certificates_unchanged() -> None:
    plan = plan_credential(_inputs(None, {}, T0), entropy_from("a"))
    kinds = [type(a) for a in plan.actions]
    assert kinds == [WriteSecret, EnsureFinalizer, CreateInTyk, CreateInTyk]  # material first
    write = plan.actions[0]
    assert isinstance(write, WriteSecret)
    data = {k: base64.b64decode(v).decode() for k, v in write.manifest["data"].items()}
    assert set(data) == {"tls.crt", "tls.key", "gateway-url"}
    created = [a.obj.ref.kind for a in plan.actions if isinstance(a, CreateInTyk)]
    assert created == ["certificate", "certificate_key"]
    assert data["tls.key"] not in repr(plan)

    # The Secret written, Tyk holding both: a rotation keeps the old certificate for the overlap.
    secret = {**write.manifest, "metadata": {**write.manifest["metadata"], "resourceVersion": "1"}}
    old = MTLS.read(data)[0]
    assert old is not None
    live: dict[Any, Any] = {ref: {"ok": True} for ref in MTLS.refs(old)}
    grant = Grant(request(), ("p.secure", "p.gold"), "org1", 0, suspended=False)
    live[MTLS.refs(old)[1]] = MTLS.tyk_objects(old, grant)[1].body
    live[MTLS.refs(old)[0]] = {"id": "org1" + old.values["sha256"]}
    rotate = plan_credential(
        _inputs(
            secret, live, T0 + datetime.timedelta(hours=1), rotation={"interval": "30m", "overlap": "1h"}
        ),
        entropy_from("b"),
    )
    assert not any(isinstance(a, DeleteInTyk) for a in rotate.actions)  # the old one stays
    write = next(a for a in rotate.actions if isinstance(a, WriteSecret))
    rotated = {k: base64.b64decode(v).decode() for k, v in write.manifest["data"].items()}
    assert rotated["tls-previous.crt"] == data["tls.crt"] and rotated["tls.crt"] != data["tls.crt"]
    assert [type(a) for a in rotate.actions][-2:] == [CreateInTyk, CreateInTyk]


def test_tyk_objects_are_typed() -> None:
    material = MTLS.generate(entropy_from("a"))
    objs = MTLS.tyk_objects(material, Grant(request(), ("p", "q"), None, 0, suspended=False))
    assert all(isinstance(o, TykObject) for o in objs)
    assert objs[1].body["certificate"] == material.values["sha256"]  # no org: Tyk's own prefix missing


# ----- a consumer's own certificate (spec.certificateSecretRef) ---------------------------------


def consumer_cert(seed: str) -> tuple[str, str]:
    """A certificate and key as cert-manager would write them (the consumer's, not generated here)."""
    generated = MutualTLS().generate(entropy_from(seed))
    return generated.values["cert"], generated.values["key"]


def _consumer_inputs(
    cert_pem: str, secret: dict[str, Any] | None, observed: dict[Any, Any], now: datetime.datetime
) -> LifecycleInputs:
    kind = ConsumerCertificate(cert_pem, gateway_ca="-----CA-----")
    req = with_source_token(request(certificateSecretRef={"name": "client-tls"}), cert_pem)
    return _inputs(secret, observed, now, kind=kind, req=req)


def _data(write: WriteSecret) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in write.manifest["data"].items()}


def _stored(write: WriteSecret) -> dict[str, Any]:
    return {**write.manifest, "metadata": {**write.manifest["metadata"], "resourceVersion": "1"}}


def _live(cert_pem: str) -> dict[Any, Any]:
    kind = ConsumerCertificate(cert_pem)
    grant = Grant(
        request(certificateSecretRef={"name": "client-tls"}), ("p.secure", "p.gold"), "org1", 0, False
    )
    cert_obj, key_obj = kind.tyk_objects(kind.material, grant)
    return {cert_obj.ref: {"id": "org1" + kind.material.values["sha256"]}, key_obj.ref: key_obj.body}


def test_read_source_certificate_takes_the_client_certificate_only() -> None:
    cert, key = consumer_cert("c")
    other, _ = consumer_cert("d")
    assert read_source_certificate({"tls.crt": cert + other, "tls.key": key}) == cert  # a chain: the leaf
    for bad, why in (({}, "no tls.crt"), ({"tls.crt": "garbage"}, "holds no PEM certificate")):
        with pytest.raises(ValueError, match=why) as raised:
            read_source_certificate(bad)
        assert key not in str(raised.value)
    assert source_rotate_token(cert) == "certificate-sha256:" + certificate_fingerprint(cert)
    assert source_rotate_token(cert) != source_rotate_token(other)


def test_with_source_token_replaces_a_rotation_asked_by_annotation() -> None:
    cert, _ = consumer_cert("c")
    req = request(certificateSecretRef={"name": "client-tls"})
    req = req.model_copy(
        update={"metadata": {**req.metadata, "annotations": {ROTATE_ANNOTATION: "x", "a": "b"}}}
    )
    seen = with_source_token(req, cert)
    assert seen.annotations == {ROTATE_ANNOTATION: source_rotate_token(cert), "a": "b"}
    assert req.annotations[ROTATE_ANNOTATION] == "x"  # the request itself is not changed


def test_a_consumer_certificate_is_registered_without_its_key() -> None:
    cert, key = consumer_cert("c")
    plan = plan_credential(_consumer_inputs(cert, None, {}, T0), entropy_from("unused"))
    assert [type(a) for a in plan.actions] == [WriteSecret, EnsureFinalizer, CreateInTyk, CreateInTyk]
    write = plan.actions[0]
    assert isinstance(write, WriteSecret)
    assert _data(write) == {
        "tls.crt": cert,
        "ca.crt": "-----CA-----",
        "gateway-url": "https://gw.example.com",
    }
    created = [a.obj for a in plan.actions if isinstance(a, CreateInTyk)]
    assert created[0].body == {"cert": cert}
    assert key not in repr(plan) and key not in str(created[1].body)
    assert plan.fields["keyFingerprint"] == certificate_fingerprint(cert)[:12]

    # The same certificate again, Tyk holding it: nothing to do.
    steady = plan_credential(_consumer_inputs(cert, _stored(write), _live(cert), T0), entropy_from("unused"))
    assert steady.actions == (EnsureFinalizer(),)


def test_a_renewed_consumer_certificate_rotates_with_overlap() -> None:
    old, _ = consumer_cert("c")
    new, _ = consumer_cert("renewed")
    first = plan_credential(_consumer_inputs(old, None, {}, T0), entropy_from("unused")).actions[0]
    assert isinstance(first, WriteSecret)

    later = T0 + datetime.timedelta(days=30)
    rotate = plan_credential(_consumer_inputs(new, _stored(first), _live(old), later), entropy_from("unused"))
    assert not any(isinstance(a, DeleteInTyk) for a in rotate.actions)  # the old one stays for the overlap
    write = next(a for a in rotate.actions if isinstance(a, WriteSecret))
    assert _data(write)["tls.crt"] == new and _data(write)["tls-previous.crt"] == old
    created = [a.obj.body for a in rotate.actions if isinstance(a, CreateInTyk)]
    assert created[0] == {"cert": new}
    assert rotate.fields["previousKeyExpiresAt"] is not None

    # After the overlap (default 1h), the old certificate is revoked, the new one kept.
    after = later + datetime.timedelta(hours=1, seconds=1)
    live = {**_live(old), **_live(new)}
    done = plan_credential(_consumer_inputs(new, _stored(write), live, after), entropy_from("unused"))
    deleted = [a.ref for a in done.actions if isinstance(a, DeleteInTyk)]
    assert deleted == ConsumerCertificate(old).refs(ConsumerCertificate(old).material)
    final = next(a for a in done.actions if isinstance(a, WriteSecret))
    assert set(_data(final)) == {"tls.crt", "ca.crt", "gateway-url"} and _data(final)["tls.crt"] == new
