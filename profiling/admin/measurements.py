"""Admin for measurements, import batches and profiling runs."""

from django.contrib import admin
from django.db.models import Count, Q

from profiling.models import ImportBatch, Measurement, ProfilingRun


@admin.register(Measurement)
class MeasurementAdmin(admin.ModelAdmin):
    list_display = ("id", "llm", "hardware", "input_tokens", "output_tokens", "batch_size", "iteration",
                    "runtime_s", "total_energy_j", "is_estimated", "is_warmup", "import_batch")
    list_filter = ("is_warmup", "is_estimated", "llm", "hardware", "gpu_energy_source", "cpu_energy_source")
    search_fields = ("llm__name", "hardware__name", "import_batch__filename")
    list_select_related = ("llm", "hardware", "import_batch")
    raw_id_fields = ("llm", "hardware", "profiling_run", "import_batch")
    readonly_fields = ("total_energy_j", "is_estimated")
    list_per_page = 100
    # Newest first by primary key: the model's grouped ordering would sort millions of rows per page.
    ordering = ("-id",)
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        # Derived fields follow the components, as the importer computes them.
        obj.total_energy_j = obj.compute_total()
        obj.is_estimated = obj.compute_is_estimated()
        super().save_model(request, obj, form, change)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "filename", "row_count", "skipped_rows", "measurement_count", "warmups",
                    "created_by", "created")
    search_fields = ("filename", "content_hash")
    readonly_fields = ("filename", "content_hash", "row_count", "skipped_rows", "created_by", "created")
    list_select_related = ("created_by",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_measurements=Count("measurements"),
            n_warmups=Count("measurements", filter=Q(measurements__is_warmup=True)))

    @admin.display(description="measurements now", ordering="n_measurements")
    def measurement_count(self, obj):
        return obj.n_measurements

    @admin.display(description="warm-ups", ordering="n_warmups")
    def warmups(self, obj):
        return obj.n_warmups

    def get_deleted_objects(self, objs, request):
        # The stock page lists every related row: a million measurements would not render.
        # Summarise instead; the delete itself cascades in the database.
        deleted, model_count, perms_needed, protected = super().get_deleted_objects([], request)
        batches = list(objs)
        rows = Measurement.objects.filter(import_batch__in=batches).count()
        summary = [f"{b} (batch #{b.pk})" for b in batches]
        model_count = {"import batches": len(batches), "measurements": rows}
        if rows and not request.user.has_perm("profiling.delete_measurement"):
            perms_needed = set(perms_needed) | {"measurement"}
        return summary, model_count, perms_needed, protected

    def has_add_permission(self, request):
        return False  # batches come from imports (the upload page, API or command)


@admin.register(ProfilingRun)
class ProfilingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "llm", "hardware", "backend", "design", "status", "steps_done", "steps_total",
                    "attempts", "created", "finished")
    list_filter = ("status", "backend", "design", "hardware")
    list_select_related = ("llm", "hardware")
    raw_id_fields = ("llm", "hardware", "created_by")
    # The job lifecycle owns these: edit them and a worker's claim would be broken.
    readonly_fields = ("created", "started", "finished", "status", "steps_done", "steps_total", "cells_done",
                       "attempts", "lease_owner", "lease_expires", "worker", "enqueued_at", "summary", "error")

    def has_add_permission(self, request):
        return False  # runs are started from the profiling page, the API or `manage.py profile`
