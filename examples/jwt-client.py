"""Call an API with a JWT credential, using only what the credential Secret holds.

The operator writes the private key of a `credentialType: JWT` request into its Secret; a workload
mounts the Secret as a volume, signs a short-lived token with the key (its `kid` header the Secret's
`jwt-key-id`) and sends it as a bearer token. Tyk finds the public key by the `kid` and applies the
request's product and plan policies.

    pip install 'PyJWT[crypto]'
    python examples/jwt-client.py /var/run/secrets/maps /maps/tiles

Arguments: the directory the Secret is mounted at, and the path to call on the gateway (the
Secret's `gateway-url`; the environment variable GATEWAY_URL overrides it). Prints the HTTP status
and the answer; exits 0 on a 2xx answer, else 1. It reads the files for every token, so it picks up
a rotation as soon as the kubelet refreshes the mounted Secret.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jwt

TOKEN_LIFETIME_SECONDS = 300


def sign(secret_dir: Path, subject: str = "example-client") -> str:
    """A token signed with the Secret's private key, valid for a few minutes."""
    now = int(time.time())
    return jwt.encode(
        {"sub": subject, "iat": now, "exp": now + TOKEN_LIFETIME_SECONDS},
        (secret_dir / "jwt-private-key").read_text(),
        algorithm=(secret_dir / "jwt-algorithm").read_text(),  # ES256
        headers={"kid": (secret_dir / "jwt-key-id").read_text()},
    )


def main(argv: list[str]) -> int:
    secret_dir, path = Path(argv[1]), argv[2]
    gateway = os.environ.get("GATEWAY_URL") or (secret_dir / "gateway-url").read_text()
    call = urllib.request.Request(
        gateway.rstrip("/") + path, headers={"Authorization": f"Bearer {sign(secret_dir)}"}
    )
    try:
        with urllib.request.urlopen(call, timeout=10) as answer:
            sys.stdout.write(f"{answer.status}\n{answer.read().decode(errors='replace')}\n")
            return 0
    except urllib.error.HTTPError as refused:
        sys.stdout.write(f"{refused.code}\n{refused.read().decode(errors='replace')}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
