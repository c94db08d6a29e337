"""Cross-validated MAPE of each form on the published reference measurements.

Reads ../shared/reference/wilkins2024/*.csv directly with pandas (start-inference
rows only, iteration 0 dropped as the warm-up), maps ``argonne-swing`` to
``Swing AMD+A100`` (the same machine), and fits each (LLM, System) pair with
all three forms. Prints, per pair: rows, distinct cells, the CV MAPE of each
form (``*`` = not identifiable), the selected form and whether it beats the
paper form. ``--per-file`` fits each file separately instead (every file on
its own is a one-dimensional sweep or a cross of sweeps).

    .venv/bin/python benchmarks/reference_cv.py [--target energy|runtime] [--per-file]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "wilkins2024"
FILES = ("multi-system.csv", "swing-input-sweep.csv", "swing-output-sweep.csv")


def load(per_file: bool):
    import pandas as pd

    frames = []
    for name in FILES:
        d = pd.read_csv(REFERENCE / name)
        d = d[d["Phase"].astype(str).str.startswith("start-inference") & (d["Iteration"] != 0)].copy()
        d["file"] = name
        frames.append(d)
    d = pd.concat(frames, ignore_index=True)
    d["System"] = d["System"].replace({"argonne-swing": "Swing AMD+A100"})
    d["energy"] = d["CPU Energy (J)"] + d["GPU Energy (J)"]
    d["runtime"] = d["Runtime (s)"]
    keys = ["file", "Model", "System"] if per_file else ["Model", "System"]
    return d, keys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", choices=("energy", "runtime"), default="energy")
    ap.add_argument("--per-file", action="store_true")
    args = ap.parse_args()
    if not REFERENCE.exists():
        print(f"SKIP: reference data {REFERENCE} is absent (it lives in ../shared/reference, not in the repo)")
        return 0
    sys.path.insert(0, str(ROOT))
    from profiling.fitting import regression

    d, keys = load(args.per_file)
    header = (f"{'pair':48s} {'n':>4s} {'cells':>5s} {'paper':>9s} {'nnls':>9s} {'extended':>9s} "
              f"{'selected':>9s} {'beats paper':>11s} {'paper<0':>7s} {'best CV':>9s}")
    print(f"# reference CV MAPE, target {args.target} (%; * = not identifiable, not eligible)")
    print(header)
    print("-" * len(header))
    beats = eligible = best_not_paper = paper_negative = pairs = 0
    for key, g in d.groupby(keys):
        tin = g["Number of Input Tokens"].to_numpy(float)
        tout = g["Number of Output Tokens"].to_numpy(float)
        results, selected = regression.fit_all(tin, tout, g[args.target].to_numpy(float), target=args.target)
        cols = []
        for form in ("paper", "nnls", "extended"):
            r = results[form]
            cols.append(f"{r.cv_mape:8.1f}{'' if r.identifiable else '*'}" if r.cv_mape is not None else "n/a")
        better = "-"
        if selected:
            eligible += 1
            if selected != "paper" and results[selected].cv_mape < results["paper"].cv_mape:
                better = "yes"
                beats += 1
            else:
                better = "no (paper)" if selected == "paper" else "no"
        cells = results["paper"].diagnostics["cells"]
        pairs += 1
        neg = bool(results["paper"].diagnostics.get("negative_in_range"))
        paper_negative += neg
        best = min((r for r in results.values() if r.cv_mape is not None), key=lambda r: r.cv_mape).form
        best_not_paper += best != "paper"
        name = " | ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        print(f"{name[:48]:48s} {len(g):4d} {cells:5d} {cols[0]:>9s} {cols[1]:>9s} {cols[2]:>9s} "
              f"{selected or 'none':>9s} {better:>11s} {'yes' if neg else 'no':>7s} {best:>9s}")
    print(f"\nselected form beats the paper form's CV MAPE on {beats} of {eligible} pairs with an eligible form")
    print(f"paper form predicts negative values inside the measured range on {paper_negative} of {pairs} pairs")
    print(f"lowest CV MAPE of any form (eligible or not) is not the paper form on {best_not_paper} of {pairs} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
