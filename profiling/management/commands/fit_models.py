"""Fit energy/runtime models of (LLM, hardware) pairs from their measurements.

``--json`` prints ONE JSON object:
  * with ``--form`` and one pair and one target: the fit itself (form, coefficients,
    r2, r2_uncentered, rmse, mape, cv_mape, n, identifiable, warnings, ...);
  * otherwise ``{"fits": [fit, ...], "selected": {"<llm> | <hardware> | <target>": form or null},
    "skipped": [...]}`` where each fit also names its llm, hardware and fit_id.
Without ``--form`` every form is fitted and the one with the lowest cross-validated
MAPE among identifiable forms is marked selected; with ``--form`` only that form is
fitted and stored, and the selection is left as it was.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from profiling.choices import FitForm, FitTarget
from profiling.fitting.regression import FitError
from profiling.models import LLM, Hardware
from profiling.services.fitting import fit_pair, lookup, pairs_with_measurements


def _resolve(model, alias_field, value):
    found = lookup(model, value)
    if found is None:
        raise CommandError(f"No single {model._meta.verbose_name} is named {value!r} (name, slug, alias or id).")
    return found


class Command(BaseCommand):
    help = "Fit the paper, NNLS and extended models of energy and runtime from stored measurements."

    def add_arguments(self, parser):
        parser.add_argument("--llm", help="LLM name, slug, alias or id (default: every pair with measurements)")
        parser.add_argument("--hardware", help="Hardware name, slug, alias or id")
        parser.add_argument("--target", choices=FitTarget.values, help="default: energy and runtime")
        parser.add_argument("--form", choices=FitForm.values, help="default: every form, and select one")
        parser.add_argument("--include-estimated", action="store_true",
                            help="use measurements with estimated energy (the fit is labelled estimated)")
        parser.add_argument("--include-warmup", action="store_true", help="use warm-up iterations too")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--dry-run", action="store_true", help="fit and print, store nothing")

    def handle(self, *args, **opts):
        if bool(opts["llm"]) != bool(opts["hardware"]):
            if opts["llm"]:
                llm = _resolve(LLM, "aliases", opts["llm"])
                pairs = [p for p in pairs_with_measurements() if p[0] == llm]
            else:
                hw = _resolve(Hardware, "aliases", opts["hardware"])
                pairs = [p for p in pairs_with_measurements() if p[1] == hw]
        elif opts["llm"]:
            pairs = [(_resolve(LLM, "aliases", opts["llm"]), _resolve(Hardware, "aliases", opts["hardware"]))]
        else:
            pairs = pairs_with_measurements()
        if not pairs:
            raise CommandError("No (LLM, hardware) pair with measurements matches.")
        targets = [opts["target"]] if opts["target"] else list(FitTarget.values)
        forms = [opts["form"]] if opts["form"] else None

        fits, selected, skipped = [], {}, []
        for llm, hw in pairs:
            for target in targets:
                try:
                    out = fit_pair(llm, hw, target, forms=forms, include_estimated=opts["include_estimated"],
                                   include_warmup=opts["include_warmup"], store=not opts["dry_run"])
                except FitError as exc:
                    skipped.append({"llm": llm.name, "hardware": hw.name, "target": target, "reason": str(exc)})
                    continue
                if forms is None:
                    selected[f"{llm.name} | {hw.name} | {target}"] = out["selected"]
                for form, r in out["results"].items():
                    row = r.as_dict()
                    row.update(llm=llm.name, hardware=hw.name,
                               fit_id=out["fits"][form].pk if form in out["fits"] else None,
                               is_selected=form == out["selected"], anova_available=out["anova"]["available"])
                    fits.append(row)

        if opts["json"]:
            if forms and len(fits) == 1 and not skipped:
                payload = fits[0]
            else:
                payload = {"fits": fits, "selected": selected, "skipped": skipped}
            self.stdout.write(json.dumps(payload, allow_nan=False, default=str))
            if not fits:
                raise CommandError("Nothing could be fitted: " + "; ".join(s["reason"] for s in skipped))
            return
        for row in fits:
            flag = " [selected]" if row["is_selected"] else ""
            r2 = "n/a" if row["r2"] is None else f"{row['r2']:.4f}"
            r2u = "n/a" if row["r2_uncentered"] is None else f"{row['r2_uncentered']:.4f}"
            cv = "n/a" if row["cv_mape"] is None else f"{row['cv_mape']:.1f}%"
            self.stdout.write(
                f"{row['llm']} @ {row['hardware']} {row['target']:7s} {row['label']:28s} n={row['n']:<6d} "
                f"R²(centered)={r2} R²(uncentered)={r2u} CV MAPE={cv} "
                f"identifiable={'yes' if row['identifiable'] else 'NO'}{flag}"
            )
            for w in row["warnings"]:
                self.stdout.write(f"    ! {w}")
        for key, form in selected.items():
            if form is None:
                self.stdout.write(f"{key}: no form selected (none is identifiable and non-negative over the "
                                  "measured range); the pair's previous fitted selection was cleared.")
        for s in skipped:
            self.stderr.write(f"skipped {s['llm']} @ {s['hardware']} {s['target']}: {s['reason']}")
        if not fits:
            raise CommandError("Nothing could be fitted.")
