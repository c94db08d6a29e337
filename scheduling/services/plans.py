"""The plan use case: what the plan page and the API both call to queue a plan."""

from __future__ import annotations

from scheduling.models.deployment_specs import DeploymentResolutionError
from scheduling.services import jobs
from scheduling.services.plan_checks import check_deployments, check_job_quota


def submit_plan(workload, deployments, objective: str, parameters: dict, *, user=None):
    """Check the request (deployments, parameters, the user's quota), snapshot the deployment specs
    and queue the plan. Raises ``jobs.JobParameterError`` (field-keyed; a deployment that cannot be
    planned with is one under ``deployments``) or ``QuotaExceeded`` (429); nothing is written then."""
    deployments = list(deployments)
    check_deployments(deployments, parameters)
    check_job_quota(user)
    try:
        return jobs.create_job(workload, deployments, objective, parameters, user=user)
    except DeploymentResolutionError as exc:
        raise jobs.JobParameterError(str(exc), "deployments") from exc
