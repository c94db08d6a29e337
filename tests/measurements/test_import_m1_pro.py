"""The paper's M1-Pro files import: ``inference-*`` phases, output = total − input (#15).

The fixture ``fixtures/m1-pro-llama-2-7b.csv`` holds eight rows copied, columns and
values unchanged, from the paper's code repository: grantwilkins/energy-inference,
``plots/independence-test/Llama-2-7b-chat-hf-M1-Pro.csv`` (commit 9237559b). Its
``Number of Output Tokens`` is the requested maximum (512 for a generation that
stopped at 2 tokens); ``Total Number of Tokens`` is input + what was generated.
"""

from pathlib import Path

import pytest

from profiling.models import Measurement
from profiling.services.measurement_import import ImportFailed, import_measurements

FIXTURE = Path(__file__).parent / "fixtures" / "m1-pro-llama-2-7b.csv"
HEADER = FIXTURE.read_text().splitlines()[0]


@pytest.fixture
def m1_pair(db):
    from profiling.models import LLM, Hardware

    llm = LLM.objects.create(name="Llama-2-7b-chat-hf", parameters_b=7)
    hw = Hardware.objects.create(name="M1-Pro")
    return llm, hw


def test_m1_pro_rows_import_with_output_from_the_total(m1_pair):
    summary = import_measurements(FIXTURE.read_bytes(), filename=FIXTURE.name, enqueue_refits=False)
    assert summary.rows == 6 and summary.skipped_phases == 1  # the "load model" row is not a measurement
    got = sorted(Measurement.objects.values_list("input_tokens", "output_tokens", "runtime_s", "gpu_energy_j",
                                                 "cpu_energy_j", "is_warmup"))
    assert got[0][:2] == (9, 8) and got[1][:2] == (9, 16)
    # inference-A-512 stopped at 345 - 9 = 336 tokens; inference-B-512 at 23 - 21 = 2.
    assert (9, 336) in [g[:2] for g in got] and (21, 2) in [g[:2] for g in got]
    assert (2117, 8) in [g[:2] for g in got]  # a multi-line quoted prompt does not break the row
    assert not any(g[5] for g in got)  # Iteration 0 on every M1-Pro row is not a warm-up marker
    a8 = next(g for g in got if g[:2] == (9, 8))
    assert a8[2:5] == pytest.approx((7.711592197418213, 15.43971942, 12.583239552069532))
    m = Measurement.objects.get(input_tokens=9, output_tokens=8)
    assert m.total_energy_j == pytest.approx(15.43971942 + 12.583239552069532)


def test_total_not_above_input_is_a_row_and_column_error(m1_pair):
    bad = HEADER + "\ninference-A-8,7.7,12.5,15.4,8,9,0,Llama-2-7b-chat-hf,1,x,9,32,M1-Pro,1\n"
    with pytest.raises(ImportFailed) as info:
        import_measurements(bad.encode(), enqueue_refits=False)
    err = info.value.errors[0]
    assert err.row == 1 and err.column == "Total Number of Tokens" and "not above" in err.message
    assert Measurement.objects.count() == 0
