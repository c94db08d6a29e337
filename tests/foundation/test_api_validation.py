"""Model.clean() rules come back from the API as field-keyed 400s, never a 500."""

import pytest

pytestmark = pytest.mark.django_db


def test_llm_rules(staff_api):
    response = staff_api.post("/api/v1/llms/", {"name": "Bad", "parameters_b": 7,
                                                "active_parameters_b": 9, "accuracy": 140},
                              format="json")
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) >= {"active_parameters_b", "accuracy", "weights"}
    assert "Cannot exceed the total parameters." in errors["active_parameters_b"]


def test_hardware_rules(staff_api):
    response = staff_api.post("/api/v1/hardware/", {"name": "Box", "gpu_count": 2, "dram_gb": -1,
                                                    "rapl_domains": "package-0"}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "gpu_model" in errors and "dram_gb" in errors and "rapl_domains" in errors


def test_update_keeps_row_on_error(staff_api, seeded):
    response = staff_api.patch("/api/v1/hardware/m1-pro/", {"gpu_count": 0}, format="json")
    assert response.status_code == 400 and "gpu_count" in response.json()
    from profiling.models import Hardware

    assert Hardware.objects.get(slug="m1-pro").gpu_count == 1


def test_duplicate_name(staff_api, seeded):
    response = staff_api.post("/api/v1/llms/", {"name": "Falcon (7B)", "parameters_b": 7,
                                                "weights": "x"}, format="json")
    assert response.status_code == 400 and "name" in response.json()


def test_valid_hardware_gets_a_slug_and_queue(staff_api):
    response = staff_api.post("/api/v1/hardware/", {"name": "GPU node 7", "gpu_model": "NVIDIA H100",
                                                    "gpu_count": 4, "rapl_domains": ["package-0"]},
                              format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "gpu-node-7" and body["queue_name"] == "hw.gpu-node-7"
    assert body["energy_counters"] == ["rapl:package-0"] and body["is_online"] is False
