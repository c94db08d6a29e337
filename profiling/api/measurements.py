"""API for measurements: read-only rows, import batches (staff may delete), and the import action."""

from __future__ import annotations

from django.conf import settings
from django.db.models import F
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from energyweb.api.pagination import KeysetPagination
from energyweb.api.throttling import JobCreationThrottle
from energyweb.api.upload_jobs import (
    UploadJobCancelView,
    UploadJobStatusView,
    accepted,
    status_view_schema,
    upload_job_schema,
)
from energyweb.permissions import IsStaff
from profiling.forms import MeasurementFilter
from profiling.models import ImportBatch, Measurement, MeasurementImportJob
from profiling.services import import_jobs


class MeasurementSerializer(serializers.ModelSerializer):
    llm_name = serializers.CharField(source="llm.name", read_only=True)
    hardware_name = serializers.CharField(source="hardware.name", read_only=True)
    energy_estimated = serializers.BooleanField(
        source="is_estimated", read_only=True,
        help_text="True when at least one energy component is an estimate (TDP x time), not a reading.")

    class Meta:
        model = Measurement
        fields = [
            "id", "llm", "llm_name", "hardware", "hardware_name", "profiling_run", "import_batch",
            "input_tokens", "output_tokens", "batch_size", "runtime_s", "gpu_energy_j", "cpu_energy_j",
            "dram_energy_j", "total_energy_j", "gpu_energy_source", "cpu_energy_source",
            "dram_energy_source", "energy_estimated", "is_estimated", "is_warmup", "iteration",
            "measured_at",
        ]


class ImportBatchSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)
    warmups = serializers.IntegerField(read_only=True)
    estimated = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportBatch
        fields = ["id", "filename", "content_hash", "row_count", "skipped_rows", "warmups", "estimated",
                  "created_by", "created"]


class MeasurementViewSet(viewsets.ReadOnlyModelViewSet):
    # Import order by default: it pages by the primary key index even over millions of rows.
    queryset = Measurement.objects.select_related("llm", "hardware").order_by("id")
    pagination_class = KeysetPagination
    serializer_class = MeasurementSerializer
    filterset_class = MeasurementFilter
    ordering_fields = ["input_tokens", "output_tokens", "runtime_s", "total_energy_j", "iteration", "id"]


class ImportBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                         viewsets.GenericViewSet):
    """Imported files. Deleting a batch (staff) deletes its measurements."""

    queryset = ImportBatch.objects.select_related("created_by").annotate(warmups=F("warmup_rows"), estimated=F("estimated_rows")).order_by("-created", "-id")
    serializer_class = ImportBatchSerializer
    filterset_fields = ["filename"]


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()

    def validate_file(self, upload):
        limit = settings.MAX_UPLOAD_MB
        if upload.size > limit * 1024 * 1024:
            raise serializers.ValidationError(f"The file is {upload.size / 1e6:.0f} MB; the limit is {limit} MB.")
        return upload

    llm = serializers.CharField(required=False, allow_blank=True,
                                help_text="LLM name, slug or alias, for files without a Model/llm column.")
    hardware = serializers.CharField(required=False, allow_blank=True,
                                     help_text="Hardware name, slug or alias, for files without a System column.")
    create_missing = serializers.BooleanField(required=False, default=False)
    strict_energy = serializers.BooleanField(
        required=False, default=False, help_text="Reject negative energy readings instead of dropping them.")
    allow_duplicate = serializers.BooleanField(
        required=False, default=False,
        help_text="Import even when an earlier batch stored these rows (found by content, not bytes); 409 otherwise.")


ERRORS_SCHEMA = inline_serializer("ImportErrors", {
    "errors": serializers.ListField(child=inline_serializer("ImportError", {
        "row": serializers.IntegerField(allow_null=True), "line": serializers.IntegerField(allow_null=True),
        "column": serializers.CharField(allow_null=True), "message": serializers.CharField()})),
    "error_count": serializers.IntegerField(),
})


IMPORT_JOB_SCHEMA = upload_job_schema("MeasurementImportJob", {
    "rows_validated": serializers.IntegerField(), "rows_written": serializers.IntegerField(),
    "batch": serializers.IntegerField(allow_null=True),
}, "The import summary once succeeded; the ImportErrors once failed.")


class MeasurementImportView(APIView):
    """Import a measurement CSV; all rows or none. Staff only.

    Files up to ENERGYWEB_IMPORT_SYNC_MAX_KB are imported in the request (201 with the summary);
    larger ones are stored and imported by a background job (202 with the job, whose
    ``status_url`` gives progress and, at the end, the summary or the row/column errors)."""

    throttle_classes = [JobCreationThrottle]
    permission_classes = [IsStaff]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]

    @extend_schema(
        request=ImportRequestSerializer,
        responses={201: OpenApiResponse(description="Import summary"),
                   202: OpenApiResponse(IMPORT_JOB_SCHEMA, description="A large file: queued as a background import"),
                   400: OpenApiResponse(ERRORS_SCHEMA, description="Row/column errors; nothing written"),
                   409: OpenApiResponse(ERRORS_SCHEMA, description="These rows were imported before (duplicate_of names the batch)")},
    )
    def post(self, request):
        form = ImportRequestSerializer(data=request.data)
        if not form.is_valid():
            # Field-keyed as everywhere, plus the documented ImportErrors shape (schema fuzzing found
            # the bare {"file": [...]} violating it); "column" names the field.
            errors = [{"row": None, "line": None, "column": field, "message": str(message)}
                      for field, messages in form.errors.items() for message in messages]
            body = {field: [str(m) for m in messages] for field, messages in form.errors.items()}
            return Response({**body, "errors": errors, "error_count": len(errors)},
                            status=status.HTTP_400_BAD_REQUEST)
        data = form.validated_data
        for key in ("llm", "hardware"):
            data[key] = data.get(key) or None
        options = dict(llm=data["llm"], hardware=data["hardware"], create_missing=data["create_missing"],
                       negative_energy="error" if data["strict_energy"] else "drop", user=request.user,
                       allow_duplicate=data["allow_duplicate"])
        # ImportFailed is answered by the exception handler: its row/column report, 400 (409 for a duplicate).
        done = import_jobs.submit_measurements(data["file"], **options)
        if done.queued:
            return accepted(done.job)
        return Response(done.result.as_dict(), status=status.HTTP_201_CREATED)


@status_view_schema(IMPORT_JOB_SCHEMA)
class MeasurementImportJobView(UploadJobStatusView):
    """Progress and outcome of a background measurement import. Staff only."""

    permission_classes = [IsStaff]
    model = MeasurementImportJob


class MeasurementImportJobCancelView(UploadJobCancelView):
    """Cancel a background measurement import; nothing it validated is written. Staff only."""

    permission_classes = [IsStaff]
    model = MeasurementImportJob


def register(router):
    """Register this module's viewsets on the app router."""
    router.register("measurements", MeasurementViewSet, basename="measurement")
    router.register("import-batches", ImportBatchViewSet, basename="importbatch")


urlpatterns = [
    path("measurements/import/", MeasurementImportView.as_view(), name="measurement-import"),
    path("measurements/import/jobs/<int:pk>/", MeasurementImportJobView.as_view(), name="measurement-import-job"),
    path("measurements/import/jobs/<int:pk>/cancel/", MeasurementImportJobCancelView.as_view(),
         name="measurement-import-job-cancel"),
]
