import json

from django.core.management.base import BaseCommand, CommandError

from profiling.services import host


class Command(BaseCommand):
    help = (
        "Detect this machine (CPU, memory, GPUs through NVML, readable RAPL domains) and create or "
        "update its Hardware row. Missing NVML or RAPL is reported, never an error."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", help="Hardware name (default: the hostname).")
        parser.add_argument("--json", action="store_true", help="Print what was found as JSON.")
        parser.add_argument("--dry-run", action="store_true", help="Detect and print; write nothing.")
        parser.add_argument("--print-slug", action="store_true",
                            help="Print only the Hardware slug (for scripts starting a worker).")

    def handle(self, *args, name=None, json=False, dry_run=False, print_slug=False, **options):
        info = host.detect()
        hardware = created = None
        if not dry_run:
            from django.core.exceptions import ValidationError

            try:
                hardware, created = host.register(info, name)
            except ValidationError as exc:
                raise CommandError(f"cannot register this host: {exc.message_dict}") from None
        if print_slug and hardware is not None:
            self.stdout.write(hardware.slug)
            return
        if json:
            data = info.as_dict()
            if hardware is not None:
                data["hardware"] = {"name": hardware.name, "slug": hardware.slug,
                                    "queue": hardware.queue_name, "created": created}
            self.stdout.write(_json_dumps(data))
            return
        gpus = ", ".join(f"{g.index}: {g.name} ({g.memory_gb} GB)" for g in info.gpus) or "none"
        lines = [
            f"hostname:   {info.hostname}",
            f"CPU:        {info.cpu_model} ({info.cpu_sockets} socket(s), {info.cpu_cores} physical cores, "
            f"{info.logical_cpus} logical)",
            f"memory:     {info.dram_gb} GB",
            f"NVML:       {info.nvml}",
            f"GPUs:       {gpus}",
            f"RAPL:       {', '.join(info.rapl_domains) if info.rapl_domains else info.rapl}",
            f"CPU TDP:    {f'{info.cpu_tdp_w:g} W per socket (RAPL long-term limit)' if info.cpu_tdp_w else 'unknown'}",
        ]
        for line in lines:
            self.stdout.write(line)
        if hardware is not None:
            verb = "Registered" if created else "Updated"
            self.stdout.write(self.style.SUCCESS(
                f"{verb} hardware {hardware.name!r} (slug {hardware.slug}, queue {hardware.queue_name})."))


def _json_dumps(data) -> str:
    return json.dumps(data, indent=2)
