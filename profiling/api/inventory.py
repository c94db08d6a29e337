"""API for the inventory: hardware, LLMs (read for users, write for staff) and fits (read)."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from energyweb.api.deletion import ProtectedDestroyMixin
from energyweb.api.pagination import KeysetPagination
from profiling.models import LLM, EnergyModelFit, Hardware


class ModelCleanMixin:
    """Run the model's full_clean() so Model.clean() rules give field-keyed 400s.

    One rule, one place: the admin, imports and the API share the model's rules.
    """

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        instance = self.instance or model()
        # Copy onto a detached object so a failed validation leaves the instance untouched.
        candidate = model(**{f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields})
        candidate._state.adding = self.instance is None
        for name, value in attrs.items():
            setattr(candidate, name, value)
        try:
            candidate.full_clean(validate_unique=True)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs


class HardwareSerializer(ModelCleanMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="hardware-detail", lookup_field="slug")
    queue_name = serializers.CharField(read_only=True)
    is_online = serializers.BooleanField(read_only=True)
    kind = serializers.ChoiceField(choices=["reference", "host", "no worker"], read_only=True,
                                   help_text='"no worker": described by hand, no worker registered it.')
    energy_counters = serializers.ListField(child=serializers.CharField(), read_only=True)
    aliases = serializers.SlugRelatedField(many=True, read_only=True, slug_field="alias")

    class Meta:
        model = Hardware
        fields = [
            "url", "id", "name", "slug", "hostname", "is_reference", "cpu_model", "cpu_sockets",
            "cpu_cores", "dram_gb", "gpu_model", "gpu_count", "gpu_memory_gb", "gpu_tdp_w", "cpu_tdp_w",
            "idle_power_gpu_w", "idle_power_cpu_w", "idle_power_dram_w", "has_nvml_energy",
            "has_nvml_power", "rapl_domains", "backends", "energy_counters", "queue_name", "last_heartbeat",
            "is_online", "kind", "aliases", "notes", "created", "updated",
        ]
        read_only_fields = ["last_heartbeat", "backends", "created", "updated"]
        extra_kwargs = {"slug": {"required": False}}


class LLMSerializer(ModelCleanMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="llm-detail", lookup_field="slug")
    aliases = serializers.SlugRelatedField(many=True, read_only=True, slug_field="alias")

    class Meta:
        model = LLM
        fields = [
            "url", "id", "name", "slug", "family", "parameters_b", "active_parameters_b", "min_gpus",
            "accuracy", "accuracy_source", "weights", "architecture_config", "dtype", "aliases",
            "created", "updated",
        ]
        read_only_fields = ["created", "updated"]
        extra_kwargs = {"slug": {"required": False}}


class EnergyModelFitSerializer(serializers.ModelSerializer):
    llm = serializers.SlugRelatedField(read_only=True, slug_field="slug")
    llm_name = serializers.CharField(source="llm.name", read_only=True)
    hardware = serializers.SlugRelatedField(read_only=True, slug_field="slug")
    hardware_name = serializers.CharField(source="hardware.name", read_only=True)
    coefficients = serializers.SerializerMethodField()

    class Meta:
        model = EnergyModelFit
        fields = [
            "id", "llm", "llm_name", "hardware", "hardware_name", "target", "form", "source",
            "coefficients", "metrics", "diagnostics", "citation", "identifiable", "is_selected", "is_stale",
            "uses_estimated_energy", "energy_components", "n", "tin_min", "tin_max", "tout_min", "tout_max", "created",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "number"},
                          "example": {"tin": -3.89, "tout": 31.52, "tin_tout": 0.0427}})
    def get_coefficients(self, obj) -> dict[str, float]:
        return obj.coefficients


class HardwareFilter(django_filters.FilterSet):
    class Meta:
        model = Hardware
        fields = {"is_reference": ["exact"], "gpu_model": ["exact", "icontains"],
                  "gpu_count": ["exact", "gte"], "has_nvml_energy": ["exact"]}


class LLMFilter(django_filters.FilterSet):
    class Meta:
        model = LLM
        fields = {"family": ["exact"], "min_gpus": ["exact", "lte"], "dtype": ["exact"]}


class EnergyModelFitFilter(django_filters.FilterSet):
    llm = django_filters.CharFilter(field_name="llm__slug", help_text="LLM slug")
    hardware = django_filters.CharFilter(field_name="hardware__slug", help_text="Hardware slug")

    class Meta:
        model = EnergyModelFit
        fields = ["llm", "hardware", "target", "source", "form", "is_selected", "identifiable", "is_stale",
                  "uses_estimated_energy"]


class HardwareViewSet(ProtectedDestroyMixin, viewsets.ModelViewSet):
    queryset = Hardware.objects.prefetch_related("aliases").order_by("name")
    serializer_class = HardwareSerializer
    lookup_field = "slug"
    filterset_class = HardwareFilter
    ordering_fields = ["name", "gpu_count", "cpu_cores", "dram_gb", "last_heartbeat", "created"]
    search_fields = ["name", "slug", "hostname", "cpu_model", "gpu_model", "aliases__alias"]


class LLMViewSet(ProtectedDestroyMixin, viewsets.ModelViewSet):
    queryset = LLM.objects.prefetch_related("aliases").order_by("name")
    serializer_class = LLMSerializer
    lookup_field = "slug"
    filterset_class = LLMFilter
    ordering_fields = ["name", "parameters_b", "active_parameters_b", "accuracy", "min_gpus", "created"]
    search_fields = ["name", "slug", "family", "weights", "aliases__alias"]


class EnergyModelFitViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = EnergyModelFit.objects.select_related("llm", "hardware").order_by(
        "llm__name", "hardware__name", "target", "-created")
    serializer_class = EnergyModelFitSerializer
    pagination_class = KeysetPagination
    filterset_class = EnergyModelFitFilter
    ordering_fields = ["created", "target", "llm__name", "hardware__name", "n", "id"]
    search_fields = ["llm__name", "hardware__name", "citation"]


def register(router):
    """Register this module's viewsets on the app router."""
    router.register("hardware", HardwareViewSet, basename="hardware")
    router.register("llms", LLMViewSet, basename="llm")
    router.register("fits", EnergyModelFitViewSet, basename="fit")


urlpatterns = []
