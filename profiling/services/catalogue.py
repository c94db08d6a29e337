"""The published reference catalogue: the LLMs, systems and energy models of
Wilkins, Mortier & Keshav (2024), "Offline Energy-Optimal LLM Serving"
(arXiv:2407.04014).

Plain data plus one idempotent ``seed()`` so the management command, ``make
run`` and the tests all share it. Names match the ``Model`` and ``System``
columns of the paper's published CSVs, so an import of those files resolves
rows without aliases; aliases cover the other spellings found in the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

CITATION = "Wilkins, Mortier & Keshav 2024, arXiv:2407.04014, Table 5.2"
ACCURACY_SOURCE = (
    "Open LLM Leaderboard average, as reported in Wilkins, Mortier & Keshav 2024, "
    "arXiv:2407.04014, Table 4.1"
)
# The paper's sweeps cover 8..2048 input and output tokens (powers of two).
TOKEN_RANGE = (8, 2048)

LLMS = [
    # name, family, parameters (B), active parameters (B), min A100s, A_K (%), weights
    {"name": "Falcon (7B)", "family": "Falcon", "parameters_b": 7.0, "active_parameters_b": 7.0,
     "min_gpus": 1, "accuracy": 44.17, "weights": "tiiuae/falcon-7b"},
    {"name": "Falcon (40B)", "family": "Falcon", "parameters_b": 40.0, "active_parameters_b": 40.0,
     "min_gpus": 3, "accuracy": 58.07, "weights": "tiiuae/falcon-40b"},
    {"name": "Llama-2 (7B)", "family": "Llama-2", "parameters_b": 7.0, "active_parameters_b": 7.0,
     "min_gpus": 1, "accuracy": 50.97, "weights": "meta-llama/Llama-2-7b-hf"},
    {"name": "Llama-2 (13B)", "family": "Llama-2", "parameters_b": 13.0, "active_parameters_b": 13.0,
     "min_gpus": 1, "accuracy": 55.69, "weights": "meta-llama/Llama-2-13b-hf"},
    {"name": "Llama-2 (70B)", "family": "Llama-2", "parameters_b": 70.0, "active_parameters_b": 70.0,
     "min_gpus": 4, "accuracy": 64.52, "weights": "meta-llama/Llama-2-70b-hf"},
    {"name": "Mistral (7B)", "family": "Mistral", "parameters_b": 7.0, "active_parameters_b": 7.0,
     "min_gpus": 1, "accuracy": 60.97, "weights": "mistralai/Mistral-7B-v0.1"},
    # Mixture of experts: 46.7B parameters in all, 12.9B active per token (2 of 8 experts).
    {"name": "Mixtral (8x7B)", "family": "Mixtral", "parameters_b": 46.7, "active_parameters_b": 12.9,
     "min_gpus": 3, "accuracy": 68.47, "weights": "mistralai/Mixtral-8x7B-v0.1"},
]

LLM_ALIASES = {
    "Falcon (7B)": ["falcon-7b", "tiiuae/falcon-7b"],
    "Falcon (40B)": ["falcon-40b", "tiiuae/falcon-40b"],
    "Llama-2 (7B)": ["llama-2-7b", "Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf"],
    "Llama-2 (13B)": ["llama-2-13b", "Llama-2-13b-hf", "meta-llama/Llama-2-13b-hf"],
    "Llama-2 (70B)": ["llama-2-70b", "Llama-2-70b-hf", "meta-llama/Llama-2-70b-hf"],
    "Mistral (7B)": ["mistral-7b", "Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1"],
    "Mixtral (8x7B)": ["mixtral-8x7b", "Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-v0.1"],
}

SYSTEMS = [
    {"name": "Swing AMD+A100", "slug": "swing-amd-a100", "cpu_model": "AMD EPYC 7742", "cpu_sockets": 2, "cpu_cores": 128,
     "dram_gb": 1024.0, "gpu_model": "NVIDIA A100 40GB", "gpu_count": 8, "gpu_memory_gb": 40.0,
     "gpu_tdp_w": 400.0, "cpu_tdp_w": 225.0,
     "notes": "Argonne LCRC Swing node: 2x AMD EPYC 7742 (64 cores each), 8x NVIDIA A100 40GB, 1 TB DRAM. "
              "Reference system of Wilkins et al. 2024; the Table 5.2 models were fitted here."},
    {"name": "Palmetto Intel+V100", "slug": "palmetto-intel-v100", "cpu_model": "Intel Xeon Gold 6148G", "cpu_sockets": 2,
     "cpu_cores": 40, "dram_gb": 376.0, "gpu_model": "NVIDIA V100 16GB", "gpu_count": 2,
     "gpu_memory_gb": 16.0, "gpu_tdp_w": 250.0, "cpu_tdp_w": 150.0,
     "notes": "Clemson Palmetto cluster node: Intel Xeon 6148G (40 cores), 2x NVIDIA V100 16GB, 376 GB DRAM. "
              "TDPs are the vendors' figures (Xeon Gold 6148 150 W, V100 PCIe 250 W)."},
    {"name": "Palmetto Intel+A100", "slug": "palmetto-intel-a100", "cpu_model": "Intel Xeon (Palmetto A100 node)", "cpu_sockets": 2,
     "cpu_cores": None, "dram_gb": None, "gpu_model": "NVIDIA A100", "gpu_count": 1,
     "gpu_memory_gb": None, "gpu_tdp_w": None, "cpu_tdp_w": None,
     "notes": "Clemson Palmetto cluster node with NVIDIA A100 GPUs (the paper's runs used one); the "
              "paper does not give its full specification, so unknown fields are left empty."},
    {"name": "M1-Pro", "slug": "m1-pro", "cpu_model": "Apple M1 Pro", "cpu_sockets": 1, "cpu_cores": None,
     "dram_gb": 32.0, "gpu_model": "Apple M1 Pro integrated GPU", "gpu_count": 1,
     "gpu_memory_gb": 32.0, "gpu_tdp_w": None, "cpu_tdp_w": None,
     "notes": "MacBook Pro with Apple M1 Pro and 32 GB unified memory (GPU memory is the shared pool). "
              "The paper does not say which M1 Pro core count; left empty."},
]

HARDWARE_ALIASES = {
    "Swing AMD+A100": ["argonne-swing", "swing", "Argonne Swing"],
    "Palmetto Intel+V100": ["palmetto-v100"],
    "Palmetto Intel+A100": ["palmetto-a100"],
    "M1-Pro": ["MacBook Pro M1 Pro", "macbook-m1-pro", "M1 Pro"],
}

# Table 5.2: e = a0*tin + a1*tout + a2*tin*tout (J), r = b0*tin + b1*tout + b2*tin*tout (s),
# OLS on Swing AMD+A100.
TABLE_5_2 = {
    "Falcon (7B)": ((-8.81, 41.28, 8.91e-02), (-2.45e-02, 1.07e-01, 2.42e-04)),
    "Falcon (40B)": ((-20.76, 197.37, 2.35e-01), (-3.61e-02, 3.62e-01, 4.02e-04)),
    "Llama-2 (7B)": ((-3.89, 31.52, 4.27e-02), (-1.00e-02, 8.35e-02, 1.07e-04)),
    "Llama-2 (13B)": ((-6.79, 56.01, 7.29e-02), (-1.74e-02, 1.43e-01, 1.85e-04)),
    "Llama-2 (70B)": ((-12.03, 414.82, 3.15e-01), (-3.12e-02, 7.03e-01, 5.33e-04)),
    "Mistral (7B)": ((-3.12, 31.69, 3.53e-02), (-7.80e-03, 8.10e-02, 8.10e-02)),
    "Mixtral (8x7B)": ((-8.48, 105.54, 9.86e-02), (-1.34e-02, 2.96e-01, 1.50e-04)),
}
PUBLISHED_ON = "Swing AMD+A100"
# Printed values we keep as published but flag, so nobody plans on them unknowingly.
WARNINGS = {
    ("Mistral (7B)", "runtime"): [
        "b2 printed as 8.10e-02 in the paper (sic); likely a typo for ~8.1e-05"
    ],
}


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        bucket = self.created if created else self.updated
        bucket[kind] = bucket.get(kind, 0) + 1

    def lines(self) -> list[str]:
        kinds = sorted(set(self.created) | set(self.updated))
        return [f"{k}: {self.created.get(k, 0)} created, {self.updated.get(k, 0)} updated" for k in kinds]


def published_diagnostics(coefficients: dict, target: str, notes: list[str]) -> dict:
    """The validity checks every fitted form gets: negative coefficients, negative predictions
    inside the published range (Table 5.2's negative a0 predicts negative energy for short
    outputs on long prompts)."""
    from profiling.fitting import regression

    negative = regression.negative_region(coefficients, TOKEN_RANGE, TOKEN_RANGE)
    warnings = list(notes) + regression.model_warnings("paper", coefficients, TOKEN_RANGE, TOKEN_RANGE,
                                                    target=target)
    return {"warnings": warnings, "negative_in_range": negative, "eligible": negative is None,
            "ineligible_reason": "predicts negative values inside the measured range (physically invalid)"
            if negative else "",
            "energy_components": "gpu" if target == "energy" else ""}


def _coefficients(values: tuple[float, float, float]) -> dict[str, float]:
    return dict(zip(("tin", "tout", "tin_tout"), values, strict=True))


@transaction.atomic
def seed() -> SeedReport:
    """Create or update every catalogue row; running it again changes nothing."""
    from profiling.choices import FitForm, FitSource, FitTarget
    from profiling.models import LLM, EnergyModelFit, Hardware, HardwareAlias, LLMAlias

    report = SeedReport()
    llms = {}
    for spec in LLMS:
        values = {k: v for k, v in spec.items() if k != "name"}
        values["accuracy_source"] = ACCURACY_SOURCE
        obj, created = LLM.objects.update_or_create(name=spec["name"], defaults=values)
        obj.full_clean()
        llms[obj.name] = obj
        report.count("llms", created)
    systems = {}
    for spec in SYSTEMS:
        values = {k: v for k, v in spec.items() if k != "name"}
        values["is_reference"] = True
        obj, created = Hardware.objects.update_or_create(name=spec["name"], defaults=values)
        obj.full_clean()
        systems[obj.name] = obj
        report.count("hardware", created)
    for name, aliases in LLM_ALIASES.items():
        for alias in aliases:
            _, created = LLMAlias.objects.update_or_create(alias=alias, defaults={"llm": llms[name]})
            report.count("llm aliases", created)
    for name, aliases in HARDWARE_ALIASES.items():
        for alias in aliases:
            _, created = HardwareAlias.objects.update_or_create(
                alias=alias, defaults={"hardware": systems[name]})
            report.count("hardware aliases", created)
    hardware = systems[PUBLISHED_ON]
    for name, (energy, runtime) in TABLE_5_2.items():
        for target, values in ((FitTarget.ENERGY, energy), (FitTarget.RUNTIME, runtime)):
            defaults = {
                "coefficients": _coefficients(values),
                "citation": CITATION,
                "diagnostics": published_diagnostics(_coefficients(values), target.value,
                                                     WARNINGS.get((name, target.value), [])),
                "metrics": {},
                # Never the fit to use: chosen explicitly, with its warnings (one selected fit
                # per pair and target is the fitted form cross-validation chose).
                "is_selected": False,
                "energy_components": "gpu" if target == FitTarget.ENERGY else "",
                "identifiable": True,
                "uses_estimated_energy": False,
                "tin_min": TOKEN_RANGE[0], "tin_max": TOKEN_RANGE[1],
                "tout_min": TOKEN_RANGE[0], "tout_max": TOKEN_RANGE[1],
            }
            fit, created = EnergyModelFit.objects.update_or_create(
                llm=llms[name], hardware=hardware, target=target,
                form=FitForm.PAPER, source=FitSource.PUBLISHED, defaults=defaults,
            )
            fit.full_clean()
            report.count("published fits", created)
    return report
