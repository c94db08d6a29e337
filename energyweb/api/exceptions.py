"""The one DRF exception handler: every service error becomes the same JSON, so API views need no
``except`` clauses and a page and its API twin answer alike.

- ``energyweb.validation.FieldError`` (and the few service errors that still carry ``field`` on a
  ValueError of their own) -> 400 keyed by the field; ``as_dict()`` (row/column errors) goes along.
  A view may rename the keys to its request's fields with ``field_error_key(field)``.
- an importer's refusal that carries its own report (``as_dict()``) and ``status_code`` (the
  measurement importer's ImportFailed: 400, or 409 for rows imported before) -> that report.
- a job quota (``energyweb.jobs.usecases.JobQuotaExceeded``) -> 429, as DRF's throttles.
- a row that does not exist (``ObjectDoesNotExist``) -> 404.
- a delete that history forbids (``ProtectedError``) -> 409 naming what holds the row.
- a model's ``clean()`` error -> 400 field-keyed, never a 500; a full disk -> 507.
"""

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from energyweb.diskfull import MESSAGE, DiskFull, is_disk_full
from energyweb.jobs.usecases import JobQuotaExceeded
from energyweb.validation import FieldError


def is_field_error(exc) -> bool:
    return isinstance(exc, FieldError) or (isinstance(exc, ValueError) and hasattr(exc, "field"))


def field_error_body(exc, view=None) -> dict:
    """``{field: [message]}`` (``non_field_errors`` without a field), plus ``as_dict()`` when the error has one."""
    field = getattr(exc, "field", None)
    rename = getattr(view, "field_error_key", None)
    key = rename(field) if rename is not None else field
    body = dict(exc.as_dict()) if callable(getattr(exc, "as_dict", None)) else {}
    body[key or "non_field_errors"] = [str(exc)]
    return body


def exception_handler(exc, context):
    if is_disk_full(exc):  # ENOSPC/EDQUOT while storing a file: 507, the partial file is gone
        return Response({"detail": str(exc) if isinstance(exc, DiskFull) else MESSAGE}, status=507)
    if callable(getattr(exc, "as_dict", None)) and isinstance(getattr(exc, "status_code", None), int) \
            and not isinstance(exc, exceptions.APIException):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, JobQuotaExceeded):
        exc = exceptions.Throttled(detail=str(exc))
    elif is_field_error(exc):
        return Response(field_error_body(exc, context.get("view")), status=400)
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, ProtectedError):  # a delete that history forbids: 409 naming what holds the row
        from energyweb.api.deletion import Conflict
        from energyweb.deletion import protected_objects_message

        exc = Conflict({"detail": protected_objects_message(exc)})
    elif isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {field: [str(m) for e in errs for m in e.messages] for field, errs in exc.error_dict.items()}
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)
