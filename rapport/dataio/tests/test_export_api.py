"""`/api/v1/exports`: start, follow and download exports with the API's conventions."""

from __future__ import annotations

import pytest

from rapport.core.api.testing import ApiClient, clear_throttle, fields_of, is_problem
from rapport.dataio import exporting
from rapport.dataio.models import ExportJob
from rapport.dataio.tests.export_helpers import (
    body_of,
    grant_exporters,
    person,
    read_csv,
    read_json,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def exporters(alice, bob, carol):
    """The reps may export (the built-in rep role may not)."""
    clear_throttle()
    return grant_exporters(alice, bob, carol)


def test_small_export_is_written_at_once(exporters, alice):
    person(alice, first_name="", last_name="Alphaenko", tags=["vip"])
    person(alice, first_name="", last_name="Betaenko")
    client = ApiClient(alice)
    body = {
        "entity": "person",
        "format": "csv",
        "filters": {"tag": ["vip"]},
        "ordering": "-name",
        "columns": ["name", "tags"],
    }
    created = client.post("/exports", body)
    assert created.status_code == 201, created.content
    job = created.json()
    assert job["status"] == "done" and job["row_count"] == 1
    assert created["Location"] == f"/api/v1/exports/{job['id']}"
    assert job["file_url"] == f"/api/v1/exports/{job['id']}/file"
    assert client.get(f"/exports/{job['id']}").json() == job
    download = client.get(job["file_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert read_csv(body_of(download)) == [
        ["ID", "Name", "Tags"],
        [str(job_row_id()), "Alphaenko", "vip"],
    ]


def job_row_id() -> int:
    from rapport.contacts.models import Person

    return Person.objects.get(last_name="Alphaenko").pk


def test_large_export_is_queued(exporters, alice, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(exporting, "DIRECT_LIMIT", 1)
    person(alice, last_name="One")
    person(alice, last_name="Two")
    client = ApiClient(alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = client.post("/exports", {"entity": "person", "format": "json"})
    assert queued.status_code == 202, queued.content
    job = queued.json()
    assert job["status"] == "queued" and job["file_url"] is None
    assert is_problem(client.get(f"/exports/{job['id']}/file"), 409)
    for callback in callbacks:
        callback()
    done = client.get(f"/exports/{job['id']}").json()
    assert done["status"] == "done" and done["row_count"] == 2
    items = read_json(body_of(client.get(done["file_url"])))
    assert sorted(i["last_name"] for i in items) == ["One", "Two"]


def test_bad_queries_are_problems_naming_the_field(exporters, alice):
    client = ApiClient(alice)
    cases = [
        ({"entity": "person", "format": "csv", "filters": {"zzz": ["1"]}}, 400, "zzz"),
        ({"entity": "person", "format": "csv", "ordering": "shoe_size"}, 400, "ordering"),
        ({"entity": "person", "format": "csv", "columns": ["birthday"]}, 400, "columns"),
        ({"entity": "person", "format": "csv", "filters": {"owner": "x"}}, 400, "owner"),
        ({"entity": "person", "format": "csv", "filters": {"team": [1, "b"]}}, 400, "team"),
        ({"entity": "planet", "format": "csv"}, 422, "entity"),
        ({"entity": "company", "format": "vcard"}, 422, "format"),
        ({"entity": "person", "format": "pdf"}, 422, "format"),
        ({"entity": "person", "format": "csv", "bogus": 1}, 422, "bogus"),
    ]
    for body, status, field in cases:
        response = client.post("/exports", body)
        assert is_problem(response, status), (body, response.content)
        assert field in fields_of(response), (body, response.json())
    assert is_problem(client.post("/exports", "{not json"), 400)
    assert is_problem(client.post("/exports", "a=b", content_type="text/plain"), 415)
    assert not ExportJob.objects.exists()


def test_without_the_export_permission_403(alice, dave):
    clear_throttle()
    for user in (alice, dave):
        response = ApiClient(user).post("/exports", {"entity": "person", "format": "csv"})
        assert is_problem(response, 403)


def test_others_jobs_are_404(exporters, alice, bob):
    person(alice, last_name="Alphaenko")
    job = ApiClient(alice).post("/exports", {"entity": "person", "format": "csv"}).json()
    other = ApiClient(bob)
    assert is_problem(other.get(f"/exports/{job['id']}"), 404)
    assert is_problem(other.get(f"/exports/{job['id']}/file"), 404)
    assert is_problem(other.get(f"/exports/{2**63 + 5}"), 404)


def test_scoped_through_the_api(exporters, alice, carol):
    person(alice, last_name="Alphaenko")
    person(carol, last_name="Carolenko")
    client = ApiClient(carol)
    job = client.post("/exports", {"entity": "person", "format": "json"}).json()
    items = read_json(body_of(client.get(job["file_url"])))
    assert [i["last_name"] for i in items] == ["Carolenko"]


def test_idempotent_post_replays_the_first_job(exporters, alice):
    client = ApiClient(alice)
    body = {"entity": "person", "format": "csv"}
    first = client.post("/exports", body, HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post("/exports", body, HTTP_IDEMPOTENCY_KEY="k1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ExportJob.objects.count() == 1


def test_declared_in_openapi(alice):
    clear_throttle()
    schema = ApiClient(alice).get("/openapi.json").json()
    create = schema["paths"]["/api/v1/exports"]["post"]
    assert set(create["responses"]) >= {"201", "202", "400", "403", "415", "422"}
    assert "application/problem+json" in create["responses"]["400"]["content"]
    assert "ExportIn" in str(create["requestBody"])
    file_op = schema["paths"]["/api/v1/exports/{id}/file"]["get"]
    assert "text/csv" in file_op["responses"]["200"]["content"]
    assert {"404", "409"} <= set(file_op["responses"])
