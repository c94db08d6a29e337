"""Both importers read delimiters through the one sniffer in energyweb/tabular.py (issue 17): a file
that the workload importer accepts with a delimiter, the measurement importer accepts too."""

import pytest

from energyweb.tabular import DELIMITERS, sniff_delimiter
from profiling.models import Measurement
from profiling.services.measurement_import import ImportFailed, import_measurements
from scheduling.services.workloads import WorkloadFileError, import_workload
from tests.measurements.conftest import OWN_HEADER

ROWS = ["Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,0", "Tiny LM (1B),Test Box,128,16,1,0.75,60.5,5.0,1"]
NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _delimited(sep: str, header: str, rows: list[str]) -> bytes:
    return ("\n".join(line.replace(",", sep) for line in [header, *rows]) + "\n").encode()


@pytest.fixture
def media(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize("sep", list(DELIMITERS), ids=NAMES.get)
def test_measurement_file_in_every_delimiter(pair, sep):
    summary = import_measurements(_delimited(sep, OWN_HEADER, ROWS), filename=f"runs-{NAMES[sep]}.csv",
                                  enqueue_refits=False)
    assert summary.rows == 2
    got = sorted(Measurement.objects.values_list("input_tokens", "output_tokens", "runtime_s", "gpu_energy_j",
                                                 "cpu_energy_j"))
    assert got == [(32, 64, 1.5, 100.0, 10.0), (128, 16, 0.75, 60.5, 5.0)]


@pytest.mark.parametrize("sep", list(DELIMITERS), ids=NAMES.get)
def test_workload_file_in_every_delimiter(media, sep):
    wl = import_workload(_delimited(sep, "id,input_tokens,output_tokens", ["q1,32,64", "q2,128,16"]),
                         f"wl {NAMES[sep]}")
    arrays = wl.load_arrays()
    assert (arrays.tin.tolist(), arrays.tout.tolist()) == ([32, 128], [64, 16])


@pytest.mark.parametrize("sep", list(DELIMITERS), ids=NAMES.get)
def test_quoted_fields_may_hold_the_other_delimiters(media, pair, sep):
    """A quoted LLM name or prompt holding the other delimiters does not change the sniffed one."""
    others = "".join(d for d in DELIMITERS if d != sep)
    prompt = f'"a{others}b"'
    wl = import_workload(_delimited(sep, "prompt,input_tokens,output_tokens", [f"{prompt},5,7"]), "quoted")
    assert wl.load_arrays().tin.tolist() == [5]
    alias = '"Tiny LM (1B)"'
    import_measurements(_delimited(sep, OWN_HEADER, [ROWS[0].replace("Tiny LM (1B)", alias)]),
                        enqueue_refits=False)
    assert Measurement.objects.get().input_tokens == 32


def test_a_space_delimited_file_is_refused_by_both_naming_the_delimiters(media, pair):
    with pytest.raises(ImportFailed) as measured:
        import_measurements(_delimited(" ", OWN_HEADER.replace("_", ""), ROWS), enqueue_refits=False)
    assert "commas, semicolons, tabs or pipes" in measured.value.errors[0].message
    with pytest.raises(WorkloadFileError) as workload:
        import_workload(b"input_tokens output_tokens\n1 2\n", "spaces")
    assert "commas, semicolons, tabs or pipes" in str(workload.value)
    assert Measurement.objects.count() == 0


@pytest.mark.parametrize("line, expected", [
    ("a,b,c", ","), ("a;b;c", ";"), ("a\tb", "\t"), ("a|b|c", "|"),
    ("a;b;c,d", ";"),  # the most frequent wins
    ("a,b;c", ","),  # a tie goes to the earlier in DELIMITERS
    ("one column", None), ("", None),
])
def test_the_sniffer(line, expected):
    assert sniff_delimiter(line) == expected
