"""The inventory admin: lists, filters, search and the model rules on save."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["hardware", "llm", "hardwarealias", "llmalias", "energymodelfit"])
def test_changelists_and_forms(client, seeded, staff_user, model):
    client.force_login(staff_user)
    assert client.get(f"/admin/profiling/{model}/").status_code == 200
    assert client.get(f"/admin/profiling/{model}/?q=swing").status_code == 200
    assert client.get(f"/admin/profiling/{model}/add/").status_code == 200


def test_fit_filters_and_token_admin(client, seeded, staff_user):
    client.force_login(staff_user)
    response = client.get("/admin/profiling/energymodelfit/", {"source": "published", "target": "energy"})
    assert response.status_code == 200 and "7 energy model fits" in response.content.decode()
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 200


def test_hardware_change_form_enforces_clean(client, seeded, staff_user):
    from profiling.models import Hardware

    client.force_login(staff_user)
    hw = Hardware.objects.get(slug="m1-pro")
    response = client.post(f"/admin/profiling/hardware/{hw.pk}/change/", {
        "name": hw.name, "slug": hw.slug, "cpu_sockets": 1, "gpu_count": 0, "gpu_model": "Apple GPU",
        "rapl_domains": "[]", "aliases-TOTAL_FORMS": 0, "aliases-INITIAL_FORMS": 0,
    })
    assert response.status_code == 200  # the form comes back with errors
    assert "the GPU count must be at least 1" in response.content.decode()
    hw.refresh_from_db()
    assert hw.gpu_count == 1
