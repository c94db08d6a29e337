"""Fixtures for measurement tests: a small reference catalogue and file helpers."""

from __future__ import annotations

import pytest

from profiling.models import LLM, Hardware, HardwareAlias

# The seven LLMs and four systems of Wilkins et al. (2024), by the names their CSVs use.
REFERENCE_LLMS = {
    "Falcon (7B)": 7, "Falcon (40B)": 40, "Llama-2 (7B)": 7, "Llama-2 (13B)": 13,
    "Llama-2 (70B)": 70, "Mistral (7B)": 7, "Mixtral (8x7B)": 46.7,
}
REFERENCE_SYSTEMS = ["Swing AMD+A100", "Palmetto Intel+A100", "Palmetto Intel+V100", "M1-Pro"]


@pytest.fixture
def reference_catalogue(db):
    """LLM and Hardware rows the reference files name, created directly.

    Kept independent of ``manage.py seed_reference`` so these tests pin only
    what the importer needs (swap in call_command("seed_reference") if wanted).
    """
    llms = {name: LLM.objects.create(name=name, parameters_b=p, weights=f"placeholder/{name}")
            for name, p in REFERENCE_LLMS.items()}
    systems = {name: Hardware.objects.create(name=name) for name in REFERENCE_SYSTEMS}
    HardwareAlias.objects.create(alias="argonne-swing", hardware=systems["Swing AMD+A100"])
    return {"llms": llms, "hardware": systems}


@pytest.fixture
def pair(db):
    """One LLM and one hardware row for small synthetic files."""
    llm = LLM.objects.create(name="Tiny LM (1B)", parameters_b=1, weights="test/tiny")
    hw = Hardware.objects.create(name="Test Box", gpu_model="A100", gpu_count=1)
    return llm, hw


OWN_HEADER = "llm,hardware,input_tokens,output_tokens,batch_size,runtime_s,gpu_energy_j,cpu_energy_j,iteration"


def own_csv(*rows: str, header: str = OWN_HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()
