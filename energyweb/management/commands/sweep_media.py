"""Remove files under MEDIA_ROOT that no row refers to and that are older than a day (energyweb/media_sweep.py)."""

from django.core.management.base import BaseCommand, CommandError

from energyweb.media_sweep import DEFAULT_MAX_AGE_S, sweep


class Command(BaseCommand):
    help = "Remove orphan files (no row refers to them) older than --older-than seconds from MEDIA_ROOT."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=float, default=DEFAULT_MAX_AGE_S,
                            help="Only files last written this many seconds ago or earlier (default: a day).")
        parser.add_argument("--dry-run", action="store_true", help="List what would be removed; remove nothing.")

    def handle(self, *args, older_than, dry_run, **options):
        if older_than < 0:
            raise CommandError("--older-than must be zero or more seconds.")
        names = sweep(older_than, dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for name in names:
            self.stdout.write(name)
        self.stdout.write(f"{verb} {len(names)} orphan file(s)")
