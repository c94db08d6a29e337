"""Admin for the hardware and LLM inventory and energy model fits.

Validation lives in the models' clean(), which ModelAdmin forms call, so the
admin enforces the same rules as the API and the CSV import.
"""

from django.contrib import admin

from energyweb.deletion import protected_message
from profiling.models import LLM, EnergyModelFit, Hardware, HardwareAlias, LLMAlias


class ProtectedDeleteAdmin(admin.ModelAdmin):
    """Name what holds a row in one line per row, counted (energyweb/deletion.py), instead of the
    collector listing every protected measurement; Django then refuses the delete as usual."""

    def get_deleted_objects(self, objs, request):
        held = [m for m in (protected_message(o) for o in objs) if m]
        if held:
            return [], {}, set(), held
        return super().get_deleted_objects(objs, request)


class HardwareAliasInline(admin.TabularInline):
    model = HardwareAlias
    extra = 0


class LLMAliasInline(admin.TabularInline):
    model = LLMAlias
    extra = 0


@admin.register(Hardware)
class HardwareAdmin(ProtectedDeleteAdmin):
    list_display = ("name", "slug", "is_reference", "cpu_model", "cpu_cores", "gpu_model", "gpu_count",
                    "has_nvml_energy", "rapl_list", "online", "last_heartbeat")
    list_filter = ("is_reference", "gpu_model", "has_nvml_energy", "has_nvml_power")
    search_fields = ("name", "slug", "hostname", "cpu_model", "gpu_model", "aliases__alias")
    ordering = ("-is_reference", "name")
    readonly_fields = ("queue_name", "last_heartbeat", "created", "updated")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [HardwareAliasInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "hostname", "is_reference", "queue_name", "notes")}),
        ("CPU and memory", {"fields": ("cpu_model", "cpu_sockets", "cpu_cores", "cpu_tdp_w", "dram_gb")}),
        ("GPU", {"fields": ("gpu_model", "gpu_count", "gpu_memory_gb", "gpu_tdp_w")}),
        ("Idle power", {"fields": ("idle_power_gpu_w", "idle_power_cpu_w", "idle_power_dram_w")}),
        ("Energy counters", {"fields": ("has_nvml_energy", "has_nvml_power", "rapl_domains")}),
        ("Status", {"fields": ("last_heartbeat", "created", "updated")}),
    )

    @admin.display(boolean=True, description="online")
    def online(self, obj):
        return obj.is_online

    @admin.display(description="RAPL")
    def rapl_list(self, obj):
        return ", ".join(obj.rapl_domains) or "-"


@admin.register(LLM)
class LLMAdmin(ProtectedDeleteAdmin):
    list_display = ("name", "family", "parameters_b", "active_parameters_b", "min_gpus", "accuracy",
                    "weights", "dtype")
    list_filter = ("family", "dtype", "min_gpus")
    search_fields = ("name", "slug", "family", "weights", "aliases__alias")
    ordering = ("name",)
    readonly_fields = ("created", "updated")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [LLMAliasInline]


@admin.register(HardwareAlias)
class HardwareAliasAdmin(admin.ModelAdmin):
    list_display = ("alias", "hardware")
    list_select_related = ("hardware",)
    search_fields = ("alias", "hardware__name")
    list_filter = ("hardware",)
    ordering = ("alias",)
    autocomplete_fields = ("hardware",)


@admin.register(LLMAlias)
class LLMAliasAdmin(admin.ModelAdmin):
    list_display = ("alias", "llm")
    list_select_related = ("llm",)
    search_fields = ("alias", "llm__name")
    list_filter = ("llm",)
    ordering = ("alias",)
    autocomplete_fields = ("llm",)


@admin.register(EnergyModelFit)
class EnergyModelFitAdmin(admin.ModelAdmin):
    list_display = ("llm", "hardware", "target", "form", "source", "is_selected", "identifiable",
                    "uses_estimated_energy", "n", "created")
    list_filter = ("source", "target", "form", "is_selected", "identifiable", "uses_estimated_energy",
                   "hardware", "llm")
    list_select_related = ("llm", "hardware")
    search_fields = ("llm__name", "hardware__name", "citation")
    ordering = ("llm__name", "hardware__name", "target", "-created")
    readonly_fields = ("created",)
    autocomplete_fields = ("llm", "hardware")
    date_hierarchy = "created"
