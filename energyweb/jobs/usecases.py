"""Use cases every job kind shares, so that a page and its API twin cannot drift: cancel.

The app use cases (``submit_plan``, ``submit_workload``, ``submit_measurements``) live beside
their services; they raise field-keyed errors (``energyweb.validation.FieldError``) that the one
DRF exception handler (energyweb/api/exceptions.py) answers, and that pages put on their forms.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied

from energyweb.jobs.models import Job, job_kind
from energyweb.permissions import may_manage_job
from energyweb.validation import FieldError


class JobEnded(FieldError):
    """Cancel of a job that had already ended (400, under ``status``)."""

    def __init__(self, message: str):
        super().__init__(message, "status")


class JobQuotaExceeded(FieldError):
    """Too many of this user's jobs are queued or running: answered with 429 by the API."""


def cancel_job(job, user, *, noun: str | None = None, cancel: Callable[[object], bool] | None = None) -> None:
    """Cancel ``job`` for ``user``: staff or its creator (PermissionDenied otherwise); JobEnded when it
    had already ended. ``cancel`` defaults to the kind's registered cancel (an import also removes its
    stored upload); a group of jobs (an execution's parts) passes its own."""
    from energyweb.jobs.registry import resolve

    noun = noun or getattr(job, "job_label", "job")
    if not may_manage_job(user, job):
        raise PermissionDenied(f"Only staff or the {noun}'s creator may cancel it.")
    if cancel is None:
        if not isinstance(job, Job):
            raise TypeError(f"{type(job).__name__} is not a job: pass cancel=")
        cancel = resolve(job_kind(type(job)).cancel)
    if not cancel(job):
        job.refresh_from_db()
        raise JobEnded(f"The {noun} has already {job.status}.")
