"""The objective registry is the one source of objectives: choices, inputs, costs, sense.

Covers: every choice the form, the API and the model fields offer comes from the registry
(and every registered objective is offered); each objective plans end to end with only what
it declares it needs; an objective added by one declaration and one register() call is
planned, checked and offered without a line elsewhere; the registry stays pure.
"""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.api.serializers import ScheduleJobCreateSerializer
from scheduling.forms import PlanForm
from scheduling.models import RoutingPolicy, ScheduleJob
from scheduling.planner import objective_registry, solver
from scheduling.planner.objective_registry import ObjectiveKind, Requirement
from scheduling.planner.types import PlanningError
from scheduling.services import jobs
from tests.solver.conftest import per_query, random_deployments, random_workload

# A value for each input an objective can require, chosen feasible for random_deployments
# (accuracies 40..70 %): planning must succeed with just these.
INPUTS = {"accuracy_target": 45.0, "energy_budget_j": 1e12}


@pytest.fixture
def extra_objective():
    """A fifth objective, declared and registered as the README says; removed afterwards."""
    kind = objective_registry.register(ObjectiveKind(
        name="min-runtime-test",
        label="Minimum total runtime (test)",
        uses_zeta=False,
        sense="min",
        cost=lambda p, zeta: p.runtime,
    ))
    yield kind
    del objective_registry._REGISTRY[kind.name]


def test_every_choice_comes_from_the_registry():
    expected = objective_registry.choices()
    assert [name for name, _ in expected] == [k.name for k in objective_registry.all_kinds()]
    assert len(expected) == 4
    assert ScheduleJob._meta.get_field("objective").choices == expected
    assert RoutingPolicy._meta.get_field("objective").choices == expected
    assert list(PlanForm().fields["objective"].choices) == expected
    assert list(ScheduleJobCreateSerializer().fields["objective"].choices.items()) == expected


def test_form_offers_a_newly_registered_objective(extra_objective):
    assert (extra_objective.name, extra_objective.label) in list(PlanForm().fields["objective"].choices)


@pytest.mark.django_db
def test_api_refuses_an_unknown_objective_naming_the_choices():
    s = ScheduleJobCreateSerializer(data={"workload": 1, "deployments": [1], "objective": "fastest"})
    assert not s.is_valid()
    message = str(s.errors["objective"][0])
    assert "fastest" in message
    assert all(name in message for name in objective_registry.names())


@pytest.mark.parametrize("kind", objective_registry.all_kinds(), ids=lambda k: k.name)
def test_each_objective_plans_with_what_it_declares(kind):
    rng = np.random.default_rng(5)
    deps = random_deployments(rng, 3)
    tin, tout = random_workload(rng, 200)
    params = {need.field: INPUTS[need.field] for need in kind.requires}
    r = solver.plan(tin, tout, deps, objective=kind.name, zeta=0.3, **params)
    assert r.status == "optimal"
    # The reported value is the declared cost, summed per query and read in the declared
    # sense, recomputed here from the independent per-query matrices.
    e, rt, _ = per_query(tin, tout, deps)
    tokens = (tin + tout).astype(np.float64)
    acc = np.array([d.accuracy for d in deps])
    inputs = type("Q", (), {"energy": e, "runtime": rt, "tokens": tokens, "accuracy": acc,
                            "total_tokens": float(tokens.sum())})
    cost = kind.cost(inputs, 0.3)
    internal = float(cost[np.arange(len(tin)), np.asarray(r.assignment)].sum())
    assert r.objective_value == pytest.approx(kind.reported(internal), rel=1e-9, abs=1e-9)
    # Its job parameters need exactly the declared inputs.
    for need in kind.requires:
        with pytest.raises(jobs.JobParameterError) as err:
            jobs.normalise_parameters(kind.name, {})
        assert err.value.field == need.field and str(err.value) == need.message
    out = jobs.normalise_parameters(kind.name, {"zetas": [0.2, 0.8], **params})
    assert out["zetas"] == ([0.2, 0.8] if kind.uses_zeta else [0.5])


def test_a_maximised_objective_reports_its_value_unnegated():
    rng = np.random.default_rng(6)
    deps = random_deployments(rng, 3)
    tin, tout = random_workload(rng, 150)
    r = solver.plan(tin, tout, deps, objective="max-accuracy-energy-budget", energy_budget_j=1e12)
    assert objective_registry.get("max-accuracy-energy-budget").maximised
    # Accuracy in percent, the token-weighted mean: positive and within the deployments' range.
    assert r.objective_value == pytest.approx(r.accuracy, rel=1e-12)
    assert min(d.accuracy for d in deps) <= r.objective_value <= max(d.accuracy for d in deps)


def test_an_objective_is_one_declaration_and_one_registration(extra_objective):
    rng = np.random.default_rng(7)
    deps = random_deployments(rng, 3)
    tin, tout = random_workload(rng, 120)
    r = solver.plan(tin, tout, deps, objective=extra_objective.name, paper_default_shares=False)
    # Every query on its fastest deployment: the exact optimum of total runtime with no shares.
    _, rt, _ = per_query(tin, tout, deps)
    assert r.status == "optimal"
    assert r.objective_value == pytest.approx(float(rt.min(axis=1).sum()), rel=1e-9)
    assert r.total_runtime_s == pytest.approx(r.objective_value, rel=1e-12)
    ex = jobs.execute(tin, tout, deps, extra_objective.name, {"zetas": [0.1, 0.9]})
    assert [p.zeta for p in ex.plan_results] == [0.5]  # uses_zeta=False: one plan, not a sweep


def test_required_inputs_and_side_rows_are_declared_together():
    for kind in objective_registry.all_kinds():
        # An objective that needs an input has a side row that reads it, and vice versa.
        assert bool(kind.requires) == (kind.side is not None), kind.name
        assert all(isinstance(need, Requirement) and need.message for need in kind.requires)


def test_registry_refuses_duplicates_bad_senses_and_unknown_names():
    with pytest.raises(ValueError, match="twice"):
        objective_registry.register(objective_registry.get("paper-energy-runtime"))
    with pytest.raises(ValueError, match="sense"):
        objective_registry.register(ObjectiveKind(name="x-test", label="x", uses_zeta=False, sense="up",
                                                  cost=lambda p, z: p.energy))
    assert "x-test" not in objective_registry.names()
    with pytest.raises(PlanningError, match="unknown objective 'fastest'; choose one of"):
        objective_registry.get("fastest")
    with pytest.raises(PlanningError, match="unknown objective"):
        objective_registry.get(["not", "hashable"])


def test_registry_imports_no_django(run_python):
    code = ("import sys\n"
            "import scheduling.planner.objective_registry\n"
            "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
            "assert not bad, bad\n")
    out = run_python("-c", code)  # a fresh interpreter: marked slow by the fixture
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("kind", [k for k in objective_registry.all_kinds() if k.affine_in_zeta],
                         ids=lambda k: k.name)
def test_an_objective_declared_affine_in_zeta_is_affine(kind):
    """The sweep's fused pass (cost(0) + zeta * (cost(1) - cost(0))) is exact only if the declaration is true."""
    from types import SimpleNamespace

    rng = np.random.default_rng(7)
    tokens = rng.integers(2, 4000, size=50).astype(float)
    inputs = SimpleNamespace(energy=rng.uniform(1, 900, (50, 4)), runtime=rng.uniform(0.1, 30, (50, 4)),
                             tokens=tokens, accuracy=rng.uniform(40, 90, 4), total_tokens=float(tokens.sum()))
    a, b = kind.cost(inputs, 0.0), kind.cost(inputs, 1.0) - kind.cost(inputs, 0.0)
    for zeta in (0.0, 0.13, 0.5, 0.77, 1.0):
        np.testing.assert_allclose(kind.cost(inputs, zeta), a + zeta * b, rtol=1e-12, atol=1e-12)


def test_a_new_objective_needs_no_migration(extra_objective, db):
    """The model fields read their choices from the registry (a callable): registering an objective
    changes what the fields accept and offer, and makemigrations finds nothing to write."""
    from io import StringIO

    from django.core.management import call_command

    for model in (ScheduleJob, RoutingPolicy):
        field = model._meta.get_field("objective")
        assert (extra_objective.name, extra_objective.label) in field.choices
        assert field.clean(extra_objective.name, None) == extra_objective.name  # choices validated
    out = StringIO()
    call_command("makemigrations", "scheduling", check=True, dry_run=True, stdout=out)
    assert "No changes detected" in out.getvalue()


def test_the_models_refuse_an_unregistered_objective_naming_the_choices():
    from django.core.exceptions import ValidationError

    job = ScheduleJob(objective="no-such-objective")
    with pytest.raises(ValidationError) as info:
        job.clean()
    assert "paper-energy-accuracy" in info.value.message_dict["objective"][0]
