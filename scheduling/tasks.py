"""The scheduling app's job tasks, for callers that run one in this process (tests, benchmarks).

The tasks themselves are created by the job-kind registry (``SchedulingConfig.ready()``,
energyweb/jobs/registry.py), named from the model label; nothing here names a task.
"""

from __future__ import annotations

from energyweb.jobs.registry import task

run_schedule_job = task("scheduling.ScheduleJob")
run_execution_job = task("scheduling.ExecutionJob")
run_workload_import = task("scheduling.WorkloadImportJob")
