"""Two installations side by side on one cluster: each with its own namespaces (`--namespace` glob)
and its own provider class, each reconciling only its own TykProvider and its own namespaces.

The test runs two operator processes of its own. Their namespaces (`i-<runid>-a-*`, `i-<runid>-b-*`)
and classes (`portal-test-<runid>-a`, `-b`) are outside what the session's operator matches
(`t-<runid>-*`, `portal-test-<runid>`), so it does not race them. Everything is deleted while both
installations still run, so their finalizers are honoured.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.emulators.tyk import DEMO_APIS, TykControl, TykEmulator

from .cluster import Cluster
from .conftest import (
    OTHER_PREFIX,
    PROVIDER_CLASS,
    Created,
    make_provider,
    start_operator_process,
    stop_operator_process,
)
from .test_policies import AUTH, plan


def _policy_ids(tyk: TykEmulator) -> set[str]:
    response = httpx.get(f"{tyk.url}/api/portal/policies?p=-1", headers=AUTH)
    response.raise_for_status()
    return {p["id"] for p in response.json()["Data"]}


@pytest.mark.timeout(240)
def test_two_installations_each_reconcile_only_their_own(
    cluster: Cluster, created: Created, tmp_path: Path
) -> None:
    prefixes = {side: f"{OTHER_PREFIX}{side}-" for side in "ab"}
    classes = {side: f"{PROVIDER_CLASS}-{side}" for side in "ab"}
    logs = {side: tmp_path / f"installation-{side}.log" for side in "ab"}
    with (
        TykEmulator(api_key="dash-secret", org_id="org1") as tyk_a,
        TykEmulator(api_key="dash-secret", org_id="org1") as tyk_b,
    ):
        tyks = {"a": tyk_a, "b": tyk_b}
        for tyk in tyks.values():
            with TykControl(tyk.url) as control:
                control.seed_apis(DEMO_APIS)
        # Namespaces first: kopf serves cluster-scoped kinds once a watched namespace exists.
        namespaces = {side: created.namespace(prefix=prefixes[side]) for side in "ab"}
        # A provider of a third class, created before the others: neither installation may touch it.
        nobody = make_provider(
            cluster,
            namespaces["a"],
            tyk_a.url,
            name=f"{OTHER_PREFIX}nobody-tyk",
            provider_class=f"{PROVIDER_CLASS}-c",
        )
        created.provider(nobody)
        operators = {
            # One installation gets its class from the environment, the other from the command line.
            "a": start_operator_process(
                cluster.kubeconfig,
                logs["a"],
                "--standalone",
                "--log-format",
                "json",  # names the object of every line
                namespace=f"{prefixes['a']}*",
                env={"TYK_PORTAL_PROVIDER_CLASS": classes["a"]},
            ),
            "b": start_operator_process(
                cluster.kubeconfig,
                logs["b"],
                "--standalone",
                "--log-format",
                "json",
                "--provider-class",
                classes["b"],
                namespace=f"{prefixes['b']}*",
            ),
        }
        try:
            providers = {
                side: created.provider(
                    make_provider(
                        cluster,
                        namespaces[side],
                        tyks[side].url,
                        name=f"{OTHER_PREFIX}{side}-tyk",
                        prefix=f"inst{side}",
                        provider_class=classes[side],
                    )
                )
                for side in "ab"
            }
            for side in "ab":
                obj = cluster.wait_condition("tykproviders", providers[side], reason="Connected", timeout=90)
                # Written by this side's installation: it names this side's Tyk, not the other one.
                message = obj["status"]["conditions"][0]["message"]
                assert tyks[side].url in message, message
                assert tyks["b" if side == "a" else "a"].url not in message, message

            for side in "ab":
                cluster.create("plans", plan("gold", providers[side]), namespaces[side])
            for side in "ab":
                cluster.wait_condition("plans", "gold", namespaces[side], reason="PolicySynced")
            ids = {side: f"inst{side}.plan.{namespaces[side]}.gold" for side in "ab"}
            assert ids["a"] in _policy_ids(tyk_a) and ids["b"] not in _policy_ids(tyk_a)
            assert ids["b"] in _policy_ids(tyk_b) and ids["a"] not in _policy_ids(tyk_b)

            # A plan in B's namespace naming A's provider: B handles it (its namespace) and refuses the
            # provider (not its class); A never sees it (not its namespace), so Tyk A gets nothing.
            cluster.create("plans", plan("cross", providers["a"]), namespaces["b"])
            refused = cluster.wait_condition(
                "plans", "cross", namespaces["b"], status="False", reason="ProviderNotReady"
            )
            assert classes["b"] in refused["status"]["conditions"][0]["message"]
            assert not any(".cross" in pid for pid in _policy_ids(tyk_a) | _policy_ids(tyk_b))

            # By now both installations have long seen the third-class provider (created first).
            assert not (cluster.get("tykproviders", nobody) or {}).get("status"), (
                "a foreign provider got a status"
            )
            log_a, log_b = logs["a"].read_text(), logs["b"].read_text()
            for foreign in (providers["b"], namespaces["b"], nobody):
                assert foreign not in log_a, f"installation A mentions {foreign}"
            for foreign in (namespaces["a"], nobody):
                assert foreign not in log_b, f"installation B mentions {foreign}"
            # A's own objects are in A's log (the logs are the right ones to look at).
            assert namespaces["a"] in log_a and namespaces["b"] in log_b

            # Clean-up while both installations run, so each finalizes its own objects.
            created.cleanup()
            assert not created.problems, created.problems
            assert ids["a"] not in _policy_ids(tyk_a) and ids["b"] not in _policy_ids(tyk_b)
        except BaseException:
            for side in "ab":
                print(f"--- installation {side} ---\n{logs[side].read_text()[-4000:]}")
            raise
        finally:
            created.cleanup()
            for process in operators.values():
                stop_operator_process(process)
