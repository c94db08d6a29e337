from django.contrib import admin

from scheduling.models import Deployment, Execution, ExecutionJob, RoutingPolicy, ScheduleJob, Workload


@admin.register(Workload)
class WorkloadAdmin(admin.ModelAdmin):
    list_display = ("name", "n_queries", "total_tokens", "is_synthetic", "source_filename", "created")
    list_filter = ("is_synthetic",)
    search_fields = ("name", "description", "source_filename", "content_sha256")
    # Queries live in the .npz file written by the importer; edit metadata only.
    readonly_fields = ("n_queries", "total_tokens", "content_sha256", "data_file", "columns", "stats",
                       "histograms", "generator", "has_ids", "has_timestamps", "created_by", "created")

    def has_add_permission(self, request):
        return False  # imports go through /workloads/upload/ so every row is validated


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("__str__", "energy_fit_choice", "runtime_fit_choice", "min_share", "max_share",
                    "instances", "gpus_per_instance", "horizon_s")
    list_filter = ("energy_fit_choice", "hardware", "llm")
    list_select_related = ("llm", "hardware")
    search_fields = ("llm__name", "hardware__name", "notes")
    raw_id_fields = ("energy_fit", "runtime_fit")


@admin.register(ScheduleJob)
class ScheduleJobAdmin(admin.ModelAdmin):
    list_display = ("id", "workload", "objective", "status", "steps_done", "steps_total", "created", "finished")
    list_filter = ("status", "objective")
    list_select_related = ("workload",)
    search_fields = ("workload__name", "error")
    readonly_fields = ("deployment_specs", "results", "solver_stats", "assignment_file", "created",
                       "started", "finished")


class ExecutionJobInline(admin.TabularInline):
    model = ExecutionJob
    extra = 0
    can_delete = False
    fields = ("deployment_key", "status", "steps_done", "steps_total", "queries_total", "attempts", "worker", "error")
    readonly_fields = fields


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    # Read-only: batches are written by the workers under their claims, never edited by hand.
    list_display = ("id", "schedule_job", "plan_index", "batch_size", "queries_planned", "drift_threshold_pct",
                    "created")
    list_select_related = ("schedule_job",)
    readonly_fields = ("schedule_job", "plan_index", "batch_size", "backend", "foreground", "queries_planned",
                       "refit_requested", "created_by", "created")
    inlines = [ExecutionJobInline]

    def has_add_permission(self, request):
        return False  # executions start from the plan page, the API or execute_plan, which validate them


@admin.register(RoutingPolicy)
class RoutingPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "objective", "zeta", "predictor", "training_workload", "version", "created_by",
                    "created")
    list_filter = ("objective", "predictor")
    list_select_related = ("training_workload", "created_by")
    search_fields = ("name", "training_workload__name")
    # Shares come from the planner (make_policy) and readings from executions: shown, not typed.
    readonly_fields = ("policy", "queues", "feedback", "feedback_executions", "replays", "version", "created_by",
                       "created", "updated")
    raw_id_fields = ("training_workload",)

    def has_add_permission(self, request):
        return False  # make_policy, the API or the page compute the shares
