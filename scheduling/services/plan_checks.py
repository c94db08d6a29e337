"""Checks on a planning request that must pass before a job is stored or queued.

Without them these requests were accepted and failed later in the worker (a deployment
listed twice, minimum shares that cannot all be met) or were silently reinterpreted
(JSON ``true`` as a time limit of 1 s). The API, the plan page and the ``schedule``
command call ``check_plan_request``; ``check_job_quota`` bounds what one user may queue.
"""

from __future__ import annotations

from django.conf import settings

from energyweb.jobs.choices import JobStatus
from energyweb.jobs.usecases import JobQuotaExceeded
from energyweb.validation import INT64_MAX, is_number
from scheduling.services.jobs import JobParameterError

NUMERIC_PARAMETERS = ("zeta", "accuracy_target", "energy_budget_j", "deadline_s", "time_limit_s")
# A little slack for shares typed as decimals (0.1 + 0.2 + 0.7).
SHARE_TOLERANCE = 1e-9


class QuotaExceeded(JobParameterError, JobQuotaExceeded):
    """Too many of this user's jobs are queued or running (answered with 429)."""


def check_plan_request(entries, params: dict | None) -> None:
    """``entries``: (key, min_share) per chosen deployment, in the order given."""
    entries = list(entries)
    seen: set = set()
    for key, _ in entries:
        if key in seen:
            raise JobParameterError(f"Deployment {key} is listed twice; list each deployment once.",
                                    "deployments")
        seen.add(key)
    total = sum(float(share or 0) for _, share in entries)
    if total > 1 + SHARE_TOLERANCE:
        raise JobParameterError(
            f"The chosen deployments' minimum shares add up to {total:g}, more than 1: no plan can "
            "give every deployment its minimum. Lower a minimum share or choose fewer deployments.",
            "deployments")
    params = params or {}
    if not isinstance(params, dict):
        raise JobParameterError("parameters must be an object.", "parameters")
    for key in NUMERIC_PARAMETERS:
        if isinstance(params.get(key), bool):
            raise JobParameterError(f"{key} must be a number, not true/false.", key)
    zetas = params.get("zetas")
    if isinstance(zetas, list) and any(not is_number(z) and not isinstance(z, str) for z in zetas):
        raise JobParameterError("zeta values must be numbers between 0 and 1.", "zetas")
    if isinstance(zetas, bool):
        raise JobParameterError("zeta values must be numbers between 0 and 1.", "zetas")
    seed = params.get("seed")
    if seed not in (None, ""):
        if isinstance(seed, str) and seed.strip().isdigit():
            seed = int(seed)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= INT64_MAX:
            raise JobParameterError(f"seed must be a whole number from 0 to {INT64_MAX}.", "seed")


def check_deployments(deployments, params: dict | None) -> None:
    """``check_plan_request`` for Deployment rows (the API and the plan page)."""
    deployments = list(deployments)
    check_plan_request([(d.pk, d.min_share) for d in deployments], params)
    # The planner names a deployment "LLM @ hardware": two rows of one pair would share a name,
    # and the job failed in the worker after a 201.
    first: dict = {}
    for d in deployments:
        pair = (d.llm_id, d.hardware_id)
        if pair in first:
            raise JobParameterError(
                f"Deployments #{first[pair].pk} and #{d.pk} both run {d.key}: choose one of them "
                "(a plan routes queries to each LLM on each hardware once).", "deployments")
        first[pair] = d


def max_active_jobs() -> int:
    return int(settings.MAX_ACTIVE_JOBS_PER_USER)


def check_job_quota(user, model=None, what: str = "planning jobs") -> None:
    """Refuse a new job (of ``model``, plans by default) while the user already has the allowed
    number of that kind queued or running."""
    from scheduling.models import ScheduleJob

    if user is None or not user.is_authenticated:
        return
    limit = max_active_jobs()
    active = (model or ScheduleJob).objects.filter(created_by=user,
                                                   status__in=[JobStatus.PENDING, JobStatus.RUNNING]).count()
    if active >= limit:
        raise QuotaExceeded(
            f"You have {active} {what} queued or running; the limit is {limit} "
            "(ENERGYWEB_MAX_ACTIVE_JOBS_PER_USER). Wait for one to finish or cancel one.", "non_field_errors")
