from django.core.management.base import BaseCommand, CommandError

from scheduling.services.generator import DEFAULT_TIN, DEFAULT_TOUT, GeneratorError, generate_workload


class Command(BaseCommand):
    help = ("Generate a synthetic workload from named distributions, e.g. "
            "--tin lognormal:mu=6.5,sigma=1 --tout uniform:low=8,high=512, or resample:<workload>.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("-n", "--queries", type=int, default=10000)
        parser.add_argument("--tin", default=DEFAULT_TIN, help=f"default {DEFAULT_TIN}")
        parser.add_argument("--tout", default=DEFAULT_TOUT, help=f"default {DEFAULT_TOUT}")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, name, queries, tin, tout, seed, **options):
        try:
            workload = generate_workload(name, queries, tin, tout, seed)
        except GeneratorError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Generated synthetic workload {workload.name!r} (id {workload.pk}): "
            f"{workload.n_queries:,} queries, seed {seed}"))
