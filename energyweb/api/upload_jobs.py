"""The API side of background imports: the 202 answer, the status GET and the OpenAPI shape of
a job's status (``Job.status_payload()``, the same for every job)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from energyweb.jobs.choices import JobStatus
from energyweb.jobs.usecases import cancel_job
from energyweb.permissions import IMPORT_FOLLOWERS


def upload_job_schema(name: str, fields: dict, result_help: str):
    """The shared fields of every upload job's status, plus the importer's own ``fields``."""
    return inline_serializer(name, {
        "id": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=JobStatus.choices),
        "filename": serializers.CharField(), "size_bytes": serializers.IntegerField(),
        "steps_done": serializers.IntegerField(), "steps_total": serializers.IntegerField(),
        "percent": serializers.IntegerField(),
        "eta_seconds": serializers.FloatField(allow_null=True, help_text="While running: seconds left at this pace."),
        "attempts": serializers.IntegerField(),
        "error": serializers.CharField(allow_blank=True),
        "result": serializers.DictField(help_text=result_help),
        "created": serializers.DateTimeField(allow_null=True), "started": serializers.DateTimeField(allow_null=True),
        "finished": serializers.DateTimeField(allow_null=True),
        **fields,
        "url": serializers.CharField(help_text="The progress page."),
        "status_url": serializers.CharField(help_text="This status, for polling."),
    })


def accepted(job) -> Response:
    """202 for an upload queued as a background import: its status, and ``Location`` to poll."""
    body = job.status_payload()
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class UploadJobStatusView(APIView):
    """GET the status of one background import (``model``); ``allowed`` says who may see it."""

    model: type | None = None

    def allowed(self, user, job) -> bool:
        return True

    def get(self, request, pk: int):
        job = self.model.objects.filter(pk=pk).first()
        if job is None:
            raise NotFound("No such import.")
        if not self.allowed(request.user, job):
            raise PermissionDenied(IMPORT_FOLLOWERS)
        return Response(job.status_payload())


def status_view_schema(job_schema):
    """The OpenAPI description of an ``UploadJobStatusView`` subclass's GET."""
    return extend_schema_view(get=extend_schema(responses={
        200: job_schema, 403: OpenApiResponse(description="Not allowed to follow this import"),
        404: OpenApiResponse(description="No such import")}))


class UploadJobCancelView(APIView):
    """POST to cancel one background import (``model``): staff or the uploader, like every job's cancel."""

    model: type | None = None

    @extend_schema(request=None, responses={200: OpenApiResponse(description="The import's status, cancelled"),
                                            400: OpenApiResponse(description="The import had already ended"),
                                            403: OpenApiResponse(description="Not staff or the uploader"),
                                            404: OpenApiResponse(description="No such import")})
    def post(self, request, pk: int):
        job = self.model.objects.filter(pk=pk).first()
        if job is None:
            raise NotFound("No such import.")
        cancel_job(job, request.user, noun="import")
        job.refresh_from_db()
        return Response(job.status_payload())
