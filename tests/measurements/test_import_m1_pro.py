"""The paper's M1-Pro files import: ``inference-*`` phases, output = total − input (#15).

The fixture ``fixtures/m1-pro-llama-2-7b.csv`` holds eight rows copied, columns and
values unchanged, from the paper's code repository: grantwilkins/energy-inference,
``plots/independence-test/Llama-2-7b-chat-hf-M1-Pro.csv`` (commit 9237559b). Its
``Number of Output Tokens`` is the requested maximum (512 for a generation that
stopped at 2 tokens); ``Total Number of Tokens`` is input + what was generated.
Its ``Iteration`` is 0 on every row. ``SWEEP`` below is seven rows of the M1-Pro sweeps
as ../shared/reference/wilkins2024/multi-system.csv holds them (lines 243-254, from the
same repository), where ``Iteration`` counts repetitions 0..6 and 0 is a warm-up.
"""

from pathlib import Path

import pytest

from profiling.models import Measurement
from profiling.services.measurement_import import ImportFailed, import_measurements

FIXTURE = Path(__file__).parent / "fixtures" / "m1-pro-llama-2-7b.csv"
HEADER = FIXTURE.read_text().splitlines()[0]
SWEEP = """Phase,Runtime (s),CPU Energy (J),GPU Energy (J),Number of Output Tokens,Number of Input Tokens,Iteration,Model,Number of GPUs,Prompt,Total Number of Tokens,Batch Size,System
load model,21.80514931678772,19.443789543396953,2.6216965599999993,32,0,0,Llama-2 (7B),1,,0,32,M1-Pro
inference-A-0,19.865201950073242,45.84022257454948,85.10753088,32,8,0,Llama-2 (7B),1,What is the largest city in France?,40,32,M1-Pro
inference-A-1,9.500931024551392,11.685690010127889,85.44470883000001,32,8,1,Llama-2 (7B),1,What is the largest city in France?,40,32,M1-Pro
inference-B-0,14.475600004196167,28.643622781724805,109.92211986999997,32,16,0,Llama-2 (7B),1,Can you explain the difference between a simile an,47,32,M1-Pro
inference-B-1,10.15349817276001,13.119840913279749,109.78479739999997,32,16,1,Llama-2 (7B),1,Can you explain the difference between a simile an,48,32,M1-Pro
inference-B-2,10.112746000289917,13.022409322420874,109.62513481999999,32,16,2,Llama-2 (7B),1,Can you explain the difference between a simile an,48,32,M1-Pro
inference-B-3,10.124595880508423,12.803871155756973,108.7773727,32,16,3,Llama-2 (7B),1,Can you explain the difference between a simile an,47,32,M1-Pro
"""


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


def test_m1_pro_sweep_rows_keep_their_repetition_index(db):
    from profiling.models import LLM, Hardware

    LLM.objects.create(name="Llama-2 (7B)", parameters_b=7)
    Hardware.objects.create(name="M1-Pro")
    summary = import_measurements(SWEEP.encode(), enqueue_refits=False)
    assert summary.rows == 6 and summary.skipped_phases == 1 and summary.warmups == 2
    got = list(Measurement.objects.order_by("input_tokens", "iteration")
               .values_list("input_tokens", "output_tokens", "iteration", "is_warmup"))
    # B-0 and B-3 generated 31 of the 32 tokens asked for (47 - 16).
    assert got == [(8, 32, 0, True), (8, 32, 1, False), (16, 31, 0, True), (16, 32, 1, False),
                   (16, 32, 2, False), (16, 31, 3, False)]


def test_swing_start_inference_rows_keep_their_output_label(db):
    """The total rule is the M1-Pro files' (``inference-*``): Swing rows keep the label the paper fitted."""
    from profiling.models import LLM, Hardware

    LLM.objects.create(name="Llama-2 (7B)", parameters_b=7)
    Hardware.objects.create(name="Swing AMD+A100")
    head = SWEEP.splitlines()[0]
    row = "start-inference-D-1,1.0,2.0,30.0,32,64,1,Llama-2 (7B),1,x,93,32,Swing AMD+A100"
    import_measurements(f"{head}\n{row}\n".encode(), enqueue_refits=False)
    assert Measurement.objects.get().output_tokens == 32
