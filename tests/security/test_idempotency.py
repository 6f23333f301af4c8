"""Idempotency: a retried request or a restarted job has its effect exactly once.

- 1,000 POSTs with the same `Idempotency-Key` from eight threads create one record;
  every answer but the first is a replay (same status and body, `Idempotent-Replayed:
  true`), a client retrying the 409 the in-flight request gets while the first runs.
- Every operation the OpenAPI document marks idempotent (it declares the header)
  replays its first answer, even a refusal, and writes nothing the second time.
- Background jobs killed mid-run (a BaseException, as when the worker dies: no handler
  marks them failed) and run again: the import resumes after its last recorded row and
  creates each row exactly once; the duplicate scan replaces its clusters whole.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import Client

from rapport.contacts.models import EmailAddress, Person
from rapport.core.api.testing import ApiClient, clear_throttle
from rapport.core.models import AuditEvent, IdempotencyRecord
from rapport.core.registry import registry
from rapport.dataio import import_runner, importing
from rapport.dataio.dedup import scan as dedup_scan
from rapport.dataio.models import DuplicateCluster, DuplicatePair, DuplicateScan, ImportJob
from rapport.dataio.tests.importhelpers import assert_counts_add_up, csv_bytes
from rapport.testing.factories import PersonFactory

from .conftest import entities, make_record

RETRIES = 1_000
THREADS = 8
MISSING_ID = 9_000_000_000


class Killed(BaseException):  # noqa: N818 - it stands for the worker dying, not an error
    """What a worker's death looks like to the code it was running: no `except
    Exception` handler sees it, so nothing records a failure."""


@pytest.fixture
def builtin_roles(transactional_db):
    """A transactional test starts from a flushed database (the data migration's roles
    are gone); the search tables, which a flush does not know about, are emptied after."""
    from rapport.accounts.models import Role
    from rapport.accounts.roles import ensure_builtin_roles
    from rapport.core import search

    ensure_builtin_roles(Role)
    yield
    search.backend().delete_all()


@pytest.mark.django_db(transaction=True)
def test_idempotency_1000_retried_posts_create_one_record(builtin_roles, personas):
    clear_throttle()
    token = ApiClient(personas.alice).raw_token
    key = str(uuid.uuid4())
    body = {"first_name": "Once", "last_name": "Only", "emails": [{"address": "once@example.com"}]}
    answers: list = [None] * RETRIES
    barrier = threading.Barrier(THREADS)

    def work(offset: int) -> None:
        client = ApiClient(raw_token=token)
        try:
            barrier.wait(timeout=60)
            for i in range(offset, RETRIES, THREADS):
                for _attempt in range(200):  # a real client retries 409 after Retry-After
                    response = client.post("/people", body, HTTP_IDEMPOTENCY_KEY=key)
                    if response.status_code != 409:
                        break
                    time.sleep(0.01)
                answers[i] = response
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert all(answer is not None for answer in answers)
    assert Counter(answer.status_code for answer in answers) == {201: RETRIES}
    originals = [a for a in answers if a.headers.get("Idempotent-Replayed") != "true"]
    assert len(originals) == 1
    first = originals[0]
    for answer in answers:
        assert answer.content == first.content
        assert answer["Location"] == first["Location"] and answer["ETag"] == first["ETag"]
    assert Person.objects.filter(last_name="Only").count() == 1
    assert EmailAddress.objects.filter(address="once@example.com").count() == 1
    created = AuditEvent.objects.filter(object_type="person", action=AuditEvent.Action.CREATE)
    assert created.count() == 1
    assert IdempotencyRecord.objects.filter(key=key).count() == 1


def _idempotent_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation declaring the Idempotency-Key header."""
    document = json.loads(Client().get("/api/v1/openapi.json").content)
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = {p.get("name") for p in operation.get("parameters", [])}
            if "Idempotency-Key" in names:
                found.append((method, path))
    return found


def _fill(path: str, ids: dict[str, int]) -> str:
    """Path parameters: the id of the caller's record when the segment before them names
    an entity (`/people/{id}/restore`), else an id that does not exist."""
    prefix, _sep, rest = path.partition("/{")
    if not rest:
        return path
    last = prefix.rsplit("/", 1)[-1]
    value = ids.get(last, MISSING_ID)
    return f"{prefix}/{value}{rest[rest.index('}') + 1 :]}"


@pytest.mark.django_db
def test_idempotency_every_idempotent_operation_replays_without_a_second_effect(personas):
    clear_throttle()
    admin = personas.admin
    ids = {}
    for entity in entities():
        obj = make_record(entity, owner=admin, actor=admin)
        ids[entity.url_base] = obj.pk
    operations = _idempotent_operations()
    assert ("post", "/api/v1/merges") in operations  # the dataio endpoints are among them
    client = Client(HTTP_AUTHORIZATION=f"Bearer {ApiClient(admin).raw_token}")
    tables = [entity.model.all_objects for entity in registry]
    for method, template in operations:
        path = _fill(template, ids)
        key = str(uuid.uuid4())
        send = getattr(client, method)
        first = send(path, "{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
        assert first.status_code < 500, (path, first.content)
        assert first.headers.get("Idempotent-Replayed") is None
        before = (AuditEvent.objects.count(), [table.count() for table in tables])
        again = send(path, "{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
        assert again.status_code == first.status_code, (path, again.content)
        assert again.content == first.content, path
        assert again["Idempotent-Replayed"] == "true", path
        assert (AuditEvent.objects.count(), [table.count() for table in tables]) == before
        other = send(path, '{"x": 1}', content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
        assert other.status_code == 422, (path, other.content)  # same key, another body


@pytest.mark.django_db
def test_idempotency_refused_merge_with_a_key_is_stored_not_a_500(personas):
    """Found by the fuzzer: a refused merge (or erase) sent with an Idempotency-Key
    answered 500 (the error handler looked for the API on its router)."""
    clear_throttle()
    client = ApiClient(personas.admin)
    person = make_record(registry.get("person"), owner=personas.admin, actor=personas.admin)
    before = str(person)
    body = {"entity": "nothing", "survivor_id": 1, "merged_id": 2}
    for path, payload in (
        ("/merges", body),
        (f"/privacy/people/{person.pk}/erase", {"reason": "asked", "confirm": -1}),
    ):
        first = client.post(path, payload, HTTP_IDEMPOTENCY_KEY=f"k-{path}")
        again = client.post(path, payload, HTTP_IDEMPOTENCY_KEY=f"k-{path}")
        assert first.status_code == 422, first.content
        assert again.status_code == 422 and again["Idempotent-Replayed"] == "true"
    person.refresh_from_db()
    assert str(person) == before  # not erased


# --- background jobs killed mid-run -----------------------------------------------------------


@pytest.mark.django_db
def test_idempotency_import_killed_mid_run_creates_each_row_exactly_once(personas, monkeypatch):
    alice = personas.alice
    rows = [["First name", "Last name", "Email"]] + [
        [f"Kill{n}", "Restart", f"kill{n}@example.com"] for n in range(1, 11)
    ]
    job = importing.import_upload(
        actor=alice, entity="person", upload=SimpleUploadedFile("k.csv", csv_bytes(rows))
    )
    job = importing.import_start(actor=alice, job=job, enqueue=False)
    monkeypatch.setattr(import_runner, "BATCH_SIZE", 3)
    real_insert = import_runner._insert_rows
    calls = []

    def dies_on_third_batch(job_id, outcomes):
        calls.append(len(outcomes))
        if len(calls) == 3:  # the batch's people exist, its report lines do not yet
            raise Killed
        real_insert(job_id, outcomes)

    monkeypatch.setattr(import_runner, "_insert_rows", dies_on_third_batch)
    with pytest.raises(Killed):
        importing.import_run(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING  # as a dead worker leaves it
    assert job.rows.count() == 6
    assert Person.objects.filter(last_name="Restart").count() == 6  # batch 3 rolled back

    job = importing.import_run(job.pk)  # the worker's retry
    assert job.status == ImportJob.Status.DONE
    assert_counts_add_up(job, 10)
    assert job.created_count == 10
    assert sorted(job.rows.values_list("number", flat=True)) == list(range(1, 11))
    people = Person.objects.filter(last_name="Restart")
    assert people.count() == 10 == people.values("first_name").distinct().count()
    emails = EmailAddress.objects.filter(address__startswith="kill")
    assert emails.count() == 10
    created = AuditEvent.objects.filter(object_type="person", action=AuditEvent.Action.CREATE)
    assert created.filter(object_id__in=people.values("pk")).count() == 10
    assert importing.import_run(job.pk).created_count == 10  # a third run does nothing


@pytest.mark.django_db
def test_idempotency_duplicate_scan_killed_mid_write_then_rerun_clusters_once(
    personas, monkeypatch
):
    alice = personas.alice
    for n in range(4):  # four pairs sharing an email address
        for _ in range(2):
            PersonFactory(
                actor=alice,
                first_name=f"Twin{n}",
                last_name="Scan",
                emails=[{"address": f"twin{n}@example.com"}],
            )
    dedup_scan.scan_duplicates.call("person")  # an earlier, finished scan
    expected = sorted(DuplicatePair.objects.values_list("left_id", "right_id"))
    assert len(expected) == 4

    scan = DuplicateScan.objects.create(entity="person")
    monkeypatch.setattr(dedup_scan, "WRITE_BATCH", 1)
    real_bulk_create = type(DuplicatePair.objects).bulk_create
    writes = []

    def dies_on_third_pair_batch(manager, objs, *args, **kwargs):
        objs = list(objs)
        if objs and isinstance(objs[0], DuplicatePair):
            writes.append(len(objs))
            if len(writes) == 3:
                raise Killed
        return real_bulk_create(manager, objs, *args, **kwargs)

    monkeypatch.setattr(type(DuplicatePair.objects), "bulk_create", dies_on_third_pair_batch)
    with pytest.raises(Killed):
        dedup_scan.scan_duplicates.call("person", scan.pk)
    # The replacement is one transaction: the earlier scan's clusters are still whole.
    assert sorted(DuplicatePair.objects.values_list("left_id", "right_id")) == expected
    scan.refresh_from_db()
    assert scan.status == DuplicateScan.Status.RUNNING

    monkeypatch.undo()
    dedup_scan.scan_duplicates.call("person", scan.pk)  # the worker's retry
    scan.refresh_from_db()
    assert scan.status == DuplicateScan.Status.DONE and scan.pairs == 4 and scan.clusters == 4
    assert sorted(DuplicatePair.objects.values_list("left_id", "right_id")) == expected
    assert DuplicateCluster.objects.filter(entity="person").count() == 4
    assert set(DuplicateCluster.objects.values_list("scan_id", flat=True)) == {scan.pk}
    assert dedup_scan.scan_duplicates.call("person", scan.pk) == {"skipped": True}
