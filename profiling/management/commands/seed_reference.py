from django.core.management.base import BaseCommand

from profiling.services import catalogue
from profiling.services.tiny_llms import seed_tiny_llms


class Command(BaseCommand):
    help = (
        "Create or update the published reference catalogue (Wilkins et al. 2024): seven LLMs, "
        "four systems, their aliases and the Table 5.2 energy and runtime models. Idempotent."
    )

    def handle(self, *args, **options):
        report = catalogue.seed()
        for line in report.lines():
            self.stdout.write(line)
        # Two weight-free LLMs that profile on this host's CPU in under a minute.
        for line in seed_tiny_llms():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Reference catalogue is up to date."))
