import json

from django.core.management.base import BaseCommand, CommandError

from energyweb.validation import FieldError
from scheduling.management.commands.make_policy import find_workload
from scheduling.models import RoutingPolicy
from scheduling.planner.types import PlanningError
from scheduling.services import routing


class Command(BaseCommand):
    help = ("Replay a workload through a routing policy, query by query (each sees only its input length), "
            "and compare with the offline plan on the same queries (the oracle) and round-robin.")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--policy", required=True, type=int, help="The routing policy's id.")
        parser.add_argument("--workload", required=True, help="The workload to replay: name or id.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--no-save", action="store_true", help="Do not keep the result on the policy.")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **o):
        row = RoutingPolicy.objects.filter(pk=o["policy"]).first()
        if row is None:
            raise CommandError(f"No routing policy with id {o['policy']}.")
        workload = find_workload(o["workload"])
        try:
            r = routing.replay_policy(row, workload, seed=o["seed"], save=not o["no_save"])
        except (FieldError, PlanningError) as exc:
            raise CommandError(str(exc)) from exc
        if o["json"]:
            self.stdout.write(json.dumps(r))
            return
        est = " (estimated energy)" if r["energy_estimated"] else ""
        self.stdout.write(
            f"{r['queries']:,} queries{est}: online {r['energy_j']:.1f} J at {r['accuracy']:.2f} %, "
            f"oracle {r['oracle_energy_j']:.1f} J at {r['oracle_accuracy']:.2f} % (regret {r['regret_pct']:.2f} %), "
            f"round-robin {r['round_robin_energy_j']:.1f} J ({r['saving_vs_round_robin_pct']:.1f} % saved)")
        for key, share in r["shares"].items():
            self.stdout.write(f"  {key}: {share:.4f}")
        if not r["shares_within_bounds"]:
            self.stdout.write(self.style.WARNING(f"shares out of bounds: {', '.join(r['shares_out_of_bounds'])}"))
