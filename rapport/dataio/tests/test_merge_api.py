"""The merges API and the tombstone answers of the entity API (308 on GET, 409 on writes)."""

from __future__ import annotations

import pytest

from rapport.contacts.models import Person
from rapport.core.api.testing import ApiClient, clear_throttle, fields_of, is_problem
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    clear_throttle()


def _merge(client, survivor, merged, **extra):
    body = {"entity": "person", "survivor_id": survivor.pk, "merged_id": merged.pk, **extra}
    return client.post("/merges", body)


def test_merge_then_read_list_and_undo(alice):
    client = ApiClient(alice)
    survivor = PersonFactory(actor=alice, first_name="Ann", last_name="Lee")
    merged = PersonFactory(actor=alice, first_name="Anna", last_name="Lee")
    response = _merge(client, survivor, merged, choices={"first_name": "merged"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["survivor_id"] == survivor.pk and body["merged_id"] == merged.pk
    assert body["moved"]["contacts.emailaddress.person"] == 1
    assert response["Location"].endswith(f"/merges/{body['id']}")
    assert client.get(f"/people/{survivor.pk}").json()["first_name"] == "Anna"
    assert client.get(f"/merges/{body['id']}").json() == body
    listed = client.get("/merges", {"entity": "person"}).json()
    assert [m["id"] for m in listed["items"]] == [body["id"]]

    undone = client.post(f"/merges/{body['id']}/undo")
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert client.get(f"/people/{merged.pk}").status_code == 200
    again = client.post(f"/merges/{body['id']}/undo")
    assert is_problem(again, 409)


def test_self_merge_is_422_naming_the_field(alice):
    person = PersonFactory(actor=alice)
    response = _merge(ApiClient(alice), person, person)
    assert is_problem(response, 422) and fields_of(response) == ["merged_id"]


def test_invisible_record_is_404_and_unchangeable_is_403(alice, bob, carol):
    mine = PersonFactory(actor=alice)
    teammates = PersonFactory(actor=bob)
    assert is_problem(_merge(ApiClient(carol), mine, PersonFactory(actor=carol)), 404)
    assert is_problem(_merge(ApiClient(alice), mine, teammates), 403)
    assert Person.objects.filter(pk=teammates.pk).exists()


def test_stale_version_is_412_and_bad_choice_422(alice):
    client = ApiClient(alice)
    a, b = PersonFactory(actor=alice), PersonFactory(actor=alice)
    assert is_problem(_merge(client, a, b, survivor_version=9), 412)
    response = _merge(client, a, b, choices={"first_name": "both"})
    assert is_problem(response, 422) and fields_of(response) == ["choices.first_name"]
    response = _merge(client, a, b, choices={"colour": "merged"})
    assert is_problem(response, 422) and fields_of(response) == ["choices.colour"]


def test_merged_id_redirects_on_get_and_refuses_writes(alice, carol):
    client = ApiClient(alice)
    a, b = PersonFactory(actor=alice), PersonFactory(actor=alice)
    assert _merge(client, a, b).status_code == 201
    response = client.get(f"/people/{b.pk}")
    assert response.status_code == 308
    assert response["Location"] == f"/api/v1/people/{a.pk}"
    for response in (
        client.patch(f"/people/{b.pk}", {"notes": "x"}),
        client.delete(f"/people/{b.pk}"),
        client.post(f"/people/{b.pk}/restore"),
    ):
        assert is_problem(response, 409) and response.json()["survivor_id"] == a.pk
    # Someone who cannot see the survivor learns nothing.
    assert is_problem(ApiClient(carol).get(f"/people/{b.pk}"), 404)


def test_merges_of_invisible_records_are_hidden(alice, carol):
    client = ApiClient(alice)
    a, b = PersonFactory(actor=alice), PersonFactory(actor=alice)
    merge_id = _merge(client, a, b).json()["id"]
    outsider = ApiClient(carol)
    assert outsider.get("/merges").json()["items"] == []
    assert is_problem(outsider.get(f"/merges/{merge_id}"), 404)
    assert is_problem(outsider.post(f"/merges/{merge_id}/undo"), 404)


def test_openapi_declares_merges(alice):
    schema = ApiClient(alice).get("/openapi.json").json()
    assert {"/api/v1/merges", "/api/v1/merges/{merge_id}/undo"} <= set(schema["paths"])
    post = schema["paths"]["/api/v1/merges"]["post"]
    assert "422" in post["responses"] and "requestBody" in post
    assert "308" in schema["paths"]["/api/v1/people/{id}"]["get"]["responses"]


def test_merge_post_is_idempotent_with_a_key(alice):
    client = ApiClient(alice)
    a, b = PersonFactory(actor=alice), PersonFactory(actor=alice)
    body = {"entity": "person", "survivor_id": a.pk, "merged_id": b.pk}
    first = client.post("/merges", body, HTTP_IDEMPOTENCY_KEY="merge-1")
    again = client.post("/merges", body, HTTP_IDEMPOTENCY_KEY="merge-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()


def test_merge_list_pages_with_a_cursor(alice):
    client = ApiClient(alice)
    people = [PersonFactory(actor=alice) for _ in range(4)]
    ids = [_merge(client, people[0], p).json()["id"] for p in people[1:]]
    first = client.get("/merges", {"limit": 2}).json()
    second = client.get("/merges", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [m["id"] for m in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert is_problem(client.get("/merges", {"colour": "red"}), 400)
    assert is_problem(client.get("/merges", {"cursor": "nonsense"}), 400)
