"""Online routing from a plan (issue 19): pure code, no Django.

A query arrives with its input length (and maybe ``max_tokens``), never its output
length. ``policy.build_policy`` turns a training workload into per-bucket shares over
deployments by solving the bucketed problem with the exact planner; ``router.Router``
applies them one query at a time; ``replay.replay`` measures the regret against the
offline plan on the same traffic; ``feedback`` folds measured energy back in.
"""
