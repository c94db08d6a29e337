"""Plan parameters are parsed by energyweb.validation (issue 17): numbers and seeds strictly,
and every service error that names a field is a FieldError, so one handler maps them all."""

import pytest

from energyweb.validation import FieldError
from scheduling.models.deployment_specs import DeploymentResolutionError
from scheduling.services import jobs
from scheduling.services.generator import GeneratorError, parse_distribution
from scheduling.services.workloads import WorkloadFileError


@pytest.mark.parametrize("params, field", [
    ({"deadline_s": True}, "deadline_s"),  # float(True) was 1.0: a JSON true is no time
    ({"time_limit_s": False}, "time_limit_s"),
    ({"energy_budget_j": "1e400"}, "energy_budget_j"),  # not finite
    ({"accuracy_target": "x"}, "accuracy_target"),
    ({"seed": 2.5}, "seed"),  # int(2.5) silently made it 2
    ({"seed": True}, "seed"),
    ({"seed": -1}, "seed"),  # numpy refuses a negative seed, in the worker
    ({"seed": "seven"}, "seed"),
])
def test_bad_numbers_are_refused_naming_the_field(params, field):
    with pytest.raises(jobs.JobParameterError) as err:
        jobs.normalise_parameters("paper-energy-accuracy", params)
    assert err.value.field == field
    assert field in str(err.value)


@pytest.mark.parametrize("raw, expected", [
    ({"seed": "3"}, 3), ({"seed": 4.0}, 4), ({"seed": ""}, 0), ({}, 0), ({"seed": None}, 0),
])
def test_whole_seeds_in_any_spelling_are_accepted(raw, expected):
    assert jobs.normalise_parameters("paper-energy-accuracy", raw)["seed"] == expected


def test_numbers_given_as_strings_still_parse():
    out = jobs.normalise_parameters("max-accuracy-energy-budget",
                                    {"energy_budget_j": "12.5", "deadline_s": "60", "time_limit_s": "5"})
    assert (out["energy_budget_j"], out["deadline_s"], out["time_limit_s"]) == (12.5, 60.0, 5.0)


def test_field_naming_errors_share_one_class():
    for cls in (jobs.JobParameterError, DeploymentResolutionError, GeneratorError, WorkloadFileError):
        assert issubclass(cls, FieldError)
    assert WorkloadFileError("bad").field == "file"
    refused = WorkloadFileError("bad rows", errors=[{"row": 2, "column": "tin", "message": "x"}], field="data")
    assert (refused.field, refused.total, str(refused)) == ("data", 1, "bad rows")
    with pytest.raises(FieldError) as err:
        parse_distribution("lognormal:mu=x", field="input_dist")
    assert err.value.field == "input_dist"
