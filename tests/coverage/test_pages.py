"""The buttons: a workload's page and a plan's page start coverage runs; the pages show before / after."""

from __future__ import annotations

from django.urls import reverse

from energyweb.jobs.choices import JobStatus
from profiling.models import Measurement, ProfilingRun
from profiling.services import coverage


def _plan(workload, deployments):
    from scheduling.models import ScheduleJob

    job = ScheduleJob.objects.create(workload=workload, status=JobStatus.SUCCEEDED)
    job.deployments.set(deployments)
    return job


def test_workload_page_button_starts_a_run_for_the_chosen_pair(client, staff_user, measured_pair, workload):
    tiny, host = measured_pair
    client.force_login(staff_user)
    page = client.get(workload.get_absolute_url())
    assert b'id="cover-form"' in page.content and b"Measure what this workload needs" in page.content
    r = client.post(reverse("profiling:cover-workload", args=[workload.pk]), {"llm": tiny.pk, "hardware": host.pk})
    run = ProfilingRun.objects.get()
    assert r.status_code == 302 and r["Location"] == run.get_absolute_url()
    assert run.summary["coverage"]["workload"] == workload.pk
    detail = client.get(run.get_absolute_url()).content.decode()
    assert 'id="cover-before"' in detail and f"{run.summary['coverage']['share_before']:.3f}" in detail
    listing = client.get(workload.get_absolute_url()).content.decode()
    assert 'id="coverage-runs"' in listing and f"#{run.pk}" in listing


def test_workload_page_errors_come_back_as_messages_not_500s(client, staff_user, measured_pair, workload):
    tiny, host = measured_pair
    client.force_login(staff_user)
    r = client.post(reverse("profiling:cover-workload", args=[workload.pk]), {"llm": tiny.pk, "hardware": ""},
                    follow=True)
    assert r.status_code == 200 and b"hardware: choose a registered" in r.content
    r = client.post(reverse("profiling:cover-workload", args=[workload.pk]),
                    {"llm": tiny.pk, "hardware": host.pk, "target_share": "lots"}, follow=True)
    assert r.status_code == 200 and b"target_share" in r.content
    assert not ProfilingRun.objects.exists()


def test_non_staff_see_no_button_and_may_not_post(client, plain_user, measured_pair, workload):
    tiny, host = measured_pair
    client.force_login(plain_user)
    assert b'id="cover-form"' not in client.get(workload.get_absolute_url()).content
    r = client.post(reverse("profiling:cover-workload", args=[workload.pk]), {"llm": tiny.pk, "hardware": host.pk})
    assert r.status_code == 403 and not ProfilingRun.objects.exists()


def test_plan_button_measures_its_pairs_and_shows_before_and_after(client, staff_user, measured_pair, workload):
    from profiling.models import Hardware
    from scheduling.models import Deployment

    tiny, host = measured_pair
    ref = Hardware.objects.create(name="Paper box", slug="paper-box", is_reference=True)
    job = _plan(workload, [Deployment.objects.create(llm=tiny, hardware=host),
                           Deployment.objects.create(llm=tiny, hardware=ref)])
    client.force_login(staff_user)
    assert b"Measure what this plan extrapolates" in client.get(job.get_absolute_url()).content
    r = client.post(reverse("profiling:cover-plan", args=[job.pk]), follow=True)
    run = ProfilingRun.objects.get()  # the reference system is skipped, and says so
    assert run.hardware == host and run.summary["coverage"]["plan"] == job.pk
    assert b"reference system" in r.content
    # The run measures its cells (stood in here by rows at those cells) and succeeds: the page shows after.
    Measurement.objects.bulk_create([
        Measurement(llm=tiny, hardware=host, profiling_run=run, cell_index=i, trial_index=0, input_tokens=a,
                    output_tokens=b, runtime_s=1.0, total_energy_j=1.0, is_estimated=True)
        for i, (a, b) in enumerate(run.summary["coverage"]["cells"])])
    ProfilingRun.objects.filter(pk=run.pk).update(status=JobStatus.SUCCEEDED)
    run.refresh_from_db()
    after = coverage.coverage_summary(run)["extrapolated_share_after"]
    html = client.get(job.get_absolute_url()).content.decode()
    assert 'id="coverage-runs"' in html and f"{after:.3f}" in html and after <= 0.05
