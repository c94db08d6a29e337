"""API for executions of plans: start one (staff: it occupies the hosts), follow it, cancel, report, refit."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from energyweb.api.throttling import JobCreationThrottle
from energyweb.jobs.usecases import cancel_job
from energyweb.permissions import ReadAuthenticatedWriteStaff
from profiling.choices import InferenceBackend
from scheduling.models import Execution, ExecutionJob, ScheduleJob
from scheduling.services import execution as ex
from scheduling.services import execution_report


class ExecutionJobSerializer(serializers.ModelSerializer):
    queue = serializers.CharField(source="job_queue", read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    eta_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = ExecutionJob
        fields = ["id", "deployment_index", "deployment_key", "llm", "hardware", "queue", "status",
                  "queries_total", "steps_done", "steps_total", "progress_percent", "eta_seconds", "attempts",
                  "worker", "error", "started", "finished"]
        read_only_fields = fields


class ExecutionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="execution-detail")
    status = serializers.CharField(read_only=True)
    jobs = ExecutionJobSerializer(many=True, read_only=True)

    class Meta:
        model = Execution
        fields = ["id", "url", "schedule_job", "plan_index", "batch_size", "backend", "drift_threshold_pct",
                  "foreground", "queries_planned", "status", "jobs", "refit_requested", "created"]
        read_only_fields = fields


class ExecuteSerializer(serializers.Serializer):
    batch_size = serializers.IntegerField(required=False, min_value=1, max_value=ex.MAX_BATCH_SIZE, default=8)
    plan_index = serializers.IntegerField(required=False, min_value=0, allow_null=True, default=None)
    backend = serializers.ChoiceField(choices=InferenceBackend.choices, default=InferenceBackend.HF)
    drift_threshold_pct = serializers.FloatField(required=False, allow_null=True, default=None,
                                                 help_text="Flag a deployment whose MAPE exceeds this (%).")


def start(job, data: dict, user) -> Execution:
    """Create an execution from validated data; ExecutionError becomes a field-keyed 400 (energyweb/api/exceptions.py)."""
    return ex.create_execution(job, data.get("batch_size"), plan_index=data.get("plan_index"),
                               backend=data.get("backend", InferenceBackend.HF),
                               drift_threshold_pct=data.get("drift_threshold_pct"), user=user)


class ExecutePlanView(APIView):
    """POST /api/v1/schedule-jobs/{id}/execute/: serve a finished plan's queries on the deployments' hosts."""

    throttle_classes = [JobCreationThrottle]
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(request=ExecuteSerializer, responses={201: ExecutionSerializer})
    def post(self, request, pk: int):
        job = get_object_or_404(ScheduleJob, pk=pk)
        s = ExecuteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        execution = start(job, s.validated_data, request.user)
        return Response(ExecutionSerializer(execution, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Executions of plans: progress per deployment, the report (JSON or CSV), cancel, refit."""

    throttle_classes = [JobCreationThrottle]
    queryset = Execution.objects.prefetch_related("jobs").order_by("-created", "-id")
    serializer_class = ExecutionSerializer
    permission_classes = [ReadAuthenticatedWriteStaff]
    filterset_fields = ["schedule_job"]

    def get_permissions(self):
        if self.action == "cancel":
            from energyweb.permissions import AuthenticatedMayPost

            return [AuthenticatedMayPost()]
        return super().get_permissions()

    @extend_schema(request=None, responses={200: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the unfinished parts (staff or its creator); a running part stops before its next batch."""
        execution = self.get_object()
        cancel_job(execution, request.user, noun="execution", cancel=ex.cancel)
        execution = Execution.objects.get(pk=execution.pk)  # the prefetched parts are stale now
        return Response(ExecutionSerializer(execution, context={"request": request}).data)

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        """Predicted against measured energy and runtime; ?download=csv for one row per deployment and a total
        (not ?format=, which DRF keeps for choosing a renderer)."""
        execution = self.get_object()
        as_csv = request.query_params.get("download") == "csv"
        rep = execution_report.report(execution, scatter=not as_csv)
        if as_csv:
            resp = HttpResponse(execution_report.report_csv(rep), content_type="text/csv")
            resp["Content-Disposition"] = f'attachment; filename="execution-{execution.pk}-report.csv"'
            return resp
        return Response(rep)

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=True, methods=["get"])
    def queries(self, request, pk=None):
        """Per-query results (CSV, streamed)."""
        execution = self.get_object()
        resp = StreamingHttpResponse(execution_report.queries_csv_lines(execution), content_type="text/csv")
        resp["Content-Disposition"] = f'attachment; filename="execution-{execution.pk}-queries.csv"'
        return resp

    @extend_schema(request=None, responses={202: dict})
    @action(detail=True, methods=["post"])
    def refit(self, request, pk=None):
        """Refit each executed (LLM, hardware) pair with the executed queries included (staff)."""
        pairs = ex.request_refit(self.get_object())
        return Response({"refit_pairs": [{"llm": a, "hardware": b} for a, b in pairs]},
                        status=status.HTTP_202_ACCEPTED)
