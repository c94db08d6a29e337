"""Jobs that meter energy on one hardware: at most one of them runs per hardware at a time.

Two metered jobs on one host (a profiling run and an execution, or two of either) would
each count the other's energy. Every such job model inherits ``MeteredJob``, which holds
the rule for all of them together: a claim locks the hardware row, and is undone while any
metered job of any kind on that hardware holds a live lease; when one ends, the oldest
waiting one of any kind is woken (``energyweb.jobs.service.wake_next``).
A concrete model has a ``hardware`` foreign key (to ``profiling.Hardware``); the kernel finds the
hardware model through that field, so it imports no app.
"""

from __future__ import annotations

from django.apps import apps
from django.utils import timezone

from energyweb.jobs.choices import JobStatus
from energyweb.jobs.models import Job


class MeteredJob(Job):
    class Meta:
        abstract = True

    def job_queue(self) -> str:
        return f"hw.{self.hardware.slug}"

    @staticmethod
    def metered_models() -> list[type[MeteredJob]]:
        return [m for m in apps.get_models() if issubclass(m, MeteredJob)]

    @classmethod
    def job_lock(cls, pk: int) -> None:
        """Serialise claims per hardware (a PostgreSQL row lock; SQLite serialises writes anyway)."""
        hardware_model = cls._meta.get_field("hardware").related_model
        hardware_id = cls.objects.filter(pk=pk).values_list("hardware_id", flat=True).first()
        if hardware_id is not None:
            list(hardware_model.objects.select_for_update().filter(pk=hardware_id).values_list("pk", flat=True))

    @classmethod
    def job_conflicts(cls, pk: int) -> bool:
        """Another metered job on the same hardware holds a live lease."""
        hardware_id = cls.objects.filter(pk=pk).values_list("hardware_id", flat=True).first()
        if hardware_id is None:
            return False
        live = {"hardware_id": hardware_id, "status": JobStatus.RUNNING, "lease_expires__gte": timezone.now()}
        for model in cls.metered_models():
            others = model.objects.filter(**live)
            if model is cls:
                others = others.exclude(pk=pk)
            if others.exists():
                return True
        return False

    @classmethod
    def job_is_waiting(cls, job) -> bool:
        return cls.job_conflicts(job.pk)

    @classmethod
    def job_next_in_line(cls, job):
        """The oldest pending metered job of any kind on the same hardware."""
        waiting = []
        for model in cls.metered_models():
            qs = model.objects.filter(hardware_id=job.hardware_id, status=JobStatus.PENDING)
            if model is type(job):
                qs = qs.exclude(pk=job.pk)
            first = qs.order_by("created", "pk").first()
            if first is not None:
                waiting.append(first)
        return min(waiting, key=lambda j: (j.created, j.pk), default=None)
