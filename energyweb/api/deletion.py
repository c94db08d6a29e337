"""DELETE on a row that history refers to answers 409 with what holds it (energyweb/deletion.py)."""

from rest_framework import status
from rest_framework.exceptions import APIException

from energyweb.deletion import protected_message


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "protected"
    default_detail = "Other rows refer to this one."


class ProtectedDestroyMixin:
    """Check the protecting relations with counts before deleting (never the collector's full load)."""

    def perform_destroy(self, instance):
        message = protected_message(instance)
        if message:
            raise Conflict({"detail": message})
        super().perform_destroy(instance)
