"""Reference solvers the tests and benchmarks compare the planner against (not production code)."""
