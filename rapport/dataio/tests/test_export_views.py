"""Export pages: the list's Export menu, large exports through the task, downloads."""

from __future__ import annotations

import re

import pytest

from rapport.accounts.models import RoleAssignment
from rapport.core import permissions
from rapport.core.models import AuditEvent
from rapport.dataio import exporting
from rapport.dataio.models import ExportJob
from rapport.dataio.tests.export_helpers import (
    body_of,
    browser,
    grant_exporters,
    person,
    read_csv,
    read_xlsx,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def exporters(alice, bob, carol):
    """The reps may export (the built-in rep role may not)."""
    return grant_exporters(alice, bob, carol)


def test_list_page_offers_the_export_menu_to_exporters(exporters, alice, dave):
    page = browser(alice).get("/people/", {"tag": "vip", "ordering": "-name"}).content.decode()
    links = re.findall(r'href="(/data/exports/person/\?[^"]+)"', page)
    assert {re.search(r"format=(\w+)", link).group(1) for link in links} == {
        "csv",
        "xlsx",
        "vcard",
        "json",
    }
    assert all("tag=vip" in link and "ordering=-name" in link for link in links)
    companies = browser(alice).get("/companies/").content.decode()
    assert "/data/exports/company/?format=csv" in companies.replace("&amp;", "&")
    assert "format=vcard" not in companies  # vCard is for people only
    assert "/data/exports/" not in browser(dave).get("/people/").content.decode()


def test_large_export_runs_as_a_task(
    exporters, alice, bob, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(exporting, "DIRECT_LIMIT", 2)
    for n in range(3):
        person(alice, first_name="", last_name=f"Big{n}")
    web = browser(alice)
    url = "/data/exports/person/?format=xlsx&columns=name"
    confirm = web.get(url)
    assert confirm.status_code == 200 and b"Prepare the export" in confirm.content
    assert not ExportJob.objects.exists()  # a GET never starts a background job
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = web.post(url)
    assert len(callbacks) >= 1
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/data/exports/job/{job.pk}/"
    assert job.status == ExportJob.Status.DONE and job.row_count == 3
    page = web.get(response.url).content.decode()
    assert f"/data/exports/job/{job.pk}/download/" in page
    assert "every 2s" not in page  # finished: it stops polling
    download = web.get(f"/data/exports/job/{job.pk}/download/")
    rows = read_xlsx(body_of(download))
    assert [r[1] for r in rows[1:]] == ["Big0", "Big1", "Big2"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1
    other = browser(bob)  # same team, but the file is alice's
    assert other.get(f"/data/exports/job/{job.pk}/").status_code == 404
    assert other.get(f"/data/exports/job/{job.pk}/download/").status_code == 404


def test_queued_job_page_polls_until_ready(exporters, alice):
    job = ExportJob.objects.create(user=alice, entity="person", format="csv")
    web = browser(alice)
    page = web.get(f"/data/exports/job/{job.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert f"/data/exports/job/{job.pk}/download/" not in page
    assert web.get(f"/data/exports/job/{job.pk}/download/").status_code == 404
    partial = web.get(f"/data/exports/job/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="export-status"' in partial and "<html" not in partial


def test_task_refuses_a_user_who_lost_the_export_permission(exporters, alice):
    person(alice, last_name="Alphaenko")
    job = ExportJob.objects.create(
        user=alice, entity="person", format="csv", params={"filters": {}, "ordering": "name"}
    )
    RoleAssignment.objects.filter(user=alice, role__name__startswith="exporter").delete()
    permissions.forget(alice)
    assert exporting.run_export_job.call(job.pk) == ExportJob.Status.FAILED
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and job.error
    assert not job.file
    assert exporting.export_job_run(job_id=job.pk) == ExportJob.Status.FAILED


def test_task_is_idempotent(exporters, alice):
    person(alice, last_name="Alphaenko")
    job = ExportJob.objects.create(
        user=alice, entity="person", format="csv", params={"filters": {}, "ordering": "name"}
    )
    assert exporting.export_job_run(job_id=job.pk) == ExportJob.Status.DONE
    assert exporting.export_job_run(job_id=job.pk) == ExportJob.Status.DONE
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1


def test_bad_query_goes_back_to_the_list_with_the_reason(exporters, alice):
    response = browser(alice).get(
        "/data/exports/person/", {"format": "csv", "owner": "nobody"}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith("/people/?")
    assert "owner" in response.content.decode()
    response = browser(alice).get("/data/exports/person/", {"format": "pdf"}, follow=True)
    assert "format" in response.content.decode()
    assert browser(alice).get("/data/exports/planet/", {"format": "csv"}).status_code == 404


def test_my_exports_lists_only_my_own(exporters, alice, bob):
    person(alice, first_name="", last_name="Alphaenko")
    web = browser(alice)
    data = body_of(web.get("/data/exports/person/", {"format": "csv"}))
    assert read_csv(data)[1][1] == "Alphaenko"
    job = ExportJob.objects.get(user=alice)
    mine = web.get("/data/exports/").content.decode()
    assert f"/data/exports/job/{job.pk}/download/" in mine
    theirs = browser(bob).get("/data/exports/").content.decode()
    assert f"/data/exports/job/{job.pk}/" not in theirs


def test_anonymous_is_sent_to_login(client):
    response = client.get("/data/exports/person/", {"format": "csv"})
    assert response.status_code == 302 and "login" in response.url


def test_prune_removes_old_files_but_keeps_the_audit(exporters, alice):
    import datetime

    from django.utils import timezone

    person(alice, last_name="Alphaenko")
    body_of(browser(alice).get("/data/exports/person/", {"format": "csv"}))
    job = ExportJob.objects.get()
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)
    assert exporting.exports_prune_expired(now=timezone.now()) == 0
    later = timezone.now() + exporting.RETENTION + datetime.timedelta(minutes=1)
    assert exporting.exports_prune_expired(now=later) == 1
    assert not storage.exists(name) and not ExportJob.objects.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1
