import json
import os
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from scheduling.choices import Objective
from scheduling.models import Workload
from scheduling.models.deployment_specs import DeploymentResolutionError, specs_from_entries
from scheduling.planner.types import PlanningError
from scheduling.services.jobs import JobParameterError, execute, summary
from scheduling.services.plan_checks import check_plan_request
from scheduling.services.workloads import WorkloadFileError, load_workload_arrays, parse_workload


def _keep_freed_memory() -> None:
    """Let glibc keep the memory numpy frees for the next array instead of returning it.

    A plan makes hundreds of short-lived arrays of one value per class or per query; glibc
    hands each freed one back to the kernel (above its trim threshold, or mmapped), and the
    next is faulted in again page by page: ~1/3 of the command's CPU at 10M queries was
    system time. This process is short-lived and exits after one plan, so holding on to its
    peak is harmless (the peak itself does not grow). Only this command: a long-lived worker
    keeps glibc's defaults. ENERGYWEB_SCHEDULE_KEEP_MEMORY=0 turns it off (for comparisons).
    """
    if os.environ.get("ENERGYWEB_SCHEDULE_KEEP_MEMORY", "1") == "0":
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)  # glibc's largest: bigger arrays are mmapped anyway
    libc.mallopt(m_trim_threshold, 1 << 30)
    libc.mallopt(m_top_pad, 64 << 20)


class Command(BaseCommand):
    help = ("Plan a workload over deployments synchronously (no worker needed) and print the result; "
            "--json prints one JSON object.")
    # System checks import every URLconf and view (scipy and statsmodels through the fit
    # explorer): seconds and ~100 MB per run of a command that serves no URL. `manage.py
    # check`, migrate and the servers still run them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--workload", required=True, help="A stored workload's name or id, or a CSV path.")
        parser.add_argument("--deployments", required=True,
                            help='JSON file: [{"llm", "hardware", "min_share", "max_share", "fit"}, ...]')
        parser.add_argument("--objective", default=Objective.PAPER_ENERGY_ACCURACY, choices=Objective.values)
        parser.add_argument("--zeta", type=float, default=0.5)
        parser.add_argument("--sweep", action="store_true", help="Also plan zeta = 0, 0.1, ..., 1.")
        parser.add_argument("--accuracy-target", type=float)
        parser.add_argument("--energy-budget", type=float, help="Joules.")
        parser.add_argument("--deadline", type=float, help="Seconds.")
        parser.add_argument("--time-limit", type=float, default=60.0)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--allow-clamping", action="store_true",
                            help="Plan even when a model predicts zero or negative energy or runtime for some "
                                 "queries, clamping them to zero (they count as free: results warn loudly).")
        parser.add_argument("--json", action="store_true")

    def _workload(self, ref: str):
        wl = Workload.objects.filter(name=ref).first()
        if wl is None and ref.isdigit():
            wl = Workload.objects.filter(pk=int(ref)).first()
        if wl is not None:
            arrays = load_workload_arrays(wl)
            return arrays.tin, arrays.tout
        if Path(ref).is_file():
            parsed = parse_workload(ref)  # token columns may be held as uint16
            return parsed.tin.astype(np.int64), parsed.tout.astype(np.int64)
        raise CommandError(f"No workload named {ref!r} and no such file.")

    def handle(self, *args, **o):
        _keep_freed_memory()
        try:
            entries = json.loads(Path(o["deployments"]).read_text())
        except OSError as exc:
            raise CommandError(f"Cannot read {o['deployments']}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(f"{o['deployments']} is not valid JSON: {exc}") from exc
        params = {"zeta": o["zeta"], "sweep": o["sweep"], "accuracy_target": o["accuracy_target"],
                  "energy_budget_j": o["energy_budget"], "deadline_s": o["deadline"],
                  "time_limit_s": o["time_limit"], "seed": o["seed"], "allow_clamping": o["allow_clamping"]}
        if o["sweep"]:
            params["zetas"] = sorted({round(0.1 * i, 1) for i in range(11)} | {o["zeta"]})
        try:
            tin, tout = self._workload(o["workload"])
            specs = specs_from_entries(entries)
            check_plan_request([(s.key, s.min_share) for s in specs], params)
            execution = execute(tin, tout, specs, o["objective"], params)
        except WorkloadFileError as exc:
            raise CommandError("\n".join(exc.messages())) from exc
        except (DeploymentResolutionError, JobParameterError, PlanningError) as exc:
            raise CommandError(str(exc)) from exc
        out = summary(execution.results)
        if o["json"]:
            self.stdout.write(json.dumps(out))
            return
        self.stdout.write(f"{out['status']} {out['objective']} zeta={out['zeta']}: "
                          f"energy {out['total_energy_j']:.1f} J, mean runtime {out['mean_runtime_s']:.3f} s, "
                          f"accuracy {out['accuracy']:.2f} %, solved in {out['solve_seconds']:.2f} s")
        for key, n in out["counts"].items():
            self.stdout.write(f"  {key}: {n:,} queries")
        for name, b in out["baselines"].items():
            self.stdout.write(f"  baseline {name}: energy {b['total_energy_j']:.1f} J, "
                              f"accuracy {b['accuracy']:.2f} %")
        for w in out["warnings"]:
            self.stdout.write(self.style.WARNING(f"warning: {w}"))
