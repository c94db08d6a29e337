from scheduling.models.executions import ExecutedBatch, ExecutedQuery, Execution, ExecutionJob
from scheduling.models.imports import WorkloadImportJob
from scheduling.models.planning import Deployment, ScheduleJob, Workload
from scheduling.models.routing import RoutingPolicy

__all__ = [
    "Deployment",
    "ExecutedBatch",
    "ExecutedQuery",
    "Execution",
    "ExecutionJob",
    "RoutingPolicy",
    "ScheduleJob",
    "Workload",
    "WorkloadImportJob",
]
