from __future__ import annotations

import httpx
import pytest

from tests.emulators.tyk import TykControl, TykEmulator

from .conftest import API_KEY, plan_policy, product_policy, seed_shop

pytestmark = pytest.mark.emulator


def test_outage_refuses_connections_until_cleared(
    emu: TykEmulator, dash: httpx.Client, gw: httpx.Client, control: TykControl
) -> None:
    dash.post("/api/portal/policies", json=plan_policy("plan.kept", "kept", 1, 1, 1))
    assert dash.get("/api/portal/policies", params={"p": -1}).status_code == 200  # pooled connection open
    control.outage()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{emu.url}/api/portal/policies", headers={"Authorization": API_KEY})
    with pytest.raises(httpx.TransportError):  # the pooled keep-alive connection is gone too
        dash.get("/api/portal/policies", params={"p": -1})
    with pytest.raises(httpx.ConnectError):
        gw.get("/orders/")
    assert control.faults()[0]["mode"] == "outage"  # control port still answers
    control.clear_faults()
    r = dash.get("/api/portal/policies", params={"p": -1})
    assert r.status_code == 200
    assert [p["id"] for p in r.json()["Data"]] == ["plan.kept"]
    assert gw.get("/hello").status_code == 200


def test_outage_of_dashboard_only(emu: TykEmulator, gw: httpx.Client, control: TykControl) -> None:
    control.outage(target="dashboard")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{emu.url}/api/apis", headers={"Authorization": API_KEY})
    assert gw.get("/hello").status_code == 200
    control.clear_faults()


def test_outage_requested_on_the_dashboard_port_itself(emu: TykEmulator, control: TykControl) -> None:
    r = httpx.post(f"{emu.url}/_emulator/faults", json={"mode": "outage"})
    assert r.status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{emu.url}/api/apis", headers={"Authorization": API_KEY})
    control.clear_faults()
    assert httpx.get(f"{emu.url}/api/apis", headers={"Authorization": API_KEY}).status_code == 200


def test_reset_clears_an_outage(emu: TykEmulator, control: TykControl) -> None:
    control.outage()
    control.reset()
    assert httpx.get(f"{emu.url}/api/apis", headers={"Authorization": API_KEY}).status_code == 200


def test_error_mode_n_times_without_processing(dash: httpx.Client, control: TykControl) -> None:
    control.error(503, match="/api/portal/policies", times=2)
    for name in ("a", "b"):
        r = dash.post("/api/portal/policies", json=plan_policy(name, name, 1, 1, 1))
        assert r.status_code == 503
        assert r.json()["Status"] == "Error"
    assert dash.get("/api/apis").status_code == 200  # not matched
    r = dash.post("/api/portal/policies", json=plan_policy("c", "c", 1, 1, 1))
    assert r.status_code == 200
    ids = [p["id"] for p in dash.get("/api/portal/policies", params={"p": -1}).json()["Data"]]
    assert ids == ["c"]  # the failed writes were not applied
    assert control.faults() == []


def test_error_mode_with_method_match_until_cleared(dash: httpx.Client, control: TykControl) -> None:
    control.error(500, match="PUT /api/portal/policies")
    dash.post("/api/portal/policies", json=plan_policy("p", "p", 1, 1, 1))
    for _ in range(3):
        assert dash.put("/api/portal/policies/p", json=plan_policy("p", "p", 2, 1, 1)).status_code == 500
    assert dash.get("/api/portal/policies/p").status_code == 200
    control.clear_faults()
    assert dash.put("/api/portal/policies/p", json=plan_policy("p", "p", 2, 1, 1)).status_code == 200


def test_drop_processes_the_write_then_drops(dash: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    dash.post("/api/portal/policies", json=product_policy("apiprod.o", "o", "orders-api"))
    control.drop(match="POST /api/keys", times=1)
    with pytest.raises(httpx.TransportError):
        dash.post("/api/keys/crash-key", json={"apply_policies": ["apiprod.o"]})
    assert dash.get("/api/keys/crash-key").status_code == 200  # the write happened
    entry = next(
        e for e in control.requests() if e["path"] == "/api/keys/crash-key" and e["method"] == "POST"
    )
    assert entry["status"] == 200 and entry["fault"] == "drop"
    assert dash.post("/api/keys/other", json={"apply_policies": ["apiprod.o"]}).status_code == 200


def test_latency_mode_still_answers(dash: httpx.Client, control: TykControl) -> None:
    control.latency(0.05, match="/api/apis", times=1)
    assert dash.get("/api/apis").status_code == 200
    assert control.faults() == []


def test_bad_fault_rejected(control: TykControl) -> None:
    with pytest.raises(ValueError, match="400"):
        control.fault("explode")


def test_request_log_and_count(dash: httpx.Client, control: TykControl, emu: TykEmulator) -> None:
    dash.post("/api/portal/policies", json=plan_policy("p", "p", 1, 1, 1))
    dash.get("/api/portal/policies", params={"p": -1})
    dash.get("/api/portal/policies/p")
    httpx.get(f"{emu.url}/api/apis")  # unauthorised
    log = control.requests()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", "/api/portal/policies", 200),
        ("GET", "/api/portal/policies", 200),
        ("GET", "/api/portal/policies/p", 200),
        ("GET", "/api/apis", 401),
    ]
    assert log[1]["query"] == {"p": "-1"}
    assert all("body" not in e for e in log)
    assert control.count() == 4
    assert control.count(method="GET") == 3
    assert control.count(method="POST", path_prefix="/api/portal/policies") == 1
    assert control.count(path_prefix="/api/apis") == 1
    control.clear_requests()
    assert control.count() == 0


def test_gateway_requests_logged_separately(gw: httpx.Client, control: TykControl) -> None:
    gw.get("/hello")
    assert control.count() == 0
    assert control.count(server="gateway") == 1


def test_restart_keeps_state_and_ports(emu: TykEmulator, dash: httpx.Client, control: TykControl) -> None:
    dash.post("/api/portal/policies", json=plan_policy("p", "p", 1, 1, 1))
    url, gateway_url = emu.url, emu.gateway_url
    emu.restart()
    assert (emu.url, emu.gateway_url) == (url, gateway_url)
    assert dash.get("/api/portal/policies/p").status_code == 200


def test_stop_and_start_again(tyk_emulator: TykEmulator) -> None:
    with TykEmulator(api_key="k", org_id="o2") as other:
        url = other.url
        with TykControl(url) as control:
            control.seed_api(api_id="a", name="a")
        other.stop()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/api/apis", headers={"Authorization": "k"})
        other.start()
        assert other.url == url
        body = httpx.get(f"{url}/api/apis?p=-1", headers={"Authorization": "k"}).json()
        assert [a["api_definition"]["api_id"] for a in body["apis"]] == ["a"]
        assert body["apis"][0]["api_definition"]["org_id"] == "o2"


def test_config_flips_api_key_and_hashing(emu: TykEmulator, dash: httpx.Client, control: TykControl) -> None:
    control.config(api_key="new-key")
    assert dash.get("/api/apis").status_code == 401
    assert httpx.get(f"{emu.url}/api/apis", headers={"Authorization": "new-key"}).status_code == 200
    assert control.config()["hash_keys"] is True
    assert control.config(hash_keys=False)["hash_keys"] is False
    with pytest.raises(ValueError, match="400"):
        control.config(nonsense=1)


def test_reset_and_state_dump(dash: httpx.Client, control: TykControl) -> None:
    seed_shop(control)
    dash.post("/api/portal/policies", json=product_policy("apiprod.o", "o", "orders-api"))
    dash.post("/api/keys/secret-key-1", json={"apply_policies": ["apiprod.o"]})
    state = control.state()
    assert [p["id"] for p in state["policies"]] == ["apiprod.o"]
    assert len(state["keys"]) == 1
    assert "secret-key-1" not in str(state["keys"])  # key ids are hashed in the dump
    control.reset()
    state = control.state()
    assert state["policies"] == [] and state["keys"] == [] and state["apis"] == []


def test_seed_api_shapes(control: TykControl, dash: httpx.Client) -> None:
    wrapper = control.seed_api({"api_definition": {"api_id": "w", "name": "Wrapped Name"}})
    d = wrapper["api_definition"]
    assert d["slug"] == "wrapped-name" and d["proxy"]["listen_path"] == "/wrapped-name/"
    jwt = control.seed_api(api_id="j", name="j", enable_jwt=True)["api_definition"]
    assert jwt["enable_jwt"] is True and jwt["use_standard_auth"] is False
    assert dash.get("/api/apis/j").json()["api_definition"]["enable_jwt"] is True
