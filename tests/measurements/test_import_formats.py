"""Files the importer accepts: partial energy, gzip, BOM, delimiters, forced pairs, sources, creation."""

import gzip
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiling.models import LLM, Hardware, HardwareAlias, LLMAlias, Measurement
from profiling.services.measurement_import import import_measurements
from tests.measurements.conftest import own_csv

GOOD = "Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,1"


def test_gpu_only_file(pair):
    data = own_csv("Tiny LM (1B),Test Box,32,64,2.0,120.5,0", "Tiny LM (1B),Test Box,32,64,1.9,118.0,1",
                   header="llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,iteration")
    summary = import_measurements(data, enqueue_refits=False)
    assert summary.rows == 2 and summary.warmups == 1
    m = Measurement.objects.get(iteration=0)
    assert (m.gpu_energy_j, m.cpu_energy_j, m.dram_energy_j, m.total_energy_j) == (120.5, None, None, 120.5)
    assert (m.gpu_energy_source, m.cpu_energy_source, m.dram_energy_source) == ("imported", "", "")
    assert m.is_warmup and not m.is_estimated
    assert m.batch_size == 1


def test_cpu_only_file_with_dram(pair):
    data = own_csv("Tiny LM (1B),Test Box,16,8,0.5,30.0,4.5",
                   header="llm,hardware,input_tokens,output_tokens,runtime_s,cpu_energy_j,dram_energy_j")
    import_measurements(data, enqueue_refits=False)
    m = Measurement.objects.get()
    assert m.gpu_energy_j is None and m.gpu_energy_source == ""
    assert m.total_energy_j == pytest.approx(34.5)
    assert (m.cpu_energy_source, m.dram_energy_source) == ("imported", "imported")
    # No iteration column: nothing is called a warm-up.
    assert not m.is_warmup


def test_rows_may_miss_a_component(pair):
    data = own_csv("Tiny LM (1B),Test Box,32,64,1,1.5,100.0,,1", GOOD)
    import_measurements(data, enqueue_refits=False)
    partial = Measurement.objects.get(cpu_energy_j__isnull=True)
    assert partial.total_energy_j == 100.0 and partial.cpu_energy_source == ""


def test_gzip_upload(pair):
    data = gzip.compress(own_csv(GOOD, GOOD))
    upload = SimpleUploadedFile("runs.csv.gz", data, content_type="application/gzip")
    summary = import_measurements(upload, enqueue_refits=False)
    assert summary.rows == 2 and summary.filename == "runs.csv.gz"


def test_bom_and_semicolons_and_crlf(pair):
    text = "\ufeff" + own_csv(GOOD).decode().replace(",", ";").replace("\n", "\r\n")
    summary = import_measurements(text.encode("utf-8"), enqueue_refits=False)
    assert summary.rows == 1
    assert Measurement.objects.get().llm.name == "Tiny LM (1B)"


def test_tab_delimited_path(pair, tmp_path):
    path = tmp_path / "runs.tsv"
    path.write_bytes(own_csv(GOOD).replace(b",", b"\t"))
    summary = import_measurements(path, enqueue_refits=False)
    assert summary.rows == 1 and summary.filename == "runs.tsv"


def test_forced_pair_by_slug_without_columns(pair):
    data = own_csv("32,64,1.5,100", "64,64,2.5,180", header="input_tokens,output_tokens,runtime_s,gpu_energy_j")
    summary = import_measurements(data, llm="tiny-lm-1b", hardware="TEST BOX", enqueue_refits=False)
    assert summary.pairs == [{"llm": "Tiny LM (1B)", "llm_id": pair[0].pk, "hardware": "Test Box",
                              "hardware_id": pair[1].pk, "rows": 2}]


def test_aliases_case_insensitive(pair):
    LLMAlias.objects.create(alias="tiny-1b-instruct", llm=pair[0])
    HardwareAlias.objects.create(alias="lab-box-7", hardware=pair[1])
    data = own_csv("TINY-1B-Instruct,Lab-Box-7,32,64,1,1.5,100,10,1")
    assert import_measurements(data, enqueue_refits=False).rows == 1


def test_estimate_source_marks_estimated(pair):
    header = ("llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,gpu_energy_source,"
              "cpu_energy_j,cpu_energy_source")
    data = own_csv("Tiny LM (1B),Test Box,32,64,1.5,100,nvml-counter,30,estimate-tdp",
                   "Tiny LM (1B),Test Box,32,64,1.5,100,nvml-counter,30,RAPL", header=header)
    summary = import_measurements(data, enqueue_refits=False)
    assert summary.estimated == 1
    est = Measurement.objects.get(is_estimated=True)
    assert (est.gpu_energy_source, est.cpu_energy_source) == ("nvml-counter", "estimate-tdp")
    assert Measurement.objects.get(is_estimated=False).cpu_energy_source == "rapl"


def test_measured_at_and_is_warmup_columns(pair):
    header = "llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,iteration,is_warmup,measured_at"
    data = own_csv("Tiny LM (1B),Test Box,32,64,1.5,100,0,false,2024-07-01T10:00:00Z",
                   "Tiny LM (1B),Test Box,32,64,1.5,100,3,yes,1719828000", header=header)
    import_measurements(data, enqueue_refits=False)
    first, second = Measurement.objects.order_by("iteration")
    assert not first.is_warmup and second.is_warmup
    assert first.measured_at.isoformat() == "2024-07-01T10:00:00+00:00"
    assert second.measured_at == first.measured_at


def test_whole_numbers_written_as_floats(pair):
    data = own_csv("Tiny LM (1B),Test Box,32.0,64.0,1.0,1.5,100,10,2.0")
    import_measurements(data, enqueue_refits=False)
    m = Measurement.objects.get()
    assert (m.input_tokens, m.output_tokens, m.iteration) == (32, 64, 2)


def test_create_missing_makes_rows_and_notes_them(db):
    data = (b"Phase,Runtime (s),GPU Energy (J),Number of Output Tokens,Number of Input Tokens,Iteration,Model,System\n"
            b"start-inference-8-0,1.0,50,32,8,0,Mixtral (8x7B),new-cluster\n"
            b"start-inference-8-1,1.0,50,32,8,1,Mixtral (8x7B),New Cluster\n")
    summary = import_measurements(data, create_missing=True, enqueue_refits=False)
    assert summary.rows == 2
    assert summary.created_llms == ["Mixtral (8x7B)"]
    assert summary.created_hardware == ["new-cluster"]  # "New Cluster" has the same slug: one row
    llm = LLM.objects.get()
    assert llm.weights == "Mixtral (8x7B)" and llm.parameters_b == 56
    assert "created by import" in llm.accuracy_source
    llm.full_clean()  # a valid row the admin can edit
    hw = Hardware.objects.get()
    assert hw.notes.startswith("created by import")
    assert Measurement.objects.filter(hardware=hw).count() == 2


def test_extra_columns_are_ignored(pair):
    data = own_csv(GOOD + ",whatever,1", header=own_csv().decode().strip() + ",comment,Number of GPUs")
    assert import_measurements(io.BytesIO(data), enqueue_refits=False).rows == 1
