from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from scheduling.choices import FitChoice
from scheduling.models import Deployment, ScheduleJob, Workload
from scheduling.planner import objective_registry
from scheduling.services.generator import MAX_QUERIES, MAX_SEED


@extend_schema_field({"type": "string", "pattern": "^(" + "|".join(FitChoice.values) + ")$",
                      "description": "published, selected, or specific (then give the fit id)"})
class FitChoiceField(serializers.ChoiceField):
    """The energy and runtime choices share one choice set; as an enum the schema generator
    would name it twice and warn (the house schema test fails on warnings), so the schema
    states the values as a pattern instead."""

    def __init__(self, **kwargs):
        super().__init__(choices=FitChoice.choices, **kwargs)


class WorkloadSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="workload-detail")

    class Meta:
        model = Workload
        fields = ["id", "url", "name", "description", "source_filename", "is_synthetic", "generator",
                  "n_queries", "total_tokens", "content_sha256", "columns", "has_ids", "has_timestamps",
                  "stats", "created"]
        read_only_fields = fields


class WorkloadUploadSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    file = serializers.FileField(help_text="CSV or CSV.gz of input/output token counts.")


class DeploymentSerializer(serializers.ModelSerializer):
    key = serializers.CharField(read_only=True)
    capacity_gpu_s = serializers.FloatField(read_only=True, allow_null=True)
    llm_name = serializers.CharField(source="llm.name", read_only=True)
    hardware_name = serializers.CharField(source="hardware.name", read_only=True)
    energy_fit_choice = FitChoiceField(required=False, default=FitChoice.SELECTED)
    runtime_fit_choice = FitChoiceField(required=False, default=FitChoice.SELECTED)

    class Meta:
        model = Deployment
        fields = ["id", "key", "llm", "llm_name", "hardware", "hardware_name", "energy_fit_choice", "energy_fit",
                  "runtime_fit_choice", "runtime_fit", "min_share", "max_share", "instances",
                  "gpus_per_instance", "horizon_s", "capacity_gpu_s", "notes", "created"]
        read_only_fields = ["created"]

    def validate(self, attrs):
        # One rule, one place: Model.clean() (the exception handler turns its errors into 400s).
        instance = self.instance or Deployment()
        for k, v in attrs.items():
            setattr(instance, k, v)
        instance.full_clean(exclude=["notes"])
        return attrs


class ScheduleJobSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="schedulejob-detail")
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ScheduleJob
        fields = ["id", "url", "workload", "deployments", "objective", "parameters", "status", "steps_done",
                  "steps_total", "progress_percent", "error", "solver_stats", "created", "started", "finished"]
        read_only_fields = fields


class ScheduleJobCreateSerializer(serializers.Serializer):
    workload = serializers.PrimaryKeyRelatedField(queryset=Workload.objects.all())
    deployments = serializers.PrimaryKeyRelatedField(queryset=Deployment.objects.all(), many=True,
                                                     allow_empty=False)
    objective = serializers.ChoiceField(
        choices=objective_registry.choices(), default=objective_registry.PAPER_ENERGY_ACCURACY.name,
        error_messages={"invalid_choice": "Unknown objective {input!r}: one of " + ", ".join(objective_registry.names())
                        + "."})
    parameters = serializers.DictField(
        required=False, default=dict,
        help_text="zeta (or zetas: list, or sweep: true), accuracy_target, energy_budget_j, deadline_s, "
                  "time_limit_s, seed, allow_clamping (default false: a model predicting zero or negative "
                  "energy or runtime for a query is refused)")


class WorkloadGenerateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    n = serializers.IntegerField(min_value=1, max_value=MAX_QUERIES, help_text="Number of queries.")
    tin = serializers.CharField(required=False, help_text="e.g. lognormal:mu=6.5,sigma=1 or resample:<workload>")
    tout = serializers.CharField(required=False, help_text="e.g. uniform:low=8,high=512")
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_SEED)
