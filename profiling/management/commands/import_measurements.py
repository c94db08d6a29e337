"""python manage.py import_measurements PATH [--llm NAME] [--hardware NAME] [--create-missing] [--json]"""

import json

from django.core.management.base import BaseCommand, CommandError

from profiling.services.measurement_import import ImportFailed, import_measurements


class Command(BaseCommand):
    help = ("Import a measurement CSV (the project's columns or the paper's; gzip accepted). "
            "All rows or none are written; a file imported before adds nothing.")

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--llm", help="LLM name, slug or alias for files without a Model/llm column.")
        parser.add_argument("--hardware", help="Hardware name, slug or alias for files without a System/hardware column.")
        parser.add_argument("--create-missing", action="store_true",
                            help="Create LLM and Hardware rows for unknown names instead of failing.")
        parser.add_argument("--strict-energy", action="store_true",
                            help="Reject negative energy readings instead of dropping that component with a warning.")
        parser.add_argument("--json", action="store_true", help="Print the summary (or errors) as JSON.")

    def handle(self, *args, **opts):
        try:
            summary = import_measurements(
                opts["path"], llm=opts["llm"], hardware=opts["hardware"],
                create_missing=opts["create_missing"],
                negative_energy="error" if opts["strict_energy"] else "drop",
            )
        except FileNotFoundError:
            raise CommandError(f"No such file: {opts['path']}") from None
        except ImportFailed as exc:
            if opts["json"]:
                self.stdout.write(json.dumps(exc.as_dict(), indent=2))
            raise CommandError(f"Nothing imported; {exc.error_count} error(s):\n{exc.summary()}") from None
        if opts["json"]:
            self.stdout.write(json.dumps(summary.as_dict(), indent=2, default=str))
            return
        s = summary
        self.stdout.write(self.style.SUCCESS(
            f"Imported {s.rows} measurement(s) from {s.filename} as batch #{s.batch_id} in {s.seconds:.1f} s."))
        self.stdout.write(f"  skipped non-inference phases: {s.skipped_phases}")
        self.stdout.write(f"  warm-ups flagged (iteration 0): {s.warmups}")
        self.stdout.write(f"  with estimated energy: {s.estimated}")
        for p in s.pairs:
            self.stdout.write(f"  {p['llm']} @ {p['hardware']}: {p['rows']} row(s)")
        for label, names in (("LLMs", s.created_llms), ("hardware", s.created_hardware)):
            if names:
                self.stdout.write(self.style.WARNING(f"  created {label}: {', '.join(names)} (edit their details)"))
        if s.warning_count:
            self.stdout.write(self.style.WARNING(f"  {s.warning_count} warning(s):"))
            for w in s.warnings:
                self.stdout.write(f"    row {w['row']} (line {w['line']}), column {w['column']!r}: {w['message']}")
            if s.warning_count > len(s.warnings):
                self.stdout.write(f"    ... and {s.warning_count - len(s.warnings)} more")
        self.stdout.write(f"  refits requested (sent when the broker is up): {s.refits_requested}")
