"""Execute a finished plan in the foreground on this host: every deployment's queries, batch by batch.

For hosts without a queue (no worker): the same body a worker runs, one deployment after the
other, here. The execution is a row like any other (the report page and the API show it);
Ctrl-C cancels it and keeps the batches done. ``--json`` prints the report without the
per-batch points: status, queries_planned, queries_done, predicted_energy_j, measured_energy_j,
energy_error_pct, energy_sources, and per deployment the same figures.
"""

from __future__ import annotations

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from scheduling.models import ExecutionJob, ScheduleJob
from scheduling.services import execution as ex
from scheduling.services import execution_report


class _Bar(job_service.JobHandle):
    """A claim that draws a progress bar on stderr as batches complete."""

    out = sys.stderr
    label = ""

    def progress(self, done=None, total=None, **fields):
        super().progress(done, total, **fields)
        if done is not None:
            total = total or ExecutionJob.objects.filter(pk=self.pk).values_list("steps_total", flat=True).first()
            if total:
                filled = int(30 * min(done, total) / total)
                self.out.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} batches")
                self.out.flush()


class Command(BaseCommand):
    help = "Execute a finished plan's queries on this host in the foreground, metering each batch."

    def add_arguments(self, parser):
        parser.add_argument("job_id", type=int, help="the schedule job (plan) to execute")
        parser.add_argument("--batch-size", type=int, default=8, help="queries metered together (default 8)")
        parser.add_argument("--plan-index", type=int, help="which plan of a zeta sweep (default: the primary)")
        parser.add_argument("--drift-threshold", type=float, dest="drift_threshold_pct",
                            help="flag a deployment whose MAPE exceeds this percentage")
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")

    def handle(self, *args, **o):
        job = ScheduleJob.objects.filter(pk=o["job_id"]).first()
        if job is None:
            raise CommandError(f"No plan with id {o['job_id']}.")
        try:
            execution = ex.create_execution(job, o["batch_size"], plan_index=o["plan_index"],
                                            drift_threshold_pct=o["drift_threshold_pct"], foreground=True)
        except ex.ExecutionError as exc:
            raise CommandError(f"{exc.field}: {exc}") from exc
        if not o["json"]:
            self.stdout.write(f"Execution #{execution.pk} of plan #{job.pk}: {execution.queries_planned} queries "
                              f"in batches of {execution.batch_size}")
        try:
            for child in execution.jobs.order_by("deployment_index"):
                self._run(child)
        except KeyboardInterrupt:
            ex.cancel(execution)
            sys.stderr.write("\ninterrupted: execution cancelled, its batches so far are kept\n")
        out = execution_report.summary(execution)
        if o["json"]:
            self.stdout.write(json.dumps(out, indent=2))
            return
        est = " (ESTIMATED: no energy counter on this host)" if out["estimated"] else ""
        err = out["energy_error_pct"]
        self.stdout.write(f"{out['status']}: {out['queries_done']}/{out['queries_planned']} queries; energy "
                          f"predicted {out['predicted_energy_j']:.3f} J, measured {out['measured_energy_j']:.3f} J"
                          + (f" ({err:+.1f} %)" if err is not None else "") + est)

    def _claim(self, child):
        """Claim the part, waiting while the host is busy (another profiling run or execution holds it) or
        while a worker that found its wake-up (recovery re-sends one for a pending part) serves it."""
        waited = False
        while True:
            handle = job_service.claim(ExecutionJob, child.pk, worker=f"{job_service.worker_name()} (execute_plan)")
            if handle is not None:
                return handle
            if ExecutionJob.objects.get(pk=child.pk).status in JobStatus.final():
                return None
            if not waited:
                sys.stderr.write(f"{child.deployment_key}: {child.hardware} is busy; waiting\n")
                waited = True
            time.sleep(1)

    def _run(self, child):
        handle = self._claim(child)
        if handle is None:
            return  # a worker that found it first has served it
        bar = _Bar(model=ExecutionJob, pk=child.pk, token=handle.token, attempt=handle.attempt)
        bar.label = child.deployment_key
        try:
            with job_service.LeaseKeeper(bar):
                ex.run_body(ExecutionJob.objects.get(pk=child.pk), bar)
        except job_service.JobInterrupted as exc:
            sys.stderr.write(f"\n{exc}\n")
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            bar.fail(str(exc))
            raise CommandError(f"execution failed on {child.deployment_key}: {exc}") from exc
        finally:
            sys.stderr.write("\n")
