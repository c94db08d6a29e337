from django.core.management.base import BaseCommand, CommandError

from scheduling.services.workloads import WorkloadFileError, import_workload


class Command(BaseCommand):
    help = "Import a workload CSV (optionally .gz) of input/output token counts; all rows or none."
    # System checks import every URLconf and view (scipy and statsmodels through the fit
    # explorer): seconds and ~100 MB per run of a command that serves no URL. `manage.py
    # check`, migrate and the servers still run them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--name", required=True)
        parser.add_argument("--description", default="")

    def handle(self, *args, path, name, description, **options):
        try:
            workload = import_workload(path, name, description=description)
        except WorkloadFileError as exc:
            raise CommandError("\n".join(exc.messages())) from exc
        s = workload.stats
        self.stdout.write(self.style.SUCCESS(
            f"Imported workload {workload.name!r} (id {workload.pk}): {workload.n_queries:,} queries, "
            f"mean tin {s['tin']['mean']:.1f}, mean tout {s['tout']['mean']:.1f}, "
            f"sha256 {workload.content_sha256[:12]}"))
