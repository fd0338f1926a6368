"""`kubectl portal` without a cluster: kubectl-style flags, help examples, version, completion, krew."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
import yaml

from tyk_portal_operator import __version__
from tyk_portal_operator.kubectl_portal import build_parser, complete_main, completions, main

REPO_ROOT = Path(__file__).resolve().parents[2]
KREW_MANIFEST = REPO_ROOT / "deploy" / "krew" / "portal.yaml"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize(
    "argv",
    [
        ["-n", "team-mobile", "status", "-o", "json"],
        ["status", "-n", "team-mobile", "-o", "json"],
        ["-o", "json", "status", "--namespace", "team-mobile"],
        ["--namespace=team-mobile", "-ojson", "status"],
    ],
)
def test_global_flags_before_or_after_the_subcommand(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.command, args.namespace, args.output) == ("status", "team-mobile", "json")


def test_global_flags_keep_their_defaults_and_context_kubeconfig_anywhere() -> None:
    args = build_parser().parse_args(["--context", "prod", "rotate", "x", "--kubeconfig", "/k"])
    assert (args.context, args.kubeconfig, args.namespace, args.all_namespaces) == ("prod", "/k", None, False)
    assert args.names == ["x"]


def test_every_subcommand_has_examples_in_its_help() -> None:
    parser = build_parser()
    assert "examples:" in parser.format_help()
    subcommands = _subparsers(parser)
    assert {"approve", "deny", "rotate", "status", "version", "completion"} <= set(subcommands)
    for name, sub in subcommands.items():
        help_text = sub.format_help()
        assert "examples:" in help_text, name
        assert "kubectl portal" in help_text.split("examples:")[1], name


def test_usage_errors_exit_2_without_a_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "-n", "a", "-A"]) == 2
    assert main(["status", "-o", "table"]) == 2
    assert main(["rotate"]) == 2  # no names, --all or -l
    assert "exactly one of them" in capsys.readouterr().err
    assert main(["rotate", "--all", "-l", "a=b"]) == 2


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"kubectl-portal {__version__}"
    assert main(["version", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["clientVersion"]["version"] == __version__


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "kubectl-portal" in script
    assert ("complete " in script) if shell == "bash" else ("compdef" in script)


def test_completion_candidates() -> None:
    assert completions(["st"]) == ["status"]
    assert set(completions([""])) >= {"approve", "deny", "rotate", "status", "version", "completion"}
    assert "--all" in completions(["rotate", "--a"])
    assert set(completions(["status", "-o", ""])) == {"json", "yaml", "wide", "name"}
    assert set(completions(["completion", ""])) == {"bash", "zsh"}


def test_kubectl_plugin_completion_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    """kubectl 1.26+ runs `kubectl_complete-portal ARGS... PARTIAL`: candidates, then `:directive`."""
    assert complete_main(["ver"]) == 0
    assert capsys.readouterr().out.splitlines() == ["version", ":4"]


def test_krew_manifest() -> None:
    manifest = yaml.safe_load(KREW_MANIFEST.read_text())
    assert manifest["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert manifest["kind"] == "Plugin"
    assert manifest["metadata"]["name"] == "portal"
    spec = manifest["spec"]
    assert spec["version"] == f"v{__version__}"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", spec["version"])
    assert spec["homepage"].startswith("https://")
    assert 0 < len(spec["shortDescription"]) <= 60  # krew's limit for the one-line description
    assert spec["platforms"]
    seen = set()
    for platform in spec["platforms"]:
        labels = platform["selector"]["matchLabels"]
        seen.add((labels["os"], labels["arch"]))
        assert platform["uri"].startswith("https://") and platform["uri"].endswith(".tar.gz")
        assert spec["version"] in platform["uri"]
        assert re.fullmatch(r"[0-9a-f]{64}", platform["sha256"])
        assert platform["bin"] == "kubectl-portal"
        assert any(f["from"] == "kubectl-portal" for f in platform.get("files", []))
    assert ("linux", "amd64") in seen
    assert len(seen) == len(spec["platforms"])


def test_token_lifetime_is_checked_before_any_cluster_access(capsys: pytest.CaptureFixture[str]) -> None:
    kube = ["--kubeconfig", "/nonexistent/kubeconfig"]  # never read: the usage error comes first
    assert main(["token", "maps-access", "--ttl", "2h", *kube]) == 2
    assert "--ttl must be between 1s and 1h" in capsys.readouterr().err
    assert main(["token", "maps-access", "--ttl", "soon", *kube]) == 2
    assert "not a duration" in capsys.readouterr().err
    assert main(["token", *kube]) == 2  # NAME is required
    assert main(["token", "maps-access", *kube]) == 1  # a valid lifetime: then the kubeconfig is read
    assert "cannot load kubeconfig /nonexistent/kubeconfig" in capsys.readouterr().err
