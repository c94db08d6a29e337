"""Hostile JSON bodies get a field-keyed 400, never a 500, and nothing is stored."""

from __future__ import annotations

import json

import pytest

from profiling.models import LLM, Hardware

J = "application/json"
DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("body, field", [
    ('{"idle_power_gpu_w": NaN}', "detail"),
    ('{"idle_power_gpu_w": Infinity}', "detail"),
    ('{"idle_power_gpu_w": 1e400}', "idle_power_gpu_w"),
    ('{"gpu_count": 123456789012345678901234567890}', "gpu_count"),
    ('{"gpu_count": 99999999999}', "gpu_count"),  # fits SQLite's 64-bit integer: the field's bound refuses it
    ('{"gpu_count": 1025}', "gpu_count"),
    ('{"cpu_sockets": 40000}', "cpu_sockets"),
])
def test_non_finite_and_overflowing_numbers(staff_web, catalogue, body, field):
    hw, _ = catalogue
    r = staff_web.patch(f"/api/v1/hardware/{hw.slug}/", body, content_type=J)
    assert r.status_code == 400, r.content
    assert field in r.json()
    hw.refresh_from_db()
    assert hw.idle_power_gpu_w is None and hw.gpu_count == 4


@pytest.mark.parametrize("url, body", [
    ("/api/v1/predict", f'{{"llm": "x", "hardware": "y", "pairs": {DEEP}}}'),
    ("/api/v1/schedule-jobs/", f'{{"workload": 1, "deployments": [1], "parameters": {{"zetas": {DEEP}}}}}'),
])
def test_deeply_nested_json_is_refused(staff_web, catalogue, url, body):
    r = staff_web.post(url, body, content_type=J)
    assert r.status_code == 400
    assert "nested more than" in r.json()["detail"]


def test_nested_json_within_recursion_limit_never_reaches_a_json_field(staff_web, catalogue):
    _, llm = catalogue
    body = '{"architecture_config": %s}' % ("[" * 500 + "]" * 500)
    r = staff_web.patch(f"/api/v1/llms/{llm.slug}/", body, content_type=J)
    assert r.status_code == 400
    llm.refresh_from_db()
    assert llm.architecture_config in ({}, None)


def test_very_long_strings_reaching_lookups(staff_web, catalogue):
    hw, llm = catalogue
    long = "a" * 100_000
    assert staff_web.get(f"/api/v1/hardware/{long}/").status_code == 404
    r = staff_web.post("/api/v1/predict", json.dumps({"llm": long, "hardware": hw.slug, "pairs": [[1, 2]]}),
                       content_type=J)
    assert r.status_code == 400 and "llm" in r.json()
    r = staff_web.post("/api/v1/hardware/", json.dumps({"name": long}), content_type=J)
    assert r.status_code == 400 and "name" in r.json()
    assert not Hardware.objects.filter(name__startswith="aaaa").exists()


@pytest.mark.parametrize("field, value", [("llm", 10**30), ("llm", True), ("fit", 10**30)])
def test_ids_past_bigint_and_booleans_as_ids(staff_web, catalogue, field, value):
    hw, llm = catalogue
    body = {"llm": llm.slug, "hardware": hw.slug, "pairs": [[1, 2]], field: value}
    r = staff_web.post("/api/v1/predict", json.dumps(body), content_type=J)
    assert r.status_code == 400 and field in r.json()


@pytest.mark.parametrize("pairs, message", [
    ([[True, False]], "not true/false"),
    ({"tin": [1, True], "tout": [2, 3]}, "not true/false"),
    ([[10**30, 2]], "maximum context"),
])
def test_predict_refuses_booleans_and_counts_past_the_context(staff_web, catalogue, pairs, message):
    hw, llm = catalogue
    r = staff_web.post("/api/v1/predict", json.dumps({"llm": llm.slug, "hardware": hw.slug, "pairs": pairs}),
                       content_type=J)
    assert r.status_code == 400
    assert message in r.json()["pairs"][0]


def test_predict_still_takes_ones_and_zeros_as_numbers(staff_web, catalogue):
    hw, llm = catalogue
    r = staff_web.post("/api/v1/predict", json.dumps({"llm": llm.slug, "hardware": hw.slug, "fit": "published",
                                                      "pairs": [[1, 1], [0, 1]]}), content_type=J)
    assert r.status_code == 200, r.content
    assert r.json()["n"] == 2


def test_llm_untouched_after_refused_body(staff_web, catalogue):
    _, llm = catalogue
    before = LLM.objects.get(pk=llm.pk).accuracy
    staff_web.patch(f"/api/v1/llms/{llm.slug}/", '{"accuracy": NaN}', content_type=J)
    assert LLM.objects.get(pk=llm.pk).accuracy == before


@pytest.mark.parametrize("url", ["/api/v1/hardware/a%00b/", "/api/v1/llms/a%00/", "/measurements/?llm=%00",
                                 "/api/v1/fits/?llm=a%00"])
def test_nul_in_the_url_is_a_400(staff_web, catalogue, url):
    # Found by schema fuzzing: PostgreSQL text cannot hold NUL, the lookup failed as a 500.
    assert staff_web.get(url).status_code == 400


def test_nul_in_a_predict_name_is_a_field_error(staff_web, catalogue):
    hw, _ = catalogue
    r = staff_web.post("/api/v1/predict", json.dumps({"llm": "a\x00", "hardware": hw.slug, "pairs": [[1, 2]]}),
                       content_type=J)
    assert r.status_code == 400 and "llm" in r.json()


@pytest.mark.parametrize("raw, deep", [
    (b"[" * 32 + b"]" * 32, False),
    (b"[" * 33 + b"]" * 33, True),
    (json.dumps({"a": "[[[[\"{{{{" * 50}).encode(), False),  # brackets inside strings do not count
    (json.dumps({"a": {"b": [1, {"c": [2, 3]}]}}).encode(), False),
    (json.dumps([[i, i] for i in range(1000)]).encode(), False),
    (b"[" * 5000, False),  # unbalanced: left to the parser, which refuses it
])
def test_depth_is_measured_on_the_text(raw, deep):
    from energyweb.validation import json_depth_exceeds

    assert json_depth_exceeds(raw) is deep


def test_unbalanced_deep_body_is_a_400(staff_web, catalogue):
    r = staff_web.post("/api/v1/predict", "[" * 5000, content_type=J)
    assert r.status_code == 400
