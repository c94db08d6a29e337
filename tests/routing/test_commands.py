"""make_policy and replay on a real database with stored workloads."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from profiling.models import Hardware
from scheduling.models import RoutingPolicy
from tests.scheduling.conftest import SWING


def _json(*args) -> dict:
    out = StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_make_policy_then_replay_reports_regret_against_the_oracle(routed):
    made = _json("make_policy", "--workload", "train", "--deployments", str(routed["deployments"]), "--zeta", "0.5")
    row = RoutingPolicy.objects.get(pk=made["id"])
    assert made["plan"]["status"] == "optimal" and made["plan"]["training_queries"] == 200
    assert len(made["deployments"]) == 3
    swing = Hardware.objects.get(name=SWING)
    assert set(made["queues"].values()) == {f"hw.{swing.slug}"}
    r = _json("replay", "--policy", str(row.pk), "--workload", "live")
    for key in ("energy_j", "accuracy", "shares", "oracle_energy_j", "regret_pct", "round_robin_energy_j"):
        assert key in r
    assert r["queries"] == 200
    assert sum(r["shares"].values()) == pytest.approx(1.0)
    # The oracle knows every output length: no policy that does not can beat its objective.
    assert r["objective_value"] >= r["oracle_objective_value"] - 1e-9
    assert r["energy_j"] < r["round_robin_energy_j"]
    row.refresh_from_db()
    assert row.replays[0]["regret_pct"] == r["regret_pct"]


def test_commands_refuse_bad_input_by_name(routed, tmp_path):
    with pytest.raises(CommandError, match="No stored workload"):
        call_command("make_policy", "--workload", "nope", "--deployments", str(routed["deployments"]))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"llm": "Llama-2 (7B)", "hardware": "Nowhere"}]))
    with pytest.raises(CommandError, match="hardware"):
        call_command("make_policy", "--workload", "train", "--deployments", str(bad))
    with pytest.raises(CommandError, match="zeta"):
        call_command("make_policy", "--workload", "train", "--deployments", str(routed["deployments"]),
                     "--zeta", "1.5")
    with pytest.raises(CommandError, match="No routing policy"):
        call_command("replay", "--policy", "999", "--workload", "live")
    assert not RoutingPolicy.objects.exists()
