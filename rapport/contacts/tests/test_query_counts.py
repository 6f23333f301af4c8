"""Query counts of the single-record paths (benchmark targets 5 and 9): a POST or PATCH of a
person and the person page cost the same number of queries whatever the record holds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.contacts.services import person_update
from rapport.core.api.testing import ApiClient, clear_throttle
from rapport.core.models import AuditEvent, Tag
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db

# The search entry: one upsert on PostgreSQL; entry plus its FTS5 row on SQLite.
SEARCH = 3 if connection.vendor == "sqlite" else 1
# Token + authority (1) + transaction (2) + custom field definitions + suppression
# (emails and phones in one) + person, emails, phones, tag lookup, tag links, audit row
# + search entry.
POST_QUERIES = 12 + SEARCH
# Token + authority (1) + the row + transaction (2) + locked row + its four relations (one
# statement) + tag lookup, tag links removed and added + row update + audit row + search entry.
PATCH_QUERIES = 12 + SEARCH
TAGS = ["vip", "lead", "partner", "press", "customer"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_throttle()


@pytest.fixture
def client(alice):
    for name in TAGS:
        Tag.objects.get_or_create(name=name)
    api = ApiClient(alice)
    api.get("/people")  # the token's first use writes last_used_at (once a minute)
    return api


def _body(i: int, size: int) -> dict:
    return {
        "first_name": "Olena",
        "last_name": f"Kovalenko{i}",
        "emails": [{"address": f"o{i}.{n}@example.com"} for n in range(size)],
        "phones": [{"number": f"+38044123{i:02d}{n:02d}"} for n in range(size)],
        "tags": TAGS[:size],
    }


def _count(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    return len(ctx.captured_queries), response


def test_post_person_costs_a_constant_number_of_queries(client):
    small, first = _count(lambda: client.post("/people", _body(1, 1)))
    large, second = _count(lambda: client.post("/people", _body(2, 4)))
    assert first.status_code == 201 and second.status_code == 201, second.content
    assert second.json()["tags"] == sorted(TAGS[:4])
    assert len(second.json()["emails"]) == 4
    assert small == large == POST_QUERIES


def test_patch_person_costs_a_constant_number_of_queries(client):
    counts = []
    for i, size in enumerate((1, 4)):
        created = client.post("/people", _body(10 + i, size)).json()
        patch = {"source": "fair", "tags": TAGS[size : size + 1 + i]}
        count, response = _count(
            lambda created=created, patch=patch: client.patch(
                f"/people/{created['id']}", patch, HTTP_IF_MATCH=f'"{created["version"]}"'
            )
        )
        assert response.status_code == 200, response.content
        assert response.json()["tags"] == sorted(patch["tags"])
        assert response["ETag"] == '"2"'
        counts.append(count)
    assert counts == [PATCH_QUERIES, PATCH_QUERIES]
    assert AuditEvent.objects.filter(action="update", object_type="person").count() == 2


def test_person_answer_matches_a_fresh_read(client):
    created = client.post("/people", _body(20, 3))
    patched = client.patch(
        f"/people/{created.json()['id']}",
        {"tags": ["press"], "emails": [{"address": "new@example.com"}]},
        HTTP_IF_MATCH=created["ETag"],
    )
    fresh = client.get(f"/people/{created.json()['id']}")
    assert created.status_code == 201 and patched.status_code == 200
    assert patched.json() == fresh.json()
    assert patched.json()["emails"] == [
        {"address": "new@example.com", "label": "", "primary": True}
    ]


def _page_queries(user, person) -> int:
    browser = Client()
    browser.force_login(user)
    browser.get(f"/people/{person.pk}/")  # session and caches warm
    count, response = _count(lambda: browser.get(f"/people/{person.pk}/"))
    assert response.status_code == 200
    return count


def _with_history(actor, updates: int):
    person = PersonFactory(actor=actor)
    for n in range(updates):
        person = person_update(
            actor=actor, person=person, data={"source": f"s{n}", "tags": TAGS[n % 3 : n % 3 + 2]}
        )
    return person


def test_person_page_queries_do_not_grow_with_its_history(alice):
    few = _with_history(alice, 4)
    many = _with_history(alice, 55)
    assert AuditEvent.objects.filter(object_type="person", object_id=many.pk).count() >= 50
    assert _page_queries(alice, few) == _page_queries(alice, many)
