"""Two weight-free LLMs for demos and tests on any CPU.

Energy and runtime depend on a model's architecture, not on its weight values,
so a randomly initialised Llama-shaped model exercises the whole pipeline
(profiling, fitting, planning, execution) with no download. Their accuracies are
MADE UP (a bigger model is given a higher one) so that they can be planned over;
they say so wherever the accuracy source is shown.
"""

from __future__ import annotations

from django.db import transaction

MADE_UP = "Made up for demos: a weight-free random model has no real accuracy"

TINY = [
    {"name": "tiny-random-llama", "family": "Llama (random)", "accuracy": 30.0,
     "notes": "Llama architecture, 2 layers, hidden size 64"},
    {"name": "tiny-random-llama-2x", "family": "Llama (random)", "accuracy": 35.0,
     "notes": "Llama architecture, 4 layers, hidden size 128"},
]


def seed_tiny_llms() -> list[str]:
    """Create or update the tiny LLMs; returns report lines. Idempotent."""
    from profiling.backends.architectures import architecture, parameter_count
    from profiling.models import LLM

    lines = []
    with transaction.atomic():
        for spec in TINY:
            arch = architecture(spec["name"])
            params_b = parameter_count(arch) / 1e9
            _, created = LLM.objects.update_or_create(name=spec["name"], defaults={
                "family": spec["family"], "parameters_b": params_b, "active_parameters_b": params_b,
                "min_gpus": 1, "accuracy": spec["accuracy"], "accuracy_source": MADE_UP, "weights": "",
                "architecture_config": arch, "dtype": "float32",
            })
            lines.append(f"{'created' if created else 'updated'} LLM {spec['name']} ({spec['notes']}, "
                         f"{parameter_count(arch):,} parameters, weight-free)")
    return lines
