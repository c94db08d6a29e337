"""History is never lost to a delete: LLMs and hardware that rows refer to are PROTECTed and a delete
says what holds them (409 on the API, the admin refuses); an execution never goes back to pending."""

from __future__ import annotations

import pytest

from energyweb.jobs.choices import JobStatus
from profiling.models import LLM, Hardware, Measurement
from scheduling.models import ExecutedQuery, Execution
from tests.integrity.conftest import executed_plan

pytestmark = pytest.mark.django_db


def test_api_delete_of_a_used_llm_answers_409_naming_what_holds_it(staff_api, media):
    hw, llm, plan, ex = executed_plan()
    before = (Measurement.objects.count(), ExecutedQuery.objects.count(), plan.deployments.count())
    r = staff_api.delete(f"/api/v1/llms/{llm.slug}/")
    assert r.status_code == 409, r.content
    detail = r.json()["detail"]
    assert llm.name in detail and "2 measurements" in detail and "deployment" in detail and "fits" in detail
    assert LLM.objects.filter(pk=llm.pk).exists()
    assert (Measurement.objects.count(), ExecutedQuery.objects.count(), plan.deployments.count()) == before
    assert Execution.objects.get(pk=ex.pk).status == JobStatus.SUCCEEDED
    r = staff_api.delete(f"/api/v1/hardware/{hw.slug}/")
    assert r.status_code == 409 and hw.name in r.json()["detail"]
    assert Hardware.objects.filter(pk=hw.pk).exists()


def test_an_unused_llm_still_deletes(staff_api):
    llm = LLM.objects.create(name="Never used", parameters_b=1, weights="x/never")
    assert staff_api.delete(f"/api/v1/llms/{llm.slug}/").status_code == 204
    assert not LLM.objects.filter(pk=llm.pk).exists()


def test_orm_delete_is_refused_by_the_database_rule_too(media):
    from django.db.models import ProtectedError

    _, llm, _, _ = executed_plan()
    with pytest.raises(ProtectedError):
        llm.delete()


def test_admin_delete_page_names_the_holders_and_refuses(staff_web, media):
    _, llm, _, _ = executed_plan()
    url = f"/admin/profiling/llm/{llm.pk}/delete/"
    page = staff_web.get(url)
    assert page.status_code == 200
    assert b"2 measurements" in page.content and b"cannot be deleted" in page.content
    staff_web.post(url, {"post": "yes"})
    assert LLM.objects.filter(pk=llm.pk).exists()


def test_an_execution_without_parts_is_final_never_pending(media):
    _, _, plan, ex = executed_plan()
    ex.jobs.all().delete()  # what the old cascade from an LLM delete did
    ex = Execution.objects.get(pk=ex.pk)
    assert ex.status == JobStatus.FAILED and not ex.is_active
    empty = Execution.objects.create(schedule_job=plan, plan_index=0, batch_size=1, queries_planned=0)
    assert empty.status == JobStatus.SUCCEEDED
