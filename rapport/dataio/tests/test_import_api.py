"""`/api/v1/imports`: the whole flow, errors naming the field, scoping, OpenAPI."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rapport.contacts.models import Person
from rapport.core.api.schemas import page_schema
from rapport.core.api.testing import ApiClient, clear_throttle, fields_of, is_problem
from rapport.dataio.api.import_schemas import ImportOut, PreviewOut, ReportRowOut
from rapport.dataio.models import ImportJob

pytestmark = pytest.mark.django_db

CSV = (
    "Given Name,Family Name,E-mail 1 - Value,Phone 1 - Value\n"
    "Olena,Kovalenko,olena@example.com,+380441234567\n"
    "Taras,Shevchenko,broken@,+380441234568\n"
    "Lesia,Ukrainka,lesia@example.com,\n"
)


@pytest.fixture(autouse=True)
def _fresh_throttle():
    clear_throttle()


def post_file(client: ApiClient, text: str = CSV, entity: str = "person", **meta):
    upload = SimpleUploadedFile("google.csv", text.encode("utf-8"), content_type="text/csv")
    data = {"file": upload}
    if entity is not None:
        data["entity"] = entity
    return client.client.post("/api/v1/imports", data, **meta)


def uploaded(client: ApiClient, text: str = CSV) -> dict:
    response = post_file(client, text)
    assert response.status_code == 201, response.content
    return response.json()


def test_whole_flow_upload_map_preview_start_report_undo(alice, django_capture_on_commit_callbacks):
    api = ApiClient(alice)
    job = uploaded(api)
    pk = job["id"]
    ImportOut.model_validate(job)  # the answers match what the OpenAPI document declares
    assert job["status"] == "draft" and job["entity"] == "person"
    assert job["headers"] == ["Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value"]
    assert job["source"] == "google"
    assert [m["target"] for m in job["mapping"]] == ["first_name", "last_name", "email", "phone"]

    listed = api.get("/imports").json()
    assert [item["id"] for item in listed["items"]] == [pk] and listed["next_cursor"] is None

    configured = api.put(
        f"/imports/{pk}/mapping", {"strategy": "update", "match_on": ["email", "phone"]}
    )
    assert configured.status_code == 200, configured.content
    assert configured.json()["strategy"] == "update"
    assert configured.json()["match_on"] == ["email", "phone"]

    preview = api.get(f"/imports/{pk}/preview", {"limit": 2})
    assert preview.status_code == 200
    PreviewOut.model_validate(preview.json())
    rows = preview.json()["rows"]
    assert [row["number"] for row in rows] == [1, 2]
    assert rows[0]["errors"] == {} and set(rows[1]["errors"]) == {"2"}  # the broken email

    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/imports/{pk}/start")
    assert started.status_code == 202, started.content
    assert started["Location"].endswith(f"/api/v1/imports/{pk}")

    status = api.get(f"/imports/{pk}").json()
    ImportOut.model_validate(status)
    assert status["status"] == "done" and status["progress"] == 100
    counts = status["counts"]
    assert counts == {"created": 2, "updated": 0, "skipped": 0, "rejected": 1}
    assert sum(counts.values()) == status["processed_rows"] == 3

    report = api.get(f"/imports/{pk}/report").json()
    page_schema(ReportRowOut).model_validate(report)
    assert [(r["number"], r["outcome"]) for r in report["items"]] == [
        (1, "created"),
        (2, "rejected"),
        (3, "created"),
    ]
    created = Person.objects.get(last_name="Kovalenko")
    assert report["items"][0]["object_id"] == created.pk
    assert report["items"][1]["values"][2] == "broken@" and report["items"][1]["reason"]
    only = api.get(f"/imports/{pk}/report", {"outcome": "rejected"}).json()["items"]
    assert [r["number"] for r in only] == [2]
    paged = api.get(f"/imports/{pk}/report", {"limit": 2}).json()
    assert len(paged["items"]) == 2 and paged["next_cursor"]
    rest = api.get(f"/imports/{pk}/report", {"limit": 2, "cursor": paged["next_cursor"]}).json()
    assert [r["number"] for r in rest["items"]] == [3] and rest["next_cursor"] is None

    csv = api.get(f"/imports/{pk}/report.csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 4 and "Family Name" in lines[0] and "broken@" in lines[2]

    with django_capture_on_commit_callbacks(execute=True):
        undone = api.post(f"/imports/{pk}/undo")
    assert undone.status_code == 200, undone.content
    assert undone.json()["status"] == "undone"
    assert ImportOut.model_validate(undone.json()).undo_report["trashed"] == 2
    assert not Person.objects.filter(last_name__in=["Kovalenko", "Ukrainka"]).exists()


def test_invalid_configuration_is_422_naming_the_field(alice):
    api = ApiClient(alice)
    pk = uploaded(api)["id"]
    mapping = [{"column": i, "target": t} for i, t in enumerate(["first_name", "nonsense"])]
    response = api.put(f"/imports/{pk}/mapping", {"mapping": mapping})
    assert is_problem(response, 422)
    assert "mapping.1.target" in fields_of(response)
    twice = [{"column": i, "target": "first_name"} for i in range(2)]
    response = api.put(f"/imports/{pk}/mapping", {"mapping": twice})
    assert is_problem(response, 422) and "mapping.1.target" in fields_of(response)
    response = api.put(f"/imports/{pk}/mapping", {"colour": "red"})
    assert is_problem(response, 422) and fields_of(response) == ["colour"]
    response = api.put(f"/imports/{pk}/mapping", {"strategy": "merge"})
    assert is_problem(response, 422) and fields_of(response) == ["strategy"]
    response = api.put(f"/imports/{pk}/mapping", "{not json")
    assert is_problem(response, 400)
    job = ImportJob.objects.get(pk=pk)
    assert [m["target"] for m in job.mapping] == ["first_name", "last_name", "email", "phone"]

    assert is_problem(api.get(f"/imports/{pk}/report", {"outcome": "lost"}), 400)
    assert fields_of(api.get(f"/imports/{pk}/report", {"outcome": "lost"})) == ["outcome"]
    assert fields_of(api.get(f"/imports/{pk}/report", {"cursor": "x"})) == ["cursor"]
    assert fields_of(api.get("/imports", {"colour": "red"})) == ["colour"]
    assert fields_of(api.get(f"/imports/{pk}/preview", {"limit": "0"})) == ["limit"]


def test_upload_errors(alice, dave):
    api = ApiClient(alice)
    response = post_file(api, entity=None)
    assert is_problem(response, 422) and fields_of(response) == ["entity"]
    response = post_file(api, entity="invoice")
    assert is_problem(response, 422) and fields_of(response) == ["entity"]
    response = api.client.post("/api/v1/imports", {"entity": "person"})
    assert is_problem(response, 422) and fields_of(response) == ["file"]
    response = post_file(api, text="")
    assert is_problem(response, 422) and fields_of(response) == ["file"]
    response = api.post("/imports", {"entity": "person"})
    assert is_problem(response, 415)

    viewer = post_file(ApiClient(dave))
    assert is_problem(viewer, 403)
    assert is_problem(post_file(ApiClient(dave), HTTP_IDEMPOTENCY_KEY="refused"), 403)
    assert not ImportJob.objects.exists()


def test_others_jobs_are_404(alice, bob, admin, django_capture_on_commit_callbacks):
    pk = uploaded(ApiClient(alice))["id"]
    other = ApiClient(bob)
    for response in (
        other.get(f"/imports/{pk}"),
        other.put(f"/imports/{pk}/mapping", {"strategy": "create"}),
        other.get(f"/imports/{pk}/preview"),
        other.post(f"/imports/{pk}/start"),
        other.get(f"/imports/{pk}/report"),
        other.get(f"/imports/{pk}/report.csv"),
        other.post(f"/imports/{pk}/undo"),
        other.post(f"/imports/{pk}/start", HTTP_IDEMPOTENCY_KEY="k"),
        other.get("/imports/99999999999999999999"),
    ):
        assert is_problem(response, 404), response.content
    assert other.get("/imports").json()["items"] == []
    assert ImportJob.objects.get(pk=pk).status == ImportJob.Status.DRAFT
    assert ApiClient(admin).get(f"/imports/{pk}").status_code == 200


def test_list_is_keyset_paged_newest_first(alice):
    api = ApiClient(alice)
    ids = [uploaded(api)["id"] for _ in range(3)]
    first = api.get("/imports", {"limit": 2}).json()
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    rest = api.get("/imports", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]] and rest["next_cursor"] is None


def test_upload_is_idempotent_with_a_key(alice):
    api = ApiClient(alice)
    first = post_file(api, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post_file(api, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert ImportJob.objects.count() == 1


def test_openapi_declares_the_imports_api(db):
    schema = json.loads(Client().get("/api/v1/openapi.json").content)
    paths = schema["paths"]
    expected = {
        "/api/v1/imports": {"get", "post"},
        "/api/v1/imports/{id}": {"get"},
        "/api/v1/imports/{id}/mapping": {"put"},
        "/api/v1/imports/{id}/preview": {"get"},
        "/api/v1/imports/{id}/start": {"post"},
        "/api/v1/imports/{id}/report": {"get"},
        "/api/v1/imports/{id}/report.csv": {"get"},
        "/api/v1/imports/{id}/undo": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
        for method in methods:
            responses = paths[path][method]["responses"]
            for status in ("401", "404", "500"):
                assert list(responses[status]["content"]) == ["application/problem+json"]
    put = paths["/api/v1/imports/{id}/mapping"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ImportConfigure"
    )
    assert "422" in put["responses"]
    upload = paths["/api/v1/imports"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "415" in upload["responses"] and "Location" in upload["responses"]["201"]["headers"]
    assert (
        "text/csv" in paths["/api/v1/imports/{id}/report.csv"]["get"]["responses"]["200"]["content"]
    )


def test_random_configurations_are_never_a_server_error(alice):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    api = ApiClient(alice)
    pk = uploaded(api)["id"]
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.text(max_size=12)
        | st.sampled_from(["", "email", "first_name", "cf:x", "tab", "\t", "utf-16", "koi8-u"])
    )
    entry = st.dictionaries(
        st.sampled_from(["column", "header", "target", "bogus"]), scalars, max_size=4
    )
    keys = ["mapping", "encoding", "delimiter", "sheet", "strategy", "match_on", "bogus"]
    body = st.dictionaries(
        st.sampled_from(keys), scalars | st.lists(entry | scalars, max_size=4), max_size=4
    )

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=body)
    def check(body):
        clear_throttle()
        response = api.put(f"/imports/{pk}/mapping", body)
        assert response.status_code in (200, 400, 422), (body, response.content)
        if response.status_code != 200:
            assert is_problem(response, response.status_code)

    check()
