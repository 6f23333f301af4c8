"""`/api/v1/duplicates`: clusters, scans, dismissals and the check, scoped, problem+json."""

from __future__ import annotations

import pytest

from rapport.core.api.testing import ApiClient, fields_of, is_problem
from rapport.dataio.dedup import scan as dedup_scan
from rapport.dataio.models import DuplicateDismissal, DuplicateScan
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def person(actor, first, last, email):
    return PersonFactory(actor=actor, first_name=first, last_name=last, emails=[{"address": email}])


@pytest.fixture
def pairs(alice, carol):
    made = {
        "a1": person(alice, "Олександр", "Шевченко", "sasha@example.com"),
        "a2": person(alice, "Sasha", "Shevchenko", "sasha@example.com"),
        "b1": person(alice, "Anna", "Lis", "anna@example.com"),
        "b2": person(alice, "Anna", "Lis", "anna@example.com"),
        "c1": person(carol, "Ivan", "Franko", "ivan@example.com"),
        "c2": person(carol, "Ivan", "Franko", "ivan@example.com"),
    }
    scan = DuplicateScan.objects.create(entity="person")
    dedup_scan.scan_duplicates.call("person", scan.pk)
    return made


def test_list_shows_only_visible_clusters_with_reasons(alice, carol, pairs):
    body = ApiClient(alice).get("/duplicates", {"entity": "person"}).json()
    members = [sorted(m["id"] for m in c["members"]) for c in body["items"]]
    assert sorted(members) == sorted(
        [sorted([pairs["a1"].pk, pairs["a2"].pk]), sorted([pairs["b1"].pk, pairs["b2"].pk])]
    )
    first = body["items"][0]
    assert first["reasons"][0] == {"code": "email", "score": None, "text": "same email"}
    assert first["pairs"][0]["left_id"] < first["pairs"][0]["right_id"]
    carol_view = ApiClient(carol).get("/duplicates").json()["items"]
    assert [sorted(m["id"] for m in c["members"]) for c in carol_view] == [
        sorted([pairs["c1"].pk, pairs["c2"].pk])
    ]


def test_list_pages_with_a_cursor(alice, pairs):
    api = ApiClient(alice)
    first = api.get("/duplicates", {"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = api.get("/duplicates", {"limit": 1, "cursor": first["next_cursor"]}).json()
    assert len(second["items"]) == 1 and second["items"][0]["id"] != first["items"][0]["id"]
    third = api.get("/duplicates", {"limit": 1, "cursor": second["next_cursor"]}).json()
    assert third == {"items": [], "next_cursor": None}  # carol's cluster is skipped


def test_bad_query_is_a_400_naming_the_parameter(alice):
    api = ApiClient(alice)
    response = api.get("/duplicates", {"entity": "deal"})
    assert is_problem(response, 400) and fields_of(response) == ["entity"]
    response = api.get("/duplicates", {"colour": "red"})
    assert is_problem(response, 400) and fields_of(response) == ["colour"]
    assert fields_of(api.get("/duplicates", {"cursor": "junk"})) == ["cursor"]


def test_scan_is_queued_for_managers_and_refused_to_reps(
    alice, erin, django_capture_on_commit_callbacks
):
    assert is_problem(ApiClient(alice).post("/duplicates/scan", {"entity": "person"}), 403)
    with django_capture_on_commit_callbacks(execute=True):
        response = ApiClient(erin).post("/duplicates/scan", {"entity": "person"})
    assert response.status_code == 202 and response.json()["status"] == "queued"
    latest = ApiClient(erin).get("/duplicates/scans/latest", {"entity": "person"})
    assert latest.status_code == 200 and latest.json()["status"] == "done"
    bad = ApiClient(erin).post("/duplicates/scan", {"entity": "deal"})
    assert is_problem(bad, 422) and fields_of(bad) == ["entity"]


def test_latest_scan_is_404_before_any_scan(alice):
    assert is_problem(ApiClient(alice).get("/duplicates/scans/latest"), 404)


def test_dismiss_records_the_pair_and_hides_it(alice, pairs):
    api = ApiClient(alice)
    body = {"entity": "person", "left_id": pairs["b2"].pk, "right_id": pairs["b1"].pk}
    response = api.post("/duplicates/dismiss", body)
    assert response.status_code == 200
    assert response.json()["left_id"] == min(pairs["b1"].pk, pairs["b2"].pk)
    assert DuplicateDismissal.objects.count() == 1
    ids = {m["id"] for c in api.get("/duplicates").json()["items"] for m in c["members"]}
    assert pairs["b1"].pk not in ids


def test_dismiss_of_foreign_record_is_404_and_self_pair_422(alice, pairs):
    api = ApiClient(alice)
    foreign = {"entity": "person", "left_id": pairs["a1"].pk, "right_id": pairs["c1"].pk}
    assert is_problem(api.post("/duplicates/dismiss", foreign), 404)
    same = {"entity": "person", "left_id": pairs["a1"].pk, "right_id": pairs["a1"].pk}
    response = api.post("/duplicates/dismiss", same)
    assert is_problem(response, 422) and fields_of(response) == ["right_id"]
    unknown = api.post("/duplicates/dismiss", {**foreign, "extra": 1})
    assert is_problem(unknown, 422) and fields_of(unknown) == ["extra"]


def test_check_finds_duplicates_before_create(alice, pairs):
    data = {"first_name": "Oleksandr", "last_name": "Shevchenko", "emails": ["SASHA@example.com"]}
    response = ApiClient(alice).post("/duplicates/check", {"entity": "person", "data": data})
    assert response.status_code == 200
    items = response.json()["items"]
    assert {i["id"] for i in items} == {pairs["a1"].pk, pairs["a2"].pk}
    assert items[0]["reasons"][0]["text"] == "same email"


def test_check_excluding_the_record_being_edited(alice, carol, pairs):
    body = {
        "entity": "person",
        "data": {"first_name": "Sasha", "last_name": "Shevchenko", "emails": ["sasha@example.com"]},
        "exclude_id": pairs["a2"].pk,
    }
    items = ApiClient(alice).post("/duplicates/check", body).json()["items"]
    assert [i["id"] for i in items] == [pairs["a1"].pk]
    assert is_problem(ApiClient(carol).post("/duplicates/check", body), 404)


def test_endpoints_are_in_the_openapi_document(alice):
    paths = ApiClient(alice).get("/openapi.json").json()["paths"]
    for path in ("", "/scan", "/scans/latest", "/dismiss", "/check"):
        assert f"/api/v1/duplicates{path}" in paths
    listing = paths["/api/v1/duplicates"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"entity", "cursor", "limit"}
    assert "application/problem+json" in listing["responses"]["400"]["content"]


def test_check_with_odd_shapes_answers_without_matches_not_500(alice, pairs):
    api = ApiClient(alice)
    for data in (
        {"first_name": 5, "last_name": ["x"], "emails": 3, "phones": {"a": 1}},
        {"emails": [None, {"address": 7}], "phones": ["not a phone"], "addresses": "x"},
        {},
    ):
        response = api.post("/duplicates/check", {"entity": "person", "data": data})
        assert response.status_code == 200 and response.json() == {"items": []}
    company = api.post("/duplicates/check", {"entity": "company", "data": {"name": ["x"]}})
    assert company.status_code == 200
