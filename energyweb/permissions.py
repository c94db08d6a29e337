"""The one permission rule, for pages and the API alike.

Signed-in users read everything and may compute (predict, plan); writes to the
inventory (hardware, LLMs, deployments, fits, measurements, workloads) are staff
only; a planning job may also be cancelled by the user who created it. Pages use
``staff_required`` / ``require_staff``, the API the DRF classes below; all of them
ask ``is_staff``, so the rule cannot drift between them again.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

STAFF_ONLY = "Only staff may change the inventory (hardware, LLMs, deployments, fits, measurements, workloads)."
IMPORT_FOLLOWERS = "Only staff or the user who uploaded the file may follow its import."


def is_staff(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


def may_manage_job(user, job) -> bool:
    """Staff, or the user who created the job."""
    return is_staff(user) or bool(user is not None and user.is_authenticated and job.created_by_id == user.pk)


def require_staff(request, message: str = STAFF_ONLY) -> None:
    if not is_staff(request.user):
        raise PermissionDenied(message)


def staff_required(view):
    """Pages: anonymous visitors are sent to sign in, signed-in non-staff get a 403."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        require_staff(request)
        return view(request, *args, **kwargs)

    return wrapped


class ReadAuthenticatedWriteStaff(BasePermission):
    """API default: any signed-in user reads; only staff write."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or is_staff(user)


class AuthenticatedMayPost(BasePermission):
    """Action endpoints (predict, plan) that compute without changing the inventory."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)


class IsStaff(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_staff(request.user)
