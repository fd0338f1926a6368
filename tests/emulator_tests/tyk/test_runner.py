from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from .openapi import REPO_ROOT

pytestmark = pytest.mark.emulator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def run(*args: str) -> Iterator[tuple[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.tyk", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert all(lines), proc.stderr.read() if proc.stderr else ""
        yield lines[0].split()[-1], lines[1].split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_runner_with_demo_seed() -> None:
    port, gateway_port = free_port(), free_port()
    args = ["--port", str(port), "--gateway-port", str(gateway_port), "--api-key", "K", "--org-id", "ORG"]
    with run(*args, "--seed-apis", "demo") as (url, gateway_url):
        assert (url, gateway_url) == (f"http://127.0.0.1:{port}", f"http://127.0.0.1:{gateway_port}")
        body = httpx.get(f"{url}/api/apis", params={"p": -1}, headers={"Authorization": "K"}).json()
        apis = {a["api_definition"]["api_id"]: a["api_definition"] for a in body["apis"]}
        assert set(apis) == {"orders-api", "payments-api", "weather-api"}
        assert apis["orders-api"]["proxy"]["listen_path"] == "/orders/"
        assert apis["payments-api"]["tags"] == ["shop", "finance"]
        assert all(a["use_standard_auth"] and a["org_id"] == "ORG" for a in apis.values())
        assert httpx.get(f"{gateway_url}/weather/").status_code == 401


def test_runner_with_yaml_seed(tmp_path: Path) -> None:
    seed = tmp_path / "apis.yaml"
    seed.write_text("apis:\n  - api_id: inv\n    name: inventory\n    proxy: {listen_path: /inv/}\n")
    args = ["--port", str(free_port()), "--gateway-port", str(free_port()), "--seed-apis", str(seed)]
    with run(*args) as (url, _):
        r = httpx.get(f"{url}/api/apis/inv", headers={"Authorization": "dash-secret"})
        assert r.json()["api_definition"]["proxy"]["listen_path"] == "/inv/"


def test_runner_with_tls_gateway(tmp_path: Path) -> None:
    ca_file = tmp_path / "gateway-ca.pem"
    tls_port = free_port()
    args = ["--port", str(free_port()), "--gateway-port", str(free_port()), "--seed-apis", "demo"]
    tls_args = ["--gateway-tls", "--gateway-tls-port", str(tls_port), "--gateway-tls-ca-out", str(ca_file)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.tyk", *args, *tls_args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        assert lines[2].split()[-1] == f"https://127.0.0.1:{tls_port}", lines
        assert lines[3].split()[-1] == str(ca_file)
        info = httpx.get(f"{lines[0].split()[-1]}/_emulator/info").json()
        assert info["gateway_tls_url"] == f"https://127.0.0.1:{tls_port}"
        assert info["gateway_tls_ca_pem"] == ca_file.read_text()
        # the server certificate verifies against the CA written out
        r = httpx.get(
            f"https://127.0.0.1:{tls_port}/weather/", verify=ssl.create_default_context(cafile=ca_file)
        )
        assert r.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
