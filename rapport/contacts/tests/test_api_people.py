"""People over the HTTP API: CRUD, visibility, personal data, ownership, versions."""

from __future__ import annotations

import json

import pytest

from rapport.contacts.models import Person
from rapport.core.api.testing import ApiClient, fields_of, is_problem
from rapport.core.models import AuditEvent
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    from rapport.core.api.testing import clear_throttle

    clear_throttle()


def api(user) -> ApiClient:
    return ApiClient(user)


def test_crud_round_trip(alice, personas):
    client = api(alice)
    created = client.post(
        "/people",
        {
            "first_name": "Olena",
            "last_name": "Kovalenko",
            "emails": [
                {"address": "olena@example.com", "label": "work"},
                {"address": "o.k@example.org"},
            ],
            "phones": [{"number": "044 123 4567", "label": "office"}],
            "tags": ["vip", "kyiv"],
            "addresses": [{"city": "Kyiv", "country": "UA"}],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    pk = body["id"]
    assert created["Location"].endswith(f"/api/v1/people/{pk}")
    assert created["ETag"] == '"1"'
    assert body["phones"] == [{"number": "+380441234567", "label": "office"}]
    assert body["emails"][0] == {"address": "olena@example.com", "label": "work", "primary": True}
    assert body["owner"] == alice.pk and body["team"] == personas.team_a.pk
    assert body["tags"] == ["kyiv", "vip"]
    assert "birthday" not in body and "gender" not in body

    detail = client.get(f"/people/{pk}")
    assert detail.status_code == 200 and detail["ETag"] == '"1"'
    assert detail.json() == body

    patched = client.patch(
        f"/people/{pk}",
        {
            "last_name": "Shevchenko",
            "emails": [{"address": "new@example.com"}],
            "middle_name": None,
        },
        HTTP_IF_MATCH='"1"',
    )
    assert patched.status_code == 200, patched.content
    assert patched["ETag"] == '"2"'
    data = patched.json()
    assert data["last_name"] == "Shevchenko" and data["first_name"] == "Olena"
    assert [e["address"] for e in data["emails"]] == ["new@example.com"]
    assert data["tags"] == ["kyiv", "vip"]  # absent keys stay
    assert data["version"] == 2

    cleared = client.patch(f"/people/{pk}", {"tags": None, "phones": []})
    assert cleared.json()["tags"] == [] and cleared.json()["phones"] == []

    deleted = client.delete(f"/people/{pk}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert is_problem(client.get(f"/people/{pk}"), 404)
    assert Person.all_objects.get(pk=pk).in_trash

    restored = client.post(f"/people/{pk}/restore")
    assert restored.status_code == 200, restored.content
    assert restored.json()["deleted_at"] is None
    assert restored["ETag"] == f'"{restored.json()["version"]}"'
    assert client.get(f"/people/{pk}").status_code == 200

    actions = list(
        AuditEvent.objects.filter(object_type="person", object_id=pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "update", "delete", "restore"]


def test_outsider_gets_404_everywhere(alice, carol):
    person = PersonFactory(actor=alice)
    client = api(carol)
    assert is_problem(client.get(f"/people/{person.pk}"), 404)
    assert is_problem(client.patch(f"/people/{person.pk}", {"first_name": "X"}), 404)
    assert is_problem(client.delete(f"/people/{person.pk}"), 404)
    assert is_problem(client.post(f"/people/{person.pk}/restore"), 404)
    assert client.get("/people").json()["items"] == []
    assert is_problem(client.get("/audit", {"object_type": "person", "object_id": person.pk}), 404)
    # the same answer as a record that does not exist at all
    missing = client.get("/people/999999")
    assert missing.json()["detail"] == client.get(f"/people/{person.pk}").json()["detail"]
    person.refresh_from_db()
    assert person.first_name != "X" and not person.in_trash


def test_teammate_sees_but_gets_403_on_writes(alice, bob):
    person = PersonFactory(actor=alice, first_name="Keep")
    client = api(bob)
    assert client.get(f"/people/{person.pk}").status_code == 200
    assert [p["id"] for p in client.get("/people").json()["items"]] == [person.pk]
    assert is_problem(client.patch(f"/people/{person.pk}", {"first_name": "X"}), 403)
    assert is_problem(client.delete(f"/people/{person.pk}"), 403)
    person.refresh_from_db()
    assert person.first_name == "Keep" and not person.in_trash and person.version == 1
    assert AuditEvent.objects.filter(action="denied", actor=bob, object_id=person.pk).count() == 2


def test_viewer_may_not_create(dave):
    response = api(dave).post("/people", {"first_name": "Nope"})
    assert is_problem(response, 403)
    assert not Person.objects.filter(first_name="Nope").exists()
    assert AuditEvent.objects.filter(action="denied", actor=dave, object_type="person").exists()
    assert is_problem(api(dave).post("/people", {"bogus": 1}), 403)


def test_personal_fields_hidden_without_permission(alice, erin, admin):
    person = PersonFactory(actor=erin, birthday="1990-05-01", gender="female")
    mine = api(alice).get(f"/people/{person.pk}").json()
    for field in ("birthday", "gender", "family_status", "income_band"):
        assert field not in mine
    theirs = api(erin).get(f"/people/{person.pk}").json()
    assert theirs["birthday"] == "1990-05-01" and theirs["gender"] == "female"
    assert api(admin).get(f"/people/{person.pk}").json()["birthday"] == "1990-05-01"
    listed = api(alice).get("/people").json()["items"][0]
    assert "birthday" not in listed


def test_writing_personal_field_without_permission_is_403_naming_it(alice):
    client = api(alice)
    response = client.post("/people", {"first_name": "A", "birthday": "1990-01-01"})
    assert is_problem(response, 403)
    assert fields_of(response) == ["birthday"]
    person = PersonFactory(actor=alice)
    response = client.patch(f"/people/{person.pk}", {"gender": "male"})
    assert is_problem(response, 403) and fields_of(response) == ["gender"]
    assert not Person.objects.filter(first_name="A").exists()


def test_manager_writes_personal_data(erin):
    client = api(erin)
    response = client.post(
        "/people", {"first_name": "B", "birthday": "1985-02-03", "income_band": "high"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["birthday"] == "1985-02-03"
    assert response.json()["income_band"] == "high"


def test_owner_and_team_need_assign(alice, bob, erin, personas):
    rep = api(alice)
    response = rep.post("/people", {"first_name": "C", "owner": bob.pk})
    assert is_problem(response, 403) and fields_of(response) == ["owner"]
    response = rep.post("/people", {"first_name": "C", "team": personas.team_b.pk})
    assert is_problem(response, 403) and fields_of(response) == ["team"]
    person = PersonFactory(actor=alice)
    response = rep.patch(f"/people/{person.pk}", {"owner": bob.pk})
    assert is_problem(response, 403) and fields_of(response) == ["owner"]

    manager = api(erin)
    response = manager.post("/people", {"first_name": "D", "owner": bob.pk})
    assert response.status_code == 201 and response.json()["owner"] == bob.pk
    response = manager.patch(f"/people/{person.pk}", {"owner": bob.pk})
    assert response.status_code == 200 and response.json()["owner"] == bob.pk

    response = manager.patch(f"/people/{person.pk}", {"owner": 987654})
    assert is_problem(response, 422) and fields_of(response) == ["owner"]
    response = manager.patch(f"/people/{person.pk}", {"owner": None})
    assert is_problem(response, 422) and fields_of(response) == ["owner"]


@pytest.mark.parametrize(
    "field",
    [
        "id",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
        "created_by",
        "company",
        "job_title",
    ],
)
def test_read_only_fields_are_422_naming_them(alice, field):
    client = api(alice)
    response = client.post("/people", {"first_name": "E", field: 5})
    assert is_problem(response, 422)
    errors = response.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, "read_only")]
    person = PersonFactory(actor=alice)
    response = client.patch(f"/people/{person.pk}", {field: 5})
    assert is_problem(response, 422) and fields_of(response) == [field]


def test_unknown_and_invalid_fields_are_422_with_paths(alice):
    client = api(alice)
    response = client.post("/people", {"first_name": "F", "favourite_colour": "red"})
    assert is_problem(response, 422)
    assert response.json()["errors"][0] == {
        "field": "favourite_colour",
        "message": "Unknown field.",
        "code": "unknown",
    }
    response = client.post(
        "/people",
        {"first_name": "F", "emails": [{"address": "ok@example.com"}, {"address": "nope"}]},
    )
    assert is_problem(response, 422) and fields_of(response) == ["emails.1.address"]
    response = client.post("/people", {"first_name": "F", "emails": [{"adress": "x@y.z"}]})
    assert is_problem(response, 422)
    assert set(fields_of(response)) == {"emails.0.adress", "emails.0.address"}
    response = client.post("/people", {"first_name": 12, "phones": [{"number": "12"}]})
    assert is_problem(response, 422) and fields_of(response) == ["first_name"]
    response = client.post("/people", {"first_name": "F", "phones": [{"number": "12"}]})
    assert is_problem(response, 422) and fields_of(response) == ["phones.0.number"]
    response = client.post("/people", {})
    assert is_problem(response, 422) and fields_of(response) == ["first_name"]
    response = client.post("/people", {"first_name": "x" * 101})
    assert is_problem(response, 422) and fields_of(response) == ["first_name"]
    response = client.post("/people", {"first_name": "nul\u0000"})
    assert is_problem(response, 422) and fields_of(response) == ["first_name"]
    assert not Person.objects.exists()


def test_stale_if_match_is_412_and_changes_nothing(alice):
    person = PersonFactory(actor=alice, first_name="Stay")
    client = api(alice)
    assert client.patch(f"/people/{person.pk}", {"first_name": "One"}).status_code == 200
    stale = client.patch(f"/people/{person.pk}", {"first_name": "Two"}, HTTP_IF_MATCH='"1"')
    assert is_problem(stale, 412)
    assert stale.json()["current_version"] == 2
    assert is_problem(client.delete(f"/people/{person.pk}", HTTP_IF_MATCH='"1"'), 412)
    assert is_problem(client.delete(f"/people/{person.pk}", HTTP_IF_MATCH='W/"2"'), 412)
    person.refresh_from_db()
    assert person.first_name == "One" and person.version == 2 and not person.in_trash
    # the body's version is never used for concurrency
    ok = client.patch(f"/people/{person.pk}", {"last_name": "Z"}, HTTP_IF_MATCH='"2"')
    assert ok.status_code == 200 and ok["ETag"] == '"3"'
    assert client.delete(f"/people/{person.pk}", HTTP_IF_MATCH='"3"').status_code == 204


def test_body_version_is_refused_not_used(alice):
    person = PersonFactory(actor=alice)
    response = api(alice).patch(f"/people/{person.pk}", {"version": 99, "first_name": "V"})
    assert is_problem(response, 422) and fields_of(response) == ["version"]


def test_audit_endpoint_hides_personal_values(alice, erin):
    person = PersonFactory(actor=erin, first_name="Audited", birthday="1970-01-01")
    api(erin).patch(f"/people/{person.pk}", {"birthday": "1971-01-01", "last_name": "New"})
    mine = api(alice).get("/audit", {"object_type": "person", "object_id": person.pk})
    assert mine.status_code == 200, mine.content
    items = mine.json()["items"]
    assert [i["action"] for i in items] == ["update", "create"]
    assert "birthday" not in items[0]["changes"] and "last_name" in items[0]["changes"]
    theirs = api(erin).get("/audit", {"object_type": "person", "object_id": person.pk})
    assert theirs.json()["items"][0]["changes"]["birthday"] == ["1970-01-01", "1971-01-01"]
    bad = api(alice).get("/audit", {"object_type": "spaceship", "object_id": 1})
    assert is_problem(bad, 400) and fields_of(bad) == ["object_type"]


def _answer_read_afresh(entity, pk: int, user) -> dict:
    """The detail answer as the ORM's own queryset (with its four prefetches) gives it."""
    from rapport.core.api.crud import json_response

    obj = entity.detail_queryset(entity.model.objects.all()).get(pk=pk)
    return json.loads(json_response(entity.serialize(obj, user)).content)


def test_a_record_read_by_id_answers_as_the_full_read_in_two_statements(alice, bob, carol, erin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rapport.contacts.entities import CompanyEntity, PersonEntity
    from rapport.testing.factories import CompanyFactory

    company = CompanyFactory(actor=alice, phones=[{"number": "+380441112233"}], tags=["b2b"])
    people = [
        PersonFactory(
            actor=erin,
            company=company,
            emails=[{"address": f"p{i}@example.com"}, {"address": f"q{i}@example.org"}],
            phones=[{"number": f"+38067123450{i}", "label": "mobile"}, {"number": "+48501234567"}],
            tags=["vip", f"t{i}"],
            groups=["Friends", "Business"],
            birthday="1990-05-01",
        )
        for i in range(2)
    ]
    bare = PersonFactory(actor=alice, emails=[])
    for user in (alice, bob, erin):
        for person in [*people, bare]:
            with CaptureQueriesContext(connection) as seen:
                answer = api(user).get(f"/people/{person.pk}")
            assert answer.status_code == 200
            assert answer.json() == _answer_read_afresh(PersonEntity, person.pk, user)
            record_reads = [q for q in seen.captured_queries if "contacts_" in q["sql"]]
            assert len(record_reads) == 2, [q["sql"][:80] for q in record_reads]
        company_answer = api(user).get(f"/companies/{company.pk}").json()
        assert company_answer == _answer_read_afresh(CompanyEntity, company.pk, user)
    assert "birthday" in api(erin).get(f"/people/{people[0].pk}").json()
    assert "birthday" not in api(alice).get(f"/people/{people[0].pk}").json()
    # A plan compiled for one scope is never another's: the outsider still gets 404.
    assert is_problem(api(carol).get(f"/people/{people[0].pk}"), 404)
    assert is_problem(api(carol).get(f"/companies/{company.pk}"), 404)
    assert is_problem(api(alice).get("/people/999999"), 404)
