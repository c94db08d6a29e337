"""The job-kind registry: which models are jobs, what runs them, and their Celery task.

Each app registers its job kinds from ``AppConfig.ready()`` (NetBox's ``registry`` and
``JobRunner`` are the model)::

    registry.register("scheduling.ScheduleJob", body="scheduling.services.jobs:run_job",
                      soft_time_limit=settings.PLAN_SOFT_TIME_LIMIT_S, grace_s=120)

The Celery task name is derived from the model label ("scheduling.schedulejob.run", see
``job_task_name``), so the sender (``Job.job_task``) and the worker's task can never disagree,
and no name is typed anywhere. An upload kind (``register_upload``) names its importer's
service functions here instead of on the model, so models never import the services that
import them. The kernel imports no app: bodies and hooks are "module:function" strings,
imported when a worker runs them.

A job model that was never registered is refused with a clear error when it is submitted or
woken (``kind``), never sent to a task no worker knows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from energyweb.jobs.models import UnregisteredJobKind, job_kind, job_task_name
from energyweb.jobs.service import TRANSIENT, run_claimed

__all__ = ["JobKind", "UnregisteredJobKind", "UploadHooks", "job_models", "kind", "kinds", "register",
           "register_upload", "task"]


@dataclass(frozen=True)
class UploadHooks:
    """What an upload kind's importer provides ("module:function" each; see energyweb/jobs/uploads.py).

    ``committed(job)``: the result an earlier attempt committed before its worker was lost, else None.
    ``import_file(job, path, handle)``: import the stored file under the claim; the result, or raise
    UploadRefused. ``leftovers(job)``: remove what a lost attempt left outside the database (optional).
    """

    committed: str
    import_file: str
    leftovers: str = ""


@dataclass(frozen=True)
class JobKind:
    model_label: str
    body: str
    soft_time_limit: float
    grace_s: float
    task: object = field(repr=False, compare=False)
    upload: UploadHooks | None = None
    cancel: str = "energyweb.jobs.service:cancel"  # "module:function", called as cancel(job) -> bool

    @property
    def task_name(self) -> str:
        return job_task_name(self.model_label)

    @property
    def model(self):
        from django.apps import apps

        return apps.get_model(self.model_label)

    def call(self, hook: str, *args):
        """Call one of the upload hooks (``committed``, ``import_file``, ``leftovers``); None when absent."""
        path = getattr(self.upload, hook) if self.upload else ""
        return resolve(path)(*args) if path else None


_kinds: dict[str, JobKind] = {}


def resolve(path: str) -> Callable:
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)


def register(model_label: str, *, body: str, soft_time_limit: float, grace_s: float,
             upload: UploadHooks | None = None, cancel: str = "energyweb.jobs.service:cancel"):
    """Register a job kind and create its Celery task (named from the label); returns the task.

    ``body`` ("module:function") is called as ``body(job, handle)`` under the claim's lease
    (``service.run_claimed``). The time limits only stop a runaway: a soft limit is recorded by
    the job, the hard one ``grace_s`` later kills the worker's child. ``cancel(job) -> bool`` cancels
    one (the default marks the row; a running worker stops at its next progress report)."""
    from django.apps import apps

    from energyweb.jobs.models import Job

    model = apps.get_model(model_label)  # a typo fails here, at start-up, not at the first submit
    if not issubclass(model, Job):
        raise TypeError(f"{model_label} is not a job model (energyweb.jobs.models.Job)")
    label = model._meta.label
    known = _kinds.get(label)
    if known is not None:
        # ready() may run again (Django allows it; isolate_apps does it): the same registration is a no-op.
        if (known.body, known.soft_time_limit, known.grace_s, known.upload, known.cancel) == (
                body, soft_time_limit, grace_s, upload, cancel):
            return known.task
        raise ValueError(f"job kind {label} is registered twice, differently ({known.body} and {body})")
    task = _make_task(label, body, soft_time_limit=soft_time_limit, grace_s=grace_s)
    _kinds[label] = model.job_kind = JobKind(label, body, soft_time_limit, grace_s, task, upload, cancel)
    return task


def register_upload(model_label: str, *, committed: str, import_file: str, leftovers: str = "",
                    soft_time_limit: float | None = None, grace_s: float = 300):
    """Register a background-import kind: the shared upload body runs the importer's hooks."""
    from django.conf import settings

    return register(model_label, body="energyweb.jobs.uploads:run",
                    soft_time_limit=soft_time_limit or settings.LONG_JOB_SOFT_TIME_LIMIT_S, grace_s=grace_s,
                    upload=UploadHooks(committed=committed, import_file=import_file, leftovers=leftovers),
                    cancel="energyweb.jobs.uploads:cancel")


def kind(model_or_label) -> JobKind:
    """The registered kind of a job model (class, instance or "app_label.Model")."""
    if isinstance(model_or_label, str):
        from django.apps import apps

        model_or_label = apps.get_model(model_or_label)
    return job_kind(model_or_label if isinstance(model_or_label, type) else type(model_or_label))


def kinds() -> list[JobKind]:
    return list(_kinds.values())


def job_models() -> list[type]:
    """Every registered job model, in registration order (recovery walks these)."""
    return [k.model for k in _kinds.values()]


def task(model_label: str):
    """The Celery task of a registered kind (to call it in this process, as the tests do)."""
    return kind(model_label).task


def _make_task(model_label: str, body: str, *, soft_time_limit: float, grace_s: float):
    """The thin Celery task of one job kind: claim the row by id and run ``body`` under the lease; the
    row decides, not the message. Returns "done", "skipped" (gone, finished, or held by a live worker:
    a re-delivered message), "failed", "cancelled", "lost" or "deleted"."""
    from celery import shared_task

    @shared_task(name=job_task_name(model_label), autoretry_for=TRANSIENT, retry_backoff=True, retry_jitter=True,
                 max_retries=3, ignore_result=True, soft_time_limit=soft_time_limit,
                 time_limit=soft_time_limit + grace_s)
    def job_task(job_id: int) -> str:
        kind_ = kind(model_label)
        return run_claimed(kind_.model, job_id, resolve(kind_.body), transient=TRANSIENT)

    job_task.__doc__ = f"Claim and run one {model_label} by id ({body})."
    return job_task
