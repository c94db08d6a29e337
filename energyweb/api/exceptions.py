"""API errors are always field-keyed JSON; a model's clean() error never becomes a 500."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from energyweb.diskfull import MESSAGE, DiskFull, is_disk_full


def exception_handler(exc, context):
    if is_disk_full(exc):  # ENOSPC/EDQUOT while storing a file: 507, the partial file is gone
        from rest_framework.response import Response

        return Response({"detail": str(exc) if isinstance(exc, DiskFull) else MESSAGE}, status=507)
    if isinstance(exc, ProtectedError):  # a delete that history forbids: 409 naming what holds the row
        from energyweb.api.deletion import Conflict
        from energyweb.deletion import protected_objects_message

        exc = Conflict({"detail": protected_objects_message(exc)})
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {field: [str(m) for e in errs for m in e.messages] for field, errs in exc.error_dict.items()}
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)
