"""A host whose worker lacks a backend says so on its page and refuses runs for it at submission
(form, API and executions: a field-keyed 400 with the reason), never an internal error afterwards."""

from __future__ import annotations

import importlib.util

import pytest
from django.test import Client

from profiling.backends import probe_backends
from profiling.models import Hardware, ProfilingRun
from profiling.services import profiling_runs
from profiling.services.host import beat, detect, register

NO_TORCH = "hf: torch and transformers not installed (pip install -r requirements-worker.txt)"


def test_probe_reports_what_this_environment_can_run():
    found = probe_backends()
    assert set(found) == {"hf", "vllm"}
    has_torch = importlib.util.find_spec("torch") is not None
    assert (found["hf"] == "ok") == has_torch
    assert (found["vllm"] == "ok") == (importlib.util.find_spec("vllm") is not None)
    if found["vllm"] != "ok":
        assert "not installed" in found["vllm"]


def test_register_host_and_the_heartbeat_store_the_backends(db):
    hardware, _ = register(detect(), name="Probe host")
    assert hardware.backends == probe_backends()
    assert beat(hardware.slug, {"hf": NO_TORCH, "vllm": "vllm: not installed"})
    hardware.refresh_from_db()
    assert hardware.backend_unavailable("hf") == NO_TORCH and hardware.last_heartbeat is not None
    assert beat(hardware.slug)  # a beat without a report keeps the last one
    hardware.refresh_from_db()
    assert hardware.backends["hf"] == NO_TORCH


@pytest.fixture
def no_torch_host(host):
    Hardware.objects.filter(pk=host.pk).update(backends={"hf": NO_TORCH, "vllm": "vllm: not installed"})
    host.refresh_from_db()
    return host


def test_a_run_for_a_missing_backend_is_refused_naming_the_backend(no_torch_host, tiny):
    with pytest.raises(profiling_runs.RunParameterError) as exc:
        profiling_runs.create_run(tiny, no_torch_host, backend="hf")
    assert exc.value.field == "backend" and "torch and transformers not installed" in str(exc.value)
    assert not ProfilingRun.objects.exists()


def test_a_host_nobody_reported_on_yet_is_not_refused(host, tiny):
    assert host.backends == {} and host.backend_unavailable("hf") is None
    assert profiling_runs.create_run(tiny, host, backend="hf").pk


def test_api_answers_a_field_keyed_400_with_the_reason(no_torch_host, tiny, staff_api):
    r = staff_api.post("/api/v1/profiling-runs/", {"llm": tiny.slug, "hardware": no_torch_host.slug},
                       format="json")
    assert r.status_code == 400 and "torch and transformers not installed" in r.json()["backend"][0]
    hw = staff_api.get(f"/api/v1/hardware/{no_torch_host.slug}/").json()
    assert hw["backends"]["hf"] == NO_TORCH
    assert not ProfilingRun.objects.exists()


def test_the_form_refuses_it_and_the_hardware_page_shows_why(no_torch_host, tiny, staff_user):
    client = Client()
    client.force_login(staff_user)
    r = client.post("/profiling/new/", {"llm": tiny.pk, "hardware": no_torch_host.pk, "backend": "hf",
                                        "design": "grid-small", "dtype": "auto", "use_cache": "on"})
    assert r.status_code == 400 and "torch and transformers not installed" in r.content.decode()
    page = client.get(no_torch_host.get_absolute_url()).content.decode()
    assert "Inference backends" in page and "torch and transformers not installed" in page
    assert not ProfilingRun.objects.exists()
