import time

from django.core.management.base import BaseCommand

from profiling.services import catalogue, reference_fixture
from profiling.services.tiny_llms import seed_tiny_llms


class Command(BaseCommand):
    help = (
        "Create or update the published reference catalogue (Wilkins et al. 2024): seven LLMs, "
        "four systems, their aliases and the Table 5.2 energy and runtime models; then import the "
        "shipped Swing AMD+A100 measurements and fit them (one valid model per LLM); and two "
        "weight-free tiny LLMs to profile on this host. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-measurements", action="store_true",
                            help="Only the catalogue: skip importing and fitting the shipped measurements.")

    def handle(self, *args, **options):
        started = time.perf_counter()
        for line in catalogue.seed().lines():
            self.stdout.write(line)
        if not options["no_measurements"]:
            report = reference_fixture.seed_measurements()
            for line in report.lines():
                self.stdout.write(line)
        # Two weight-free LLMs that profile on this host's CPU in under a minute.
        for line in seed_tiny_llms():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(
            f"Reference catalogue is up to date ({time.perf_counter() - started:.1f} s)."))
