from profiling.models.imports import MeasurementImportJob
from profiling.models.inventory import LLM, EnergyModelFit, Hardware, HardwareAlias, LLMAlias
from profiling.models.measurements import ImportBatch, Measurement, ProfilingRun
from profiling.models.refits import RefitJob

__all__ = [
    "LLM",
    "EnergyModelFit",
    "Hardware",
    "HardwareAlias",
    "ImportBatch",
    "LLMAlias",
    "Measurement",
    "MeasurementImportJob",
    "ProfilingRun",
    "RefitJob",
]
