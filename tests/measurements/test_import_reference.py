"""The three published files import cleanly, counted against an independent reading of the file."""

import csv

import pytest

from profiling.models import ImportBatch, Measurement
from profiling.services.measurement_import import import_measurements

FILES = ["multi-system.csv", "swing-input-sweep.csv", "swing-output-sweep.csv"]


def inference_rows(path):
    with open(path, newline="") as fh:
        # Swing/Palmetto rows are start-inference-*, the M1-Pro rows inference-* (#15).
        return [r for r in csv.DictReader(fh) if r["Phase"].startswith(("start-inference", "inference-"))]


@pytest.mark.parametrize("name", FILES)
def test_reference_file_imports_every_inference_row(wilkins_dir, reference_catalogue, name):
    path = wilkins_dir / name
    expected = inference_rows(path)
    with open(path, newline="") as fh:
        all_rows = sum(1 for _ in csv.DictReader(fh))

    summary = import_measurements(path, enqueue_refits=False)

    assert summary.rows == len(expected) == Measurement.objects.count()
    assert summary.skipped_phases == all_rows - len(expected)
    assert summary.warmups == sum(r["Iteration"] == "0" for r in expected)
    assert Measurement.objects.filter(is_warmup=True).count() == summary.warmups
    assert Measurement.objects.filter(is_warmup=True).exclude(iteration=0).count() == 0
    assert ImportBatch.objects.get().row_count == len(expected)
    assert not Measurement.objects.filter(is_estimated=True).exists()
    assert sum(p["rows"] for p in summary.pairs) == len(expected)


def test_totals_are_cpu_plus_gpu_and_sources_imported(wilkins_dir, reference_catalogue):
    path = wilkins_dir / "swing-input-sweep.csv"
    expected = inference_rows(path)
    import_measurements(path, enqueue_refits=False)
    ms = list(Measurement.objects.order_by("id"))
    assert len(ms) == len(expected)
    for m, r in zip(ms, expected, strict=True):
        assert m.input_tokens == int(r["Number of Input Tokens"])
        assert m.output_tokens == int(r["Number of Output Tokens"])
        assert m.gpu_energy_j == pytest.approx(float(r["GPU Energy (J)"]))
        assert m.cpu_energy_j == pytest.approx(float(r["CPU Energy (J)"]))
        assert m.total_energy_j == pytest.approx(float(r["CPU Energy (J)"]) + float(r["GPU Energy (J)"]))
        assert m.dram_energy_j is None and m.dram_energy_source == ""
        assert (m.gpu_energy_source, m.cpu_energy_source) == ("imported", "imported")
        assert m.llm.name == r["Model"]


def test_argonne_swing_alias_maps_to_swing(wilkins_dir, reference_catalogue):
    summary = import_measurements(wilkins_dir / "swing-output-sweep.csv", enqueue_refits=False)
    swing = reference_catalogue["hardware"]["Swing AMD+A100"]
    assert {p["hardware"] for p in summary.pairs} == {"Swing AMD+A100"}
    assert Measurement.objects.exclude(hardware=swing).count() == 0
    # One pair per LLM: the alias and the name do not split a pair in two.
    assert len(summary.pairs) == 7


def test_negative_cpu_readings_in_multi_system_are_dropped_with_warnings(wilkins_dir, reference_catalogue):
    path = wilkins_dir / "multi-system.csv"
    negative = [r for r in inference_rows(path) if float(r["CPU Energy (J)"]) < 0]
    assert negative, "the published file has negative RAPL readings"
    summary = import_measurements(path, enqueue_refits=False)
    assert summary.warning_count == len(negative)
    assert {w["column"] for w in summary.warnings} == {"CPU Energy (J)"}
    dropped = Measurement.objects.filter(cpu_energy_j__isnull=True)
    assert dropped.count() == len(negative)
    for m in dropped:
        assert m.cpu_energy_source == ""
        assert m.total_energy_j == m.gpu_energy_j


def test_strict_energy_rejects_negative_readings(wilkins_dir, reference_catalogue):
    from profiling.services.measurement_import import ImportFailed

    with pytest.raises(ImportFailed) as info:
        import_measurements(wilkins_dir / "multi-system.csv", negative_energy="error", enqueue_refits=False)
    assert info.value.errors[0].column == "CPU Energy (J)"
    assert "negative" in info.value.errors[0].message
    assert Measurement.objects.count() == 0 and ImportBatch.objects.count() == 0
