"""The standalone runner (`python -m tests.emulators.kube`) used by the local sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from .helpers import emulator_only

pytestmark = [pytest.mark.emulator, emulator_only]

REPO = Path(__file__).resolve().parents[3]


def test_runner_prints_its_url_and_writes_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.kube", "--port", "0", "--kubeconfig", str(kubeconfig)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        document = yaml.safe_load(kubeconfig.read_text())
        assert document["clusters"][0]["cluster"]["server"] == url
        assert document["current-context"] == document["contexts"][0]["name"]
        with urllib.request.urlopen(f"{url}/api/v1/namespaces/default", timeout=5) as response:
            assert response.headers["Content-Type"].startswith("application/json")
            assert json.load(response)["metadata"]["name"] == "default"
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0
