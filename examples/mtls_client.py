"""Call an API through the Tyk Gateway with a MutualTLS credential Secret mounted as files.

    python mtls_client.py SECRET_DIR PATH [--ca CA_FILE] [--key KEY_FILE]

SECRET_DIR is where the credential Secret is mounted (a Secret volume: one file per data key):
`tls.crt`, `tls.key`, `gateway-url` and, when the TykProvider names the Gateway's CA
(`gatewayCASecretRef`), `ca.crt`, which verifies the Gateway's own certificate. During a rotation
overlap the Secret also holds `tls-previous.crt`/`tls-previous.key`; a workload always presents
`tls.crt`.

With a certificate of your own (`spec.certificateSecretRef`, e.g. cert-manager's), the credential
Secret holds no key: pass `--key` with your TLS Secret's `tls.key` (mounted from that Secret).

`--ca` overrides the CA bundle (default: the Secret's `ca.crt`, else the system's trust store).

Prints the HTTP status and the body; exits 0 on a 2xx answer. Standard library only.
"""

from __future__ import annotations

import argparse
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path


def call(
    secret_dir: Path, path: str, ca_file: str | None = None, key_file: str | None = None
) -> tuple[int, str]:
    """GET `path` on the Gateway named in the Secret, presenting the Secret's certificate."""
    if ca_file is None and (secret_dir / "ca.crt").exists():
        ca_file = str(secret_dir / "ca.crt")
    context = ssl.create_default_context(cafile=ca_file)
    context.load_cert_chain(secret_dir / "tls.crt", key_file or secret_dir / "tls.key")
    url = (secret_dir / "gateway-url").read_text().strip().rstrip("/") + path
    try:
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("secret_dir", type=Path)
    parser.add_argument("path")
    parser.add_argument("--ca", help="CA bundle verifying the Gateway (default: the Secret's ca.crt)")
    parser.add_argument("--key", help="the certificate's key when the Secret holds none (your own)")
    args = parser.parse_args()
    status, body = call(args.secret_dir, args.path, args.ca, args.key)
    sys.stdout.write(f"{status}\n{body}\n")
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
