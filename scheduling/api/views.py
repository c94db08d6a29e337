from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from energyweb.api.parsers import BoundedJSONParser
from energyweb.api.throttling import JobCreationThrottle
from energyweb.api.upload_jobs import (
    UploadJobCancelView,
    UploadJobStatusView,
    accepted,
    status_view_schema,
    upload_job_schema,
)
from energyweb.jobs.usecases import cancel_job
from energyweb.permissions import AuthenticatedMayPost, ReadAuthenticatedWriteStaff, may_manage_job
from scheduling.api.serializers import (
    DeploymentSerializer,
    ScheduleJobCreateSerializer,
    ScheduleJobSerializer,
    WorkloadGenerateSerializer,
    WorkloadSerializer,
    WorkloadUploadSerializer,
)
from scheduling.models import Deployment, ScheduleJob, Workload, WorkloadImportJob
from scheduling.services import jobs, workload_jobs
from scheduling.services.generator import DEFAULT_TIN, DEFAULT_TOUT, generate_workload
from scheduling.services.plans import submit_plan
from scheduling.services.workloads import stats_rows

WORKLOAD_IMPORT_JOB_SCHEMA = upload_job_schema("WorkloadImportJob", {
    "name": serializers.CharField(), "step": serializers.ChoiceField(choices=WorkloadImportJob.STEPS),
    "rows_read": serializers.IntegerField(), "workload": serializers.IntegerField(allow_null=True),
    "workload_url": serializers.CharField(allow_null=True, help_text="The workload's page once imported."),
}, "Once succeeded: workload, name, n_queries, total_tokens, url; once failed: detail, errors "
   "(row, column, message; first 50), error_count, errors_not_shown.")


class WorkloadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Workloads; create by uploading a CSV (multipart: name, description, file). Staff write."""

    throttle_classes = [JobCreationThrottle]
    queryset = Workload.objects.order_by("-created", "id")
    serializer_class = WorkloadSerializer
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, BoundedJSONParser]
    filterset_fields = ["is_synthetic"]
    search_fields = ["name", "description"]
    ordering_fields = ["created", "name", "n_queries"]

    @extend_schema(request=WorkloadUploadSerializer, responses={
        201: WorkloadSerializer,
        202: OpenApiResponse(WORKLOAD_IMPORT_JOB_SCHEMA, description=(
            "A file above ENERGYWEB_IMPORT_SYNC_MAX_KB: stored and queued as a background import; "
            "poll status_url (also in Location)")),
        400: OpenApiResponse(description="Row/column errors (first 50, error_count) or a field error; "
                                         "nothing written"),
        429: OpenApiResponse(description="Too many of this user's workload imports are queued or running")})
    def create(self, request, *args, **kwargs):
        """Upload a workload CSV. Files up to ENERGYWEB_IMPORT_SYNC_MAX_KB are imported in the request
        (201); larger ones are stored and imported by a background job (202 with the job)."""
        upload = WorkloadUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        d = upload.validated_data
        done = workload_jobs.submit_workload(d["file"], d["name"], description=d["description"], user=request.user)
        if done.queued:
            return accepted(done.job)
        return Response(WorkloadSerializer(done.result, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=WorkloadGenerateSerializer, responses={201: WorkloadSerializer})
    @action(detail=False, methods=["post"])
    def generate(self, request):
        """A synthetic workload from named distributions (seeded); labelled is_synthetic."""
        s = WorkloadGenerateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        wl = generate_workload(d["name"], d["n"], d.get("tin") or DEFAULT_TIN, d.get("tout") or DEFAULT_TOUT,
                               d["seed"], user=request.user)
        return Response(WorkloadSerializer(wl, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        wl = self.get_object()
        return Response({"stats": wl.stats, "histograms": wl.histograms, "histogram_rows": stats_rows(wl)})


@status_view_schema(WORKLOAD_IMPORT_JOB_SCHEMA)
class WorkloadImportJobView(UploadJobStatusView):
    """Progress and outcome of a background workload import: staff, or the user who uploaded it."""

    permission_classes = [AuthenticatedMayPost]
    model = WorkloadImportJob

    def allowed(self, user, job) -> bool:
        return may_manage_job(user, job)


class DeploymentViewSet(viewsets.ModelViewSet):
    """Deployments: an LLM on hardware with its planning models, shares and capacity. Staff write."""

    queryset = Deployment.objects.select_related("llm", "hardware").order_by("llm__name", "hardware__name", "id")
    serializer_class = DeploymentSerializer
    filterset_fields = ["llm", "hardware", "energy_fit_choice"]


class ScheduleJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Planning jobs. Any signed-in user may create one (it computes, changing no inventory);
    only staff may delete. Creating answers 201 and queues the job on the `default` queue."""

    throttle_classes = [JobCreationThrottle]
    queryset = ScheduleJob.objects.select_related("workload").prefetch_related(
        Prefetch("deployments", queryset=Deployment.objects.order_by("id"))).order_by("-created", "-id")
    serializer_class = ScheduleJobSerializer
    filterset_fields = ["status", "objective", "workload"]

    def field_error_key(self, field):
        """On create, a parameter's error goes under ``parameters``, the request field that holds it."""
        if self.action != "create" or field in ("objective", "deployments"):
            return field
        return "parameters"

    def get_permissions(self):
        if self.action in ("create", "cancel"):
            return [AuthenticatedMayPost()]
        return [ReadAuthenticatedWriteStaff()]

    @extend_schema(request=None, responses={200: ScheduleJobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a pending or running job (staff, or the user who created it)."""
        job = self.get_object()
        cancel_job(job, request.user)
        job.refresh_from_db()
        return Response(ScheduleJobSerializer(job, context={"request": request}).data)

    @extend_schema(request=ScheduleJobCreateSerializer, responses={201: ScheduleJobSerializer})
    def create(self, request, *args, **kwargs):
        s = ScheduleJobCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        job = submit_plan(d["workload"], d["deployments"], d["objective"], d["parameters"], user=request.user)
        return Response(ScheduleJobSerializer(job, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        job = self.get_object()
        body = {"id": job.pk, "status": job.status, "error": job.error, "results": job.results or None}
        if job.results.get("plans"):
            body["summary"] = jobs.summary(job.results)
        return Response(body)

    @extend_schema(parameters=[OpenApiParameter("plan", int, description="Plan index in the sweep")],
                   responses={(200, "text/csv"): str})
    @action(detail=True, methods=["get"])
    def assignment(self, request, pk=None):
        from scheduling.views.plans import assignment_response

        job = self.get_object()
        index = request.query_params.get("plan")
        if index is not None and not index.isdigit():
            raise ValidationError({"plan": ["A plan index (0, 1, ...)."]})
        return assignment_response(job, None if index is None else int(index))


class WorkloadImportJobCancelView(UploadJobCancelView):
    """Cancel a background workload import: staff, or the user who uploaded it."""

    permission_classes = [AuthenticatedMayPost]
    model = WorkloadImportJob
