"""Fair use of the shared default queue: at most JOB_USER_RUNNING_CAP jobs of one user run at once.

A 101-zeta sweep on a million queries holds a worker 5.5 min; with the quota of 5 active jobs one
user held both default workers (imports, refits and every other user's plans waited) for ~14 min.
Plans and background imports inherit ``FairShareJob``: a claim locks the user's row, and is undone
while the user already has the cap of live jobs of any fair kind running; the job stays ``pending``
(the row decides, not the broker) and is woken when one of that user's jobs ends
(``energyweb.jobs.service.wake_next``). Recovery does not re-send it while it waits. Jobs with no
user (system work, refits) are not capped. The same hooks as ``MeteredJob`` (one job per hardware).
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from energyweb.jobs.choices import JobStatus
from energyweb.jobs.models import Job


def running_cap() -> int:
    return int(settings.JOB_USER_RUNNING_CAP)


class FairShareJob(Job):
    """A concrete model has a ``created_by`` foreign key to the user."""

    class Meta:
        abstract = True

    @staticmethod
    def fair_models() -> list[type[FairShareJob]]:
        return [m for m in apps.get_models() if issubclass(m, FairShareJob)]

    @classmethod
    def _owner(cls, pk: int) -> int | None:
        return cls.objects.filter(pk=pk).values_list("created_by_id", flat=True).first()

    @classmethod
    def _running(cls, user_id: int, exclude: tuple[type, int] | None = None) -> int:
        live = {"created_by_id": user_id, "status": JobStatus.RUNNING, "lease_expires__gte": timezone.now()}
        count = 0
        for model in cls.fair_models():
            qs = model.objects.filter(**live)
            if exclude is not None and model is exclude[0]:
                qs = qs.exclude(pk=exclude[1])
            count += qs.count()
        return count

    @classmethod
    def job_lock(cls, pk: int) -> None:
        """Serialise one user's claims (a PostgreSQL row lock; SQLite serialises writes anyway)."""
        user_id = cls._owner(pk)
        if user_id is not None and running_cap() > 0:
            list(get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True))

    @classmethod
    def job_conflicts(cls, pk: int) -> bool:
        """The user already runs the cap of fair jobs (this claim not counted)."""
        user_id, cap = cls._owner(pk), running_cap()
        return user_id is not None and cap > 0 and cls._running(user_id, exclude=(cls, pk)) >= cap

    @classmethod
    def job_is_waiting(cls, job) -> bool:
        cap = running_cap()
        return job.created_by_id is not None and cap > 0 and cls._running(job.created_by_id) >= cap

    @classmethod
    def job_next_in_line(cls, job):
        """The user's oldest pending fair job of any kind (None for a job with no user)."""
        if job.created_by_id is None:
            return None
        waiting = []
        for model in cls.fair_models():
            qs = model.objects.filter(created_by_id=job.created_by_id, status=JobStatus.PENDING)
            if model is type(job):
                qs = qs.exclude(pk=job.pk)
            first = qs.order_by("created", "pk").first()
            if first is not None:
                waiting.append(first)
        return min(waiting, key=lambda j: (j.created, j.pk), default=None)
