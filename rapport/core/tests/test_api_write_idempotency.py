"""Idempotency-Key on writes: the work and its stored answer commit in one transaction, a
refusal is stored with its audit row, a server error rolls the work back and frees the key."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts import entities
from rapport.contacts.models import Person
from rapport.core.api.testing import ApiClient, clear_throttle, is_problem
from rapport.core.models import AuditEvent, IdempotencyRecord

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_throttle()


@pytest.mark.django_db(transaction=True)
def test_answer_is_stored_inside_the_work_transaction(alice):
    client = ApiClient(alice)
    client.get("/people")  # the token's first use writes last_used_at
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/people", {"first_name": "Once"}, HTTP_IDEMPOTENCY_KEY="t-1")
    assert response.status_code == 201, response.content
    sql = [q["sql"] for q in ctx.captured_queries]
    person_insert = next(
        i for i, s in enumerate(sql) if s.startswith('INSERT INTO "contacts_person"')
    )
    store = next(i for i, s in enumerate(sql) if s.startswith('UPDATE "core_idempotencyrecord"'))
    commits = [i for i, s in enumerate(sql) if s == "COMMIT"]
    # claim committed on its own, then one transaction holding the person and the answer
    assert len(commits) == 2 and commits[0] < person_insert < store < commits[1]
    record = IdempotencyRecord.objects.get(key="t-1")
    assert record.status == 201 and record.headers["Location"] == response["Location"]
    replay = client.post("/people", {"first_name": "Once"}, HTTP_IDEMPOTENCY_KEY="t-1")
    assert replay["Idempotent-Replayed"] == "true" and replay.content == response.content
    assert Person.objects.filter(first_name="Once").count() == 1


def test_refusal_is_stored_with_its_audit_row(dave):
    client = ApiClient(dave)
    first = client.post("/people", {"first_name": "No"}, HTTP_IDEMPOTENCY_KEY="d-1")
    assert is_problem(first, 403)
    replay = client.post("/people", {"first_name": "No"}, HTTP_IDEMPOTENCY_KEY="d-1")
    assert is_problem(replay, 403) and replay["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(action="denied", actor=dave, object_type="person").count() == 1
    assert not Person.objects.filter(first_name="No").exists()


def test_server_error_after_the_write_rolls_it_back_and_frees_the_key(alice, monkeypatch):
    client = ApiClient(alice)
    client.client.raise_request_exception = False

    def broken(obj, user):
        raise RuntimeError("render failed")

    monkeypatch.setattr(entities.PersonEntity, "serialize", classmethod(broken))
    failed = client.post("/people", {"first_name": "Twice"}, HTTP_IDEMPOTENCY_KEY="e-1")
    assert is_problem(failed, 500)
    assert not Person.all_objects.filter(first_name="Twice").exists()
    assert not AuditEvent.objects.filter(action="create", object_repr="Twice").exists()
    assert not IdempotencyRecord.objects.filter(key="e-1").exists()
    monkeypatch.undo()
    retried = client.post("/people", {"first_name": "Twice"}, HTTP_IDEMPOTENCY_KEY="e-1")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert Person.objects.filter(first_name="Twice").count() == 1


def test_validation_error_is_stored_and_replayed_naming_the_field(alice):
    client = ApiClient(alice)
    bad = client.post("/people", {"emails": [{"address": "x"}]}, HTTP_IDEMPOTENCY_KEY="v-1")
    assert is_problem(bad, 422)
    replay = client.post("/people", {"emails": [{"address": "x"}]}, HTTP_IDEMPOTENCY_KEY="v-1")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["errors"] == bad.json()["errors"]
    assert IdempotencyRecord.objects.get(key="v-1").status == 422
