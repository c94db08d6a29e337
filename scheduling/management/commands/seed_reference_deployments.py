"""`make run` runs this after seed_reference, so a new user's first plan needs no extra step."""

from django.core.management.base import BaseCommand

from scheduling.services.reference_deployments import ensure_reference_deployments


class Command(BaseCommand):
    help = ("Create a deployment (selected fitted models, the paper's default shares) for every LLM and "
            "hardware pair with selected energy and runtime models and a known accuracy. Idempotent: "
            "existing reference deployments are reused.")

    def handle(self, *args, **options):
        rows = ensure_reference_deployments()
        for dep in rows:
            self.stdout.write(f"  {dep.key}")
        self.stdout.write(self.style.SUCCESS(f"{len(rows)} reference deployments are available."))
