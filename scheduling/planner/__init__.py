"""The pure planner (no Django): problem building, objectives, solver, baselines, the reference MIP."""
