from django.core.management.base import BaseCommand

from profiling.services import catalogue


class Command(BaseCommand):
    help = (
        "Create or update the published reference catalogue (Wilkins et al. 2024): seven LLMs, "
        "four systems, their aliases and the Table 5.2 energy and runtime models. Idempotent."
    )

    def handle(self, *args, **options):
        report = catalogue.seed()
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Reference catalogue is up to date."))
