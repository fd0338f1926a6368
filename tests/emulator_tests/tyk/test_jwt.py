"""JWT on enable_jwt APIs, as the Gateway validates it (gateway/mw_jwt.go).

Per consumer: a key whose jwt_data.secret holds the consumer's public key (or HMAC secret); the
token's kid names that key, and the key's policies decide access. Central: jwt_source holds the
verification key and a claim names the policy.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.emulators.tyk import TykControl

from .conftest import plan_policy, product_policy
from .pki import certificate, public_pem

pytestmark = pytest.mark.emulator

KEY_ID = "jwt-consumer-1"


def jwt_api(api_id: str, listen: str, method: str, **extra: Any) -> dict[str, Any]:
    return {
        "api_id": api_id,
        "name": api_id,
        "proxy": {"listen_path": listen},
        "enable_jwt": True,
        "jwt_signing_method": method,
        "jwt_identity_base_field": "sub",
        **extra,
    }


@pytest.fixture
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def apis(dash: httpx.Client, control: TykControl) -> None:
    control.seed_apis(
        [
            jwt_api("maps-api", "/maps/", "rsa"),
            jwt_api("routes-api", "/routes/", "rsa"),
            jwt_api("tiles-api", "/tiles/", "ecdsa"),
            jwt_api("hooks-api", "/hooks/", "hmac"),
        ]
    )
    product = product_policy("apiprod.maps", "maps", "maps-api", "tiles-api", "hooks-api")
    assert dash.post("/api/portal/policies", json=product).is_success
    assert dash.post("/api/portal/policies", json=plan_policy("plan.gold", "gold", 100, 60, 1000)).is_success


def register(dash: httpx.Client, secret: str, key_id: str = KEY_ID) -> dict[str, Any]:
    r = dash.post(
        f"/api/keys/{key_id}",
        json={
            "alias": "shop/maps-app",
            "apply_policies": ["apiprod.maps", "plan.gold"],
            "jwt_data": {"secret": secret},
        },
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def sign(key: Any, alg: str, kid: str | None = KEY_ID, **claims: Any) -> str:
    now = int(time.time())
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(
        {"sub": "maps-app", "iat": now, "exp": now + 300, **claims}, key, algorithm=alg, headers=headers
    )


def call(gw: httpx.Client, path: str, token: str) -> httpx.Response:
    return gw.get(path, headers={"Authorization": f"Bearer {token}"})


def test_rsa_token_signed_by_the_consumer(
    dash: httpx.Client, gw: httpx.Client, apis: None, rsa_key: rsa.RSAPrivateKey
) -> None:
    register(dash, public_pem(rsa_key))
    token = sign(rsa_key, "RS256")
    r = call(gw, "/maps/v1/tile", token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["api_id"] == "maps-api" and body["key_alias"] == "shop/maps-app"
    assert (body["rate"], body["per"], body["quota_max"]) == (100, 60, 1000)  # the key's plan applies
    assert call(gw, "/maps/", sign(rsa_key, "PS256")).status_code == 200  # RSA-PSS is the RSA family
    # the header value without "Bearer" works too
    assert gw.get("/maps/", headers={"Authorization": token}).status_code == 200
    # an API the key's policies do not grant
    r = call(gw, "/routes/", token)
    assert (r.status_code, r.json()) == (403, {"error": "Access to this API has been disallowed"})


def test_rsa_refusals(dash: httpx.Client, gw: httpx.Client, apis: None, rsa_key: rsa.RSAPrivateKey) -> None:
    register(dash, public_pem(rsa_key))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refusals = {
        "bad signature": call(gw, "/maps/", sign(other, "RS256")),
        "unknown kid": call(gw, "/maps/", sign(rsa_key, "RS256", kid="nobody")),
        "not a JWT": call(gw, "/maps/", "abc.def"),
    }
    for case, r in refusals.items():
        assert (r.status_code, r.json()) == (403, {"error": "Key not authorized"}), case
    r = call(gw, "/maps/", sign(b"shared-secret-of-32-bytes-length!", "HS256"))
    assert (r.status_code, r.json()["error"]) == (403, "Key not authorized: Unexpected signing method")
    r = call(gw, "/maps/", sign(rsa_key, "RS256", exp=int(time.time()) - 10))
    assert (r.status_code, r.json()["error"]) == (401, "Key not authorized: token has expired")
    r = call(gw, "/maps/", sign(rsa_key, "RS256", nbf=int(time.time()) + 600))
    assert (r.status_code, r.json()["error"]) == (401, "Key not authorized: token is not valid yet")
    r = call(gw, "/maps/", sign(rsa_key, "RS256", iat=int(time.time()) + 600))
    assert (r.status_code, r.json()["error"]) == (401, "Key not authorized: token used before issued")
    r = gw.get("/maps/")
    assert (r.status_code, r.json()["error"]) == (400, "Authorization field missing")


def test_identity_from_claim_when_kid_is_skipped(
    dash: httpx.Client, gw: httpx.Client, control: TykControl, rsa_key: rsa.RSAPrivateKey
) -> None:
    control.seed_api(jwt_api("maps-api", "/maps/", "rsa", jwt_skip_kid=True, jwt_identity_base_field="user"))
    dash.post("/api/portal/policies", json=product_policy("apiprod.maps", "maps", "maps-api"))
    register(dash, public_pem(rsa_key), key_id="consumer-7")
    assert call(gw, "/maps/", sign(rsa_key, "RS256", kid="ignored", user="consumer-7")).status_code == 200
    assert call(gw, "/maps/", sign(rsa_key, "RS256", kid="consumer-7", user="other")).status_code == 403
    # without the configured claim, sub names the key
    assert call(gw, "/maps/", sign(rsa_key, "RS256", kid=None, sub="consumer-7")).status_code == 200


def test_ecdsa_and_hmac(dash: httpx.Client, gw: httpx.Client, apis: None, rsa_key: rsa.RSAPrivateKey) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    register(dash, public_pem(ec_key), key_id="ec-consumer")
    assert call(gw, "/tiles/", sign(ec_key, "ES256", kid="ec-consumer")).status_code == 200
    r = call(gw, "/tiles/", sign(rsa_key, "RS256", kid="ec-consumer"))
    assert r.json()["error"] == "Key not authorized: Unexpected signing method"
    # an RSA public key on an ECDSA API cannot verify
    register(dash, public_pem(rsa_key), key_id="rsa-on-ec")
    assert (
        call(
            gw, "/tiles/", sign(ec.generate_private_key(ec.SECP256R1()), "ES256", kid="rsa-on-ec")
        ).status_code
        == 403
    )

    # the secret may be a certificate holding the public key
    issued = certificate("tiles-consumer")
    register(dash, issued.cert_pem.decode(), key_id="cert-consumer")
    assert call(gw, "/tiles/", sign(issued.key, "ES256", kid="cert-consumer")).status_code == 200

    shared = "a-shared-secret-long-enough-for-hs256"
    register(dash, shared, key_id="hmac-consumer")
    assert call(gw, "/hooks/", sign(shared.encode(), "HS256", kid="hmac-consumer")).status_code == 200
    assert (
        call(
            gw, "/hooks/", sign(b"another-secret-long-enough-for-hs256!", "HS256", kid="hmac-consumer")
        ).status_code
        == 403
    )


def test_key_lifecycle_governs_tokens(
    dash: httpx.Client, gw: httpx.Client, control: TykControl, apis: None, rsa_key: rsa.RSAPrivateKey
) -> None:
    created = register(dash, public_pem(rsa_key))
    token = sign(rsa_key, "RS256")
    assert call(gw, "/maps/", token).status_code == 200
    # the key's expiry applies to the tokens it validates
    session = dash.get(f"/api/keys/{KEY_ID}").json()["data"]
    past = {**session, "expires": int(time.time()) - 5, "jwt_data": {"secret": public_pem(rsa_key)}}
    assert dash.put(f"/api/keys/{KEY_ID}", json=past).status_code == 200
    assert call(gw, "/maps/", token).json()["error"] == "Key has expired, please renew"
    # deleting the key refuses its tokens
    assert dash.delete(f"/api/keys/{created['key_hash']}", params={"hashed": 1}).status_code == 200
    assert call(gw, "/maps/", token).json() == {"error": "Key not authorized"}
    # a hashed lookup of a JWT key is refused when key hashing is off
    control.config(hash_keys=False)
    register(dash, public_pem(rsa_key), key_id="plain-key")
    r = dash.get("/api/keys/whatever", params={"hashed": 1})
    assert r.status_code == 400
    assert call(gw, "/maps/", sign(rsa_key, "RS256", kid="plain-key")).status_code == 200


def test_central_jwt_source_with_policy_claim(
    dash: httpx.Client, gw: httpx.Client, control: TykControl, rsa_key: rsa.RSAPrivateKey
) -> None:
    source = base64.b64encode(public_pem(rsa_key).encode()).decode()
    control.seed_apis(
        [
            jwt_api("maps-api", "/maps/", "rsa", jwt_source=source, jwt_policy_field_name="pol"),
            jwt_api(
                "routes-api", "/routes/", "rsa", jwt_source=source, jwt_default_policies=["apiprod.routes"]
            ),
            jwt_api(
                "tiles-api",
                "/tiles/",
                "rsa",
                jwt_source=base64.b64encode(b"https://idp.example/jwks").decode(),
            ),
        ]
    )
    dash.post("/api/portal/policies", json=product_policy("apiprod.maps", "maps", "maps-api"))
    dash.post("/api/portal/policies", json=product_policy("apiprod.routes", "routes", "routes-api"))
    r = call(gw, "/maps/", sign(rsa_key, "RS256", kid=None, pol="apiprod.maps"))
    assert r.status_code == 200 and r.json()["policies"] == ["apiprod.maps"]
    assert call(gw, "/maps/", sign(rsa_key, "RS256", kid=None, pol="apiprod.routes")).status_code == 403
    r = call(gw, "/maps/", sign(rsa_key, "RS256", kid=None))
    assert (r.status_code, r.json()["error"]) == (403, "key not authorized: no matching policy")
    assert call(gw, "/routes/", sign(rsa_key, "RS256", kid=None)).status_code == 200
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert call(gw, "/routes/", sign(other, "RS256", kid=None)).status_code == 403
    # JWKS URLs are not emulated: refused rather than fetched
    assert call(gw, "/tiles/", sign(rsa_key, "RS256", kid=None)).status_code == 403
