import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from energyweb.validation import FieldError
from scheduling.choices import Objective
from scheduling.models import Workload
from scheduling.models.deployment_specs import DeploymentResolutionError, specs_from_entries
from scheduling.planner.types import PlanningError
from scheduling.routing import predictors
from scheduling.services import routing
from scheduling.services.plan_checks import check_plan_request


def find_workload(ref: str) -> Workload:
    wl = Workload.objects.filter(name=ref).first()
    if wl is None and ref.isdigit():
        wl = Workload.objects.filter(pk=int(ref)).first()
    if wl is None:
        raise CommandError(f"No stored workload named {ref!r} (import it first: import_workload).")
    return wl


class Command(BaseCommand):
    help = ("Make a routing policy (per input-length bucket shares over deployments) from a training "
            "workload, solved with the exact planner; prints its id and summary (--json: one JSON object).")
    requires_system_checks = []  # as `schedule`: serves no URL, so skip importing every view

    def add_arguments(self, parser):
        parser.add_argument("--workload", required=True, help="The training workload's name or id.")
        parser.add_argument("--deployments", required=True,
                            help='JSON file: [{"llm", "hardware", "min_share", "max_share", "fit"}, ...]')
        parser.add_argument("--objective", default=Objective.PAPER_ENERGY_ACCURACY, choices=Objective.values)
        parser.add_argument("--zeta", type=float, default=0.5)
        parser.add_argument("--accuracy-target", type=float)
        parser.add_argument("--energy-budget", type=float, help="Joules.")
        parser.add_argument("--predictor", default="empirical", choices=sorted(predictors.PREDICTORS))
        parser.add_argument("--per-octave", type=int, default=2, help="Input-length buckets per doubling.")
        parser.add_argument("--seed", type=int, default=0, help="The router's interleaving seed.")
        parser.add_argument("--name", default="")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **o):
        try:
            entries = json.loads(Path(o["deployments"]).read_text())
        except OSError as exc:
            raise CommandError(f"Cannot read {o['deployments']}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(f"{o['deployments']} is not valid JSON: {exc}") from exc
        params = {"zeta": o["zeta"], "accuracy_target": o["accuracy_target"], "energy_budget_j": o["energy_budget"],
                  "predictor": o["predictor"], "per_octave": o["per_octave"], "seed": o["seed"]}
        workload = find_workload(o["workload"])
        try:
            specs = specs_from_entries(entries)
            check_plan_request([(s.key, s.min_share) for s in specs], params)
            row = routing.make_policy(workload, specs, objective=o["objective"], params=params, name=o["name"])
        except (DeploymentResolutionError, FieldError, PlanningError) as exc:
            field = getattr(exc, "field", None)
            raise CommandError(f"{field}: {exc}" if field else str(exc)) from exc
        out = routing.summary(row)
        if o["json"]:
            self.stdout.write(json.dumps(out))
            return
        plan = out["plan"]
        self.stdout.write(f"routing policy {row.pk}: {out['buckets_seen']} of {out['buckets']} input-length buckets "
                          f"seen in {plan['training_queries']:,} training queries; bucketed plan {plan['status']}, "
                          f"expected energy {plan['expected_energy_j']:.1f} J (estimated from models), "
                          f"accuracy {plan['expected_accuracy']:.2f} %")
        for w in out["warnings"]:
            self.stdout.write(self.style.WARNING(f"warning: {w}"))
