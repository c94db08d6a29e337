from django.db import models


class Dtype(models.TextChoices):
    FLOAT16 = "float16", "float16"
    BFLOAT16 = "bfloat16", "bfloat16"
    FLOAT32 = "float32", "float32"
    AUTO = "auto", "auto"


class FitTarget(models.TextChoices):
    ENERGY = "energy", "Energy (J)"
    RUNTIME = "runtime", "Runtime (s)"


class FitSource(models.TextChoices):
    PUBLISHED = "published", "Published"
    FITTED = "fitted", "Fitted"


class FitForm(models.TextChoices):
    # e = a0*tin + a1*tout + a2*tin*tout, no intercept (Wilkins et al. 2024, eq. 3.2)
    PAPER = "paper", "Paper (a0·tin + a1·tout + a2·tin·tout)"
    NNLS = "nnls", "Non-negative with intercept"
    EXTENDED = "extended", "Extended transformer-cost form"
    # Physics-structured forms, identifiable on a cross of two sweeps (fitting.py says why).
    CACHED = "cached", "Decode with KV cache (tin, tin², tout, tin·tout + tout²/2)"
    RECOMPUTE = "recompute", "Decode without KV cache (cached + tin²·tout + tin·tout² + tout³/3)"


class EnergySource(models.TextChoices):
    NVML_COUNTER = "nvml-counter", "NVML energy counter"
    NVML_POWER = "nvml-power-integration", "NVML power integration"
    RAPL = "rapl", "RAPL"
    ESTIMATE_TDP = "estimate-tdp", "Estimate (TDP x time)"
    IMPORTED = "imported", "Imported"

    @classmethod
    def estimated(cls) -> set[str]:
        return {cls.ESTIMATE_TDP}



class InferenceBackend(models.TextChoices):
    HF = "hf", "Hugging Face transformers (PyTorch, CPU or CUDA)"
    VLLM = "vllm", "vLLM (CUDA hosts)"


class SweepDesign(models.TextChoices):
    GRID_SMALL = "grid-small", "Small grid for CPUs (4x4 small counts, 3 trials per cell)"
    PAPER_INPUT = "paper-input-sweep", "Paper: input sweep at fixed output"
    PAPER_OUTPUT = "paper-output-sweep", "Paper: output sweep at fixed input"
    PAPER_CROSS = "paper-cross", "Paper: both sweeps (a cross, 18 cells)"
    PAPER_GRID = "paper-grid", "Paper: full 9x9 grid 8..2048"
    CUSTOM = "custom", "Custom grid (input and output lists)"
    COVERAGE = "coverage", "Coverage: the cells a workload needs and the measurements lack"
