from scheduling.models.executions import (
    ExecutedBatch,
    ExecutedMeasurement,
    ExecutedQuery,
    Execution,
    ExecutionJob,
)
from scheduling.models.imports import WorkloadImportJob
from scheduling.models.planning import Deployment, ScheduleJob, Workload
from scheduling.models.routing import RoutingPolicy

__all__ = [
    "Deployment",
    "ExecutedBatch",
    "ExecutedMeasurement",
    "ExecutedQuery",
    "Execution",
    "ExecutionJob",
    "RoutingPolicy",
    "ScheduleJob",
    "Workload",
    "WorkloadImportJob",
]
