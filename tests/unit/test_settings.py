"""Operator settings: environment parsing and validation, backoff, start-up checks, documentation."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tyk_portal_operator import cli, runner
from tyk_portal_operator.settings import OperatorSettings, SettingsError, parse_seconds

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_environment_overrides_and_types() -> None:
    settings = OperatorSettings.from_env({"TYK_PORTAL_RETRY_DELAY": "0.5", "TYK_PORTAL_TYK_RETRIES": "7"})
    assert settings.retry_delay == 0.5
    assert settings.tyk_retries == 7 and isinstance(settings.tyk_retries, int)
    assert settings.stalled_retry_interval == OperatorSettings().stalled_retry_interval


def test_durations_take_a_unit_suffix() -> None:
    settings = OperatorSettings.from_env(
        {
            "TYK_PORTAL_RETRY_DELAY": "500ms",
            "TYK_PORTAL_STALLED_RETRY_INTERVAL": "1h30m",
            "TYK_PORTAL_WATCH_SERVER_TIMEOUT": "5m",
        }
    )
    assert (settings.retry_delay, settings.stalled_retry_interval, settings.watch_server_timeout) == (
        0.5,
        5400,
        300,
    )
    assert OperatorSettings.from_env({"TYK_PORTAL_RETRY_DELAY": "5s"}).retry_delay == 5


@given(st.integers(0, 10**6), st.sampled_from(["ms", "s", "m", "h", "d"]))
def test_a_number_with_a_unit_is_that_many_units(amount: int, unit: str) -> None:
    factor = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    assert parse_seconds(f"{amount}{unit}") == pytest.approx(amount * factor)
    assert parse_seconds(str(amount)) == amount


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TYK_PORTAL_RETRY_DELAY": "5x"}, "TYK_PORTAL_RETRY_DELAY='5x': expected seconds"),
        ({"TYK_PORTAL_RETRY_DELAY": "0"}, "TYK_PORTAL_RETRY_DELAY='0'"),
        ({"TYK_PORTAL_TYK_RETRIES": "three"}, "TYK_PORTAL_TYK_RETRIES='three': expected an integer"),
        ({"TYK_PORTAL_WATCH_SERVER_TIMEOUT": "1.5"}, "TYK_PORTAL_WATCH_SERVER_TIMEOUT"),
        ({"TYK_PORTAL_PROVIDER_CLASS": "Not Valid"}, "TYK_PORTAL_PROVIDER_CLASS='Not Valid'"),
        ({"TYK_PORTAL_RETRY_DELAY": "10m"}, "TYK_PORTAL_MAX_RETRY_DELAY (300) must not be below"),
    ],
)
def test_invalid_values_are_one_line_naming_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as raised:
        OperatorSettings.from_env(environ)
    message = str(raised.value)
    assert named in message
    assert "\n" not in message


def test_constructing_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TYK_PORTAL_RETRY_DELAY", "1")
    assert OperatorSettings().retry_delay == 5.0
    assert OperatorSettings.from_env().retry_delay == 1.0


def test_backoff_doubles_up_to_the_cap() -> None:
    settings = OperatorSettings(retry_delay=1, max_retry_delay=5)
    assert [settings.backoff(n) for n in range(5)] == [1, 2, 4, 5, 5]


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    missing = [name for name in OperatorSettings.model_fields if f"TYK_PORTAL_{name.upper()}" not in text]
    assert missing == []


# ----- start-up checks in `tyk-portal-operator run` ---------------------------------------------


@pytest.fixture
def no_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    def must_not_start(**_: object) -> None:
        raise AssertionError("the operator must not start")

    monkeypatch.setattr(runner, "run_operator", must_not_start)
    return tmp_path


def test_run_with_a_bad_setting_exits_with_one_line(
    no_cluster: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TYK_PORTAL_RETRY_DELAY", "5x")
    assert cli.main(["run"]) == cli.EXIT_BAD_SETTINGS != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("tyk-portal-operator: error: invalid setting: TYK_PORTAL_RETRY_DELAY='5x'")
    assert "Traceback" not in err


def test_run_without_credentials_exits_with_one_line(
    no_cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run"]) == cli.EXIT_NO_CREDENTIALS != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no Kubernetes credentials: not in a cluster" in err
    assert "KUBECONFIG is not set" in err


def test_credentials_found_in_a_kubeconfig_or_in_a_pod(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "dev",
            }
        )
    )
    assert runner.find_cluster_credentials({"KUBECONFIG": str(config)}, home=tmp_path) == (
        f"kubeconfig {config} (context 'dev')"
    )
    assert runner.find_cluster_credentials({"KUBECONFIG": str(tmp_path / "absent")}, home=tmp_path) is None
    token = tmp_path / "token"
    pod = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    assert runner.find_cluster_credentials(pod, home=tmp_path, token=token) is None
    token.write_text("t")
    assert runner.find_cluster_credentials(pod, home=tmp_path, token=token) == "in-cluster service account"


def test_settings_are_logged_once_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    import kopf

    monkeypatch.setattr(kopf, "run", lambda **_: None)
    # configure_logging changes the root handler and some loggers' levels: put them back afterwards.
    loggers = [logging.getLogger(name) for name in ("", "httpx", "aiohttp.access")]
    saved = [(logger.handlers[:], logger.level) for logger in loggers]
    try:
        runner.run_operator(
            settings=OperatorSettings(retry_delay=2), credentials="kubeconfig x", log_format="json"
        )
    finally:
        for logger, (handlers, level) in zip(loggers, saved, strict=True):
            logger.handlers[:] = handlers
            logger.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "operator_settings" in line]
    assert len(lines) == 1
    assert lines[0]["level"] == "INFO"
    assert lines[0]["operator_settings"]["TYK_PORTAL_RETRY_DELAY"] == 2.0
    assert "TYK_PORTAL_RETRY_DELAY=2.0" in lines[0]["message"]
