"""API for profiling runs: start one (staff), read progress, cancel, list its measurements."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from energyweb.api.throttling import JobCreationThrottle
from energyweb.jobs.usecases import cancel_job
from energyweb.permissions import AuthenticatedMayPost, ReadAuthenticatedWriteStaff
from profiling.choices import Dtype, InferenceBackend, SweepDesign
from profiling.models import LLM, Hardware, ProfilingRun
from profiling.services import coverage, profiling_runs


class ProfilingRunSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="profilingrun-detail")
    llm_name = serializers.CharField(source="llm.name", read_only=True)
    hardware_name = serializers.CharField(source="hardware.name", read_only=True)
    trials_done = serializers.IntegerField(read_only=True)
    trials_planned = serializers.IntegerField(read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    eta_seconds = serializers.FloatField(read_only=True, allow_null=True)
    queue = serializers.CharField(source="job_queue", read_only=True)

    class Meta:
        model = ProfilingRun
        fields = ["id", "url", "llm", "llm_name", "hardware", "hardware_name", "backend", "design", "grid",
                  "batch_size", "min_trials", "max_trials", "ci_tolerance_s", "warmup_trials", "seed", "dtype",
                  "use_cache", "status", "cells_total", "cells_done", "trials_done", "trials_planned",
                  "progress_percent", "eta_seconds", "attempts", "worker", "queue", "summary", "error",
                  "created", "started", "finished"]
        read_only_fields = fields


class ProfilingRunCreateSerializer(serializers.Serializer):
    llm = serializers.SlugRelatedField(slug_field="slug", queryset=LLM.objects.all(),
                                       help_text="The LLM's slug, e.g. tiny-random-llama.")
    hardware = serializers.SlugRelatedField(slug_field="slug", queryset=Hardware.objects.all(),
                                            help_text="The hardware's slug (its worker consumes hw.<slug>).")
    backend = serializers.ChoiceField(choices=InferenceBackend.choices, default=InferenceBackend.HF)
    design = serializers.ChoiceField(choices=SweepDesign.choices, default=SweepDesign.GRID_SMALL)
    dtype = serializers.ChoiceField(choices=Dtype.choices, default=Dtype.AUTO)
    use_cache = serializers.BooleanField(default=True)
    batch_size = serializers.IntegerField(required=False, min_value=1, max_value=1024)
    min_trials = serializers.IntegerField(required=False, min_value=1, max_value=profiling_runs.MAX_TRIALS_PER_CELL)
    max_trials = serializers.IntegerField(required=False, min_value=1, max_value=profiling_runs.MAX_TRIALS_PER_CELL)
    ci_tolerance_s = serializers.FloatField(required=False, min_value=0, max_value=3600)
    warmup_trials = serializers.IntegerField(required=False, min_value=0, max_value=10)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    input_tokens = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                         max_length=100, help_text="Custom design only.")
    output_tokens = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                          max_length=100, help_text="Custom design only.")
    cover_workload = serializers.IntegerField(
        required=False, min_value=1,
        help_text="A workload's id: design the run over the cells it needs and the pair's measurements lack "
                  "(the design becomes 'coverage').")
    target_share = serializers.FloatField(required=False, min_value=0, max_value=0.99,
                                          default=coverage.DEFAULT_TARGET,
                                          help_text="Coverage: stop designing at this extrapolated share.")
    budget_trials = serializers.IntegerField(required=False, min_value=1, max_value=10_000,
                                             default=coverage.DEFAULT_BUDGET_TRIALS,
                                             help_text="Coverage: the most trials the run may plan.")


def start_run(data: dict, user) -> ProfilingRun:
    """Create a run from validated data; RunParameterError becomes a field-keyed 400 (energyweb/api/exceptions.py)."""
    if "cover_workload" in data or data["design"] == SweepDesign.COVERAGE:
        return start_coverage(data, user)
    params = {k: data[k] for k in ("batch_size", "min_trials", "max_trials", "ci_tolerance_s", "warmup_trials",
                                   "seed", "input_tokens", "output_tokens") if k in data}
    return profiling_runs.create_run(data["llm"], data["hardware"], backend=data["backend"],
                                     design=data["design"], params=params, dtype=data["dtype"],
                                     use_cache=data["use_cache"], user=user)


def start_coverage(data: dict, user) -> ProfilingRun:
    if "cover_workload" not in data:
        raise ValidationError({"cover_workload": ["A coverage run is designed from a workload: give its id."]})
    workload = coverage.find("workload", data["cover_workload"])
    if workload is None:
        raise ValidationError({"cover_workload": [f"No workload has id {data['cover_workload']}."]})
    return coverage.start_coverage_run(data["llm"], data["hardware"], workload, target=data["target_share"],
                                       budget_trials=data["budget_trials"], backend=data["backend"],
                                       dtype=data["dtype"], use_cache=data["use_cache"],
                                       seed=data.get("seed", 0), user=user)


class ProfilingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          viewsets.GenericViewSet):
    """Profiling runs: staff start one on a hardware's queue; signed-in users follow its progress."""

    throttle_classes = [JobCreationThrottle]
    queryset = ProfilingRun.objects.select_related("llm", "hardware").order_by("-created", "-id")
    serializer_class = ProfilingRunSerializer
    filterset_fields = ["status", "llm", "hardware", "backend", "design"]

    def get_permissions(self):
        # Cancelling is for staff or the run's creator (checked in the action); starting is staff only.
        if self.action == "cancel":
            return [AuthenticatedMayPost()]
        return [ReadAuthenticatedWriteStaff()]

    @extend_schema(request=ProfilingRunCreateSerializer, responses={201: ProfilingRunSerializer})
    def create(self, request, *args, **kwargs):
        s = ProfilingRunCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        run = start_run(s.validated_data, request.user)
        return Response(ProfilingRunSerializer(run, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ProfilingRunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a pending or running run; a running one stops after its current trial."""
        run = self.get_object()
        cancel_job(run, request.user, noun="run")
        run.refresh_from_db()
        return Response(ProfilingRunSerializer(run, context={"request": request}).data)

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def summary(self, request, pk=None):
        """The run's summary, as `manage.py profile --json` prints it (a coverage run adds the workload's
        extrapolated share before and, once it succeeded, after)."""
        return Response(coverage.summary(self.get_object()))


def register(router):
    router.register("profiling-runs", ProfilingRunViewSet, basename="profilingrun")


urlpatterns: list = []
