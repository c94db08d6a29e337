"""seed_reference writes the paper's catalogue, and running it again changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command

from profiling.fitting import terms
from profiling.models import LLM, EnergyModelFit, Hardware, HardwareAlias, LLMAlias

pytestmark = pytest.mark.django_db


def snapshot():
    def rows(qs, *fields):
        return sorted(tuple(str(v) for v in row) for row in qs.values_list(*fields))

    return {
        "llm": rows(LLM.objects, "id", "name", "slug", "parameters_b", "active_parameters_b", "min_gpus",
                    "accuracy", "weights", "accuracy_source"),
        "hw": rows(Hardware.objects, "id", "name", "slug", "is_reference", "cpu_model", "cpu_cores",
                   "gpu_count", "gpu_memory_gb", "dram_gb"),
        "hw_alias": rows(HardwareAlias.objects, "alias", "hardware_id"),
        "llm_alias": rows(LLMAlias.objects, "alias", "llm_id"),
        "fits": rows(EnergyModelFit.objects, "id", "llm_id", "hardware_id", "target", "form", "source",
                     "coefficients", "diagnostics", "citation", "is_selected", "created"),
    }


def test_seed_twice_leaves_the_same_rows():
    call_command("seed_reference", stdout=StringIO())
    first = snapshot()
    out = StringIO()
    call_command("seed_reference", stdout=out)
    assert snapshot() == first
    assert "0 created" in out.getvalue()
    assert len(first["llm"]) == 9  # the paper's seven and the two weight-free tiny LLMs
    assert len(first["hw"]) == 4
    assert sum(1 for f in first["fits"] if f[5] == "published") == 14


def test_names_match_the_published_csvs(seeded):
    assert set(LLM.objects.values_list("name", flat=True)) == {
        "Falcon (7B)", "Falcon (40B)", "Llama-2 (7B)", "Llama-2 (13B)", "Llama-2 (70B)",
        "Mistral (7B)", "Mixtral (8x7B)"}
    assert set(Hardware.objects.filter(is_reference=True).values_list("name", flat=True)) == {
        "Swing AMD+A100", "Palmetto Intel+A100", "Palmetto Intel+V100", "M1-Pro"}
    assert HardwareAlias.objects.get(alias="argonne-swing").hardware.name == "Swing AMD+A100"
    assert HardwareAlias.objects.get(alias="MacBook Pro M1 Pro").hardware.name == "M1-Pro"


def test_csv_names_resolve(seeded, wilkins_dir):
    import csv

    known_hw = set(Hardware.objects.values_list("name", flat=True)) | set(
        HardwareAlias.objects.values_list("alias", flat=True))
    known_llm = set(LLM.objects.values_list("name", flat=True))
    for path in wilkins_dir.glob("*.csv"):
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                assert row["System"] in known_hw, (path.name, row["System"])
                assert row["Model"] in known_llm, (path.name, row["Model"])


def test_table_4_1_and_models(seeded):
    mixtral = LLM.objects.get(name="Mixtral (8x7B)")
    assert (mixtral.accuracy, mixtral.min_gpus, mixtral.parameters_b, mixtral.active_parameters_b) == (
        68.47, 3, 46.7, 12.9)
    assert LLM.objects.get(name="Llama-2 (70B)").min_gpus == 4
    assert LLM.objects.get(name="Falcon (7B)").weights == "tiiuae/falcon-7b"
    assert "Table 4.1" in mixtral.accuracy_source
    swing = Hardware.objects.get(name="Swing AMD+A100")
    assert (swing.cpu_sockets, swing.cpu_cores, swing.gpu_count, swing.gpu_memory_gb, swing.dram_gb) == (
        2, 128, 8, 40.0, 1024.0)
    assert (swing.gpu_tdp_w, swing.cpu_tdp_w) == (400.0, 225.0)


def test_table_5_2_coefficients(seeded):
    fit = EnergyModelFit.objects.get(llm__name="Llama-2 (7B)", target="energy")
    assert fit.coefficients == {"tin": -3.89, "tout": 31.52, "tin_tout": 4.27e-02}
    # Published fits are chosen explicitly, never selected: the paper form goes negative.
    assert fit.source == "published" and fit.form == "paper" and not fit.is_selected
    assert fit.hardware.name == "Swing AMD+A100"
    assert "Table 5.2" in fit.citation
    assert (fit.tin_min, fit.tin_max, fit.tout_min, fit.tout_max) == (8, 2048, 8, 2048)
    # 100 tokens in, 100 out: -389 + 3152 + 427 J.
    assert terms.predict(fit.coefficients, [100], [100])[0] == pytest.approx(3190.0)
    runtime = EnergyModelFit.objects.get(llm__name="Falcon (40B)", target="runtime")
    assert runtime.coefficients == {"tin": -3.61e-02, "tout": 3.62e-01, "tin_tout": 4.02e-04}


def test_mistral_runtime_typo_is_kept_and_flagged(seeded):
    fit = EnergyModelFit.objects.get(llm__name="Mistral (7B)", target="runtime")
    assert fit.coefficients["tin_tout"] == 8.10e-02
    assert any("(sic)" in w for w in fit.diagnostics["warnings"])
    assert not any("(sic)" in w for other in EnergyModelFit.objects.exclude(pk=fit.pk)
                   for w in other.diagnostics["warnings"])


def test_published_fits_get_validity_diagnostics(seeded):
    """Table 5.2's negative tin coefficients are flagged, like a fitted form's would be."""
    fit = EnergyModelFit.objects.get(llm__name="Llama-2 (7B)", target="energy", source="published")
    assert fit.diagnostics["eligible"] is False
    assert fit.diagnostics["negative_in_range"]["min_prediction"] < 0
    assert any(w.startswith("Physically invalid: negative coefficient(s) tin=-3.89") for w in fit.diagnostics["warnings"])
    assert any(w.startswith("Negative predictions inside the measured range") for w in fit.diagnostics["warnings"])


def test_seed_restores_edited_values(seeded):
    LLM.objects.filter(name="Falcon (7B)").update(accuracy=1.0)
    call_command("seed_reference", "--no-measurements", stdout=StringIO())
    assert LLM.objects.get(name="Falcon (7B)").accuracy == 44.17
