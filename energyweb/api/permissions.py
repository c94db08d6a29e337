from rest_framework.permissions import SAFE_METHODS, BasePermission


class ReadAuthenticatedWriteStaff(BasePermission):
    """Any signed-in user may read; only staff may write."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.is_staff


class AuthenticatedMayPost(BasePermission):
    """For action endpoints (predict, plan) that compute without changing inventory."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)
