"""Call an API with an OAuthClient credential, using only what its Secret holds.

Mount the Secret as a volume (the kubelet refreshes the files after a rotation) and run:

    python oauth_client.py /etc/billing-credentials /billing/invoices

It gets an access token at `token-url` (client credentials grant, the client id and secret in
HTTP Basic, as Tyk requires), calls `gateway-url` + the path with `Authorization: Bearer <token>`
and prints the HTTP status. Standard library only.
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path


def read(secret_dir: Path, key: str) -> str:
    return (secret_dir / key).read_text().strip()


def access_token(secret_dir: Path) -> str:
    client = f"{read(secret_dir, 'client-id')}:{read(secret_dir, 'client-secret')}"
    token_request = urllib.request.Request(
        read(secret_dir, "token-url"),
        data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(client.encode()).decode()},
    )
    with urllib.request.urlopen(token_request, timeout=10) as answer:
        return str(json.load(answer)["access_token"])


def call(secret_dir: Path, path: str) -> int:
    api_request = urllib.request.Request(
        read(secret_dir, "gateway-url") + path,
        headers={"Authorization": f"Bearer {access_token(secret_dir)}"},
    )
    try:
        with urllib.request.urlopen(api_request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


if __name__ == "__main__":
    sys.stdout.write(f"{call(Path(sys.argv[1]), sys.argv[2])}\n")
