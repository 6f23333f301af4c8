"""IDOR on the data-in-and-out routes: another team's import jobs, export jobs and files,
merges, personal-data export and erasure, duplicate checks and dismissals — by id on the
pages and on the API, answered 404 and leaving nothing changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.contacts.models import Person
from rapport.core.api.testing import is_problem
from rapport.dataio.models import DuplicateDismissal, ExportJob, ImportJob, Merge
from rapport.dataio.tests.export_helpers import grant_export
from rapport.dataio.tests.importhelpers import csv_bytes, upload
from rapport.testing.factories import PersonFactory

from .attacks import SURFACES, api, browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices(alice):
    """One of each data job Alice owns: an import draft, an export file, a merge."""
    from rapport.dataio.exporting import export_start
    from rapport.dataio.merging import record_merge

    grant_export(alice)
    job = upload(alice, csv_bytes([["First name", "Email"], ["Zoltan", "zoltan@example.com"]]))
    export = export_start(actor=alice, entity_key="person", fmt="csv", filters={})
    assert export.status == ExportJob.Status.DONE
    left = PersonFactory(actor=alice, first_name="Left", last_name="Twin")
    right = PersonFactory(actor=alice, first_name="Right", last_name="Twin")
    merge = record_merge(actor=alice, entity="person", survivor=left, merged=right)
    person = PersonFactory(actor=alice, first_name="Quentin", last_name="Private")
    return {"import": job, "export": export, "merge": merge, "person": person, "left": left}


def _html_routes(d) -> list[tuple[str, str]]:
    job, export, merge, person = d["import"], d["export"], d["merge"], d["person"]
    names = ["import_detail", "import_mapping", "import_preview", "import_progress"]
    routes = [("get", reverse(f"dataio:{name}", args=[job.pk])) for name in names]
    routes += [
        ("get", reverse("dataio:import_report", args=[job.pk])),
        ("post", reverse("dataio:import_mapping", args=[job.pk])),
        ("post", reverse("dataio:import_start", args=[job.pk])),
        ("post", reverse("dataio:import_undo", args=[job.pk])),
        ("get", reverse("dataio:export_job", args=[export.pk])),
        ("get", reverse("dataio:export_download", args=[export.pk])),
        ("post", reverse("dataio:merge_undo", args=[merge.pk])),
        ("get", reverse("dataio:merge", args=["person", d["left"].pk, person.pk])),
        ("post", reverse("dataio:merge", args=["person", d["left"].pk, person.pk])),
        ("get", reverse("dataio:merge_start", args=["person", person.pk])),
        ("get", reverse("dataio:subject_export", args=[person.pk])),
        ("get", reverse("dataio:person_erase", args=[person.pk])),
        ("post", reverse("dataio:person_erase", args=[person.pk])),
    ]
    return routes


def _api_routes(d) -> list[tuple[str, str, dict | None]]:
    job, export, merge, person = d["import"], d["export"], d["merge"], d["person"]
    routes = [
        ("get", f"/imports/{job.pk}", None),
        ("put", f"/imports/{job.pk}/mapping", {"mapping": []}),
        ("get", f"/imports/{job.pk}/preview", None),
        ("post", f"/imports/{job.pk}/start", {}),
        ("get", f"/imports/{job.pk}/report", None),
        ("get", f"/imports/{job.pk}/report.csv", None),
        ("post", f"/imports/{job.pk}/undo", {}),
        ("get", f"/exports/{export.pk}", None),
        ("get", f"/exports/{export.pk}/file", None),
        ("get", f"/merges/{merge.pk}", None),
        ("post", f"/merges/{merge.pk}/undo", {}),
        ("get", f"/privacy/people/{person.pk}/export", None),
        ("post", f"/privacy/people/{person.pk}/erase", {"reason": "x", "confirm": person.pk}),
    ]
    return routes


def _nothing_changed(d) -> None:
    d["import"].refresh_from_db()
    assert d["import"].status == ImportJob.Status.DRAFT
    assert Merge.objects.get(pk=d["merge"].pk).undone_at is None
    person = Person.objects.get(pk=d["person"].pk)
    assert person.first_name == "Quentin" and person.version == d["person"].version


@pytest.mark.parametrize("surface", SURFACES)
def test_idor_by_id_dataio_routes_answer_404_to_an_outsider(surface, alices, carol):
    if surface == "html":
        client = browser(carol)
        for method, url in _html_routes(alices):
            response = getattr(client, method)(url)
            assert response.status_code == 404, (method, url, response.status_code)
            assert b"Quentin" not in response.content
    else:
        client = api(carol)
        for method, path, body in _api_routes(alices):
            call = getattr(client, method)
            response = call(path, body) if body is not None else call(path)
            assert is_problem(response, 404), (method, path, response.status_code)
            assert b"Quentin" not in response.content
    _nothing_changed(alices)


@pytest.mark.parametrize("surface", SURFACES)
def test_idor_by_guessed_ids_on_dataio_routes_never_error(surface, alices, carol):
    """Neighbouring, negative, huge and non-numeric job ids: 404, never 500."""
    top = max(alices["import"].pk, alices["export"].pk, alices["merge"].pk)
    guesses = ["0", "-1", "abc", str(top + 1), str(2**63), str(2**70)]
    if surface == "html":
        client = browser(carol)
        patterns = [("get", "/data/imports/{}/"), ("get", "/data/exports/job/{}/download/")]
        patterns += [("post", "/data/merges/{}/undo/"), ("get", "/data/privacy/person/{}/erase/")]
    else:
        client = api(carol).client
        patterns = [("get", "/api/v1/imports/{}"), ("get", "/api/v1/exports/{}/file")]
        patterns += [
            ("post", "/api/v1/merges/{}/undo"),
            ("get", "/api/v1/privacy/people/{}/export"),
        ]
    for method, pattern in patterns:
        for guess in guesses:
            response = getattr(client, method)(pattern.format(guess))
            assert response.status_code == 404, (pattern, guess, response.status_code)


@pytest.mark.parametrize("surface", SURFACES)
def test_idor_by_id_duplicate_dismissal_of_foreign_records_is_refused(surface, alices, carol):
    left, person = alices["left"], alices["person"]
    if surface == "html":
        response = browser(carol).post(
            reverse("dataio:duplicate_dismiss"),
            {"entity": "person", "left_id": left.pk, "right_id": person.pk},
        )
        assert response.status_code == 404
    else:
        response = api(carol).post(
            "/duplicates/dismiss", {"entity": "person", "left_id": left.pk, "right_id": person.pk}
        )
        assert is_problem(response, 404)
    assert not DuplicateDismissal.objects.exists()


def test_idor_by_id_duplicate_check_never_reveals_foreign_records(alices, carol):
    """The on-entry check is a search: it must not confirm that another team holds an
    email address (an existence oracle), nor accept another team's id to exclude."""
    email = alices["person"].primary_email
    client = api(carol)
    response = client.post(
        "/duplicates/check",
        {"entity": "person", "data": {"first_name": "Quentin", "emails": [{"address": email}]}},
    )
    assert response.status_code == 200 and response.json()["items"] == []
    response = client.post(
        "/duplicates/check",
        {"entity": "person", "data": {"first_name": "Q"}, "exclude_id": alices["person"].pk},
    )
    assert is_problem(response, 404)
