"""The routing package is pure: a router can run where only NumPy and OR-Tools are installed."""

from __future__ import annotations


def test_routing_planner_and_fitting_import_no_django(run_python):
    code = ("import sys\n"
            "import scheduling.routing.policy, scheduling.routing.router, scheduling.routing.replay\n"
            "import scheduling.routing.feedback, scheduling.routing.capped, scheduling.routing.predictors\n"
            "import scheduling.planner.solver, scheduling.planner.objective_registry, scheduling.planner.npzstream\n"
            "import profiling.fitting.regression, profiling.fitting.coverage\n"
            "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
            "assert not bad, bad\n")
    out = run_python("-c", code)  # a fresh interpreter: marked slow by the fixture
    assert out.returncode == 0, out.stderr
