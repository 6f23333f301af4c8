"""Concurrency: N threads racing on the same state, on SQLite (a file database in WAL,
IMMEDIATE transactions) and PostgreSQL (row locks) alike.

Every race is a row of one table — (what is contested, one writer's attempt, the
invariant afterwards) — so a module plugs its own in: the sales module adds "no two
documents get the same number" (N threads issuing invoices) and "stock never goes
negative" (N threads reserving the last units) as two more `Race`s, and every engine
runs them. The rows here: lost updates through each entity's service and through the
API (exactly one of N writers holding the same version wins, the others get
ConflictError / 412, and the record is that one writer's whole change), one import job
run by several workers at once (no row created twice), and merges of the same pair
(one wins, no related row lost).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connections

from rapport.contacts.models import EmailAddress, Person
from rapport.core.api.crud import specs
from rapport.core.api.testing import ApiClient, clear_throttle
from rapport.core.exceptions import ConflictError
from rapport.dataio import importing
from rapport.dataio.models import ImportJob, ImportRow, Merge
from rapport.dataio.tests.importhelpers import csv_bytes
from rapport.testing.factories import PersonFactory

from .conftest import entities, make_record, sample_data

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 16


@pytest.fixture(autouse=True)
def builtin_roles(transactional_db):
    """A transactional test starts from a flushed database: the roles the data migration
    loaded are gone, and the personas need them. The search tables, which a flush does
    not know about, are emptied afterwards."""
    from rapport.accounts.models import Role
    from rapport.accounts.roles import ensure_builtin_roles
    from rapport.core import search

    ensure_builtin_roles(Role)
    yield
    search.backend().delete_all()


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


def race(attempt: Callable[[int], Any], writers: int = WRITERS) -> list[Outcome]:
    """Run `attempt(i)` in `writers` threads released together by a barrier; each thread
    has its own database connection (closed when it ends)."""
    barrier = threading.Barrier(writers)
    outcomes = [Outcome() for _ in range(writers)]

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            outcomes[i].value = attempt(i)
        except BaseException as exc:  # noqa: BLE001 - the invariant judges every outcome
            outcomes[i].error = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a writer never finished"
    return outcomes


@dataclass(frozen=True)
class Race:
    """N writers contesting one piece of state. `prepare(personas)` builds it and returns
    a context; `attempt(ctx, i)` is writer i (in its own thread); `invariant(ctx,
    outcomes)` asserts what must hold once all have finished."""

    name: str
    prepare: Callable[[Any], Any]
    attempt: Callable[[Any, int], Any]
    invariant: Callable[[Any, list[Outcome]], None]
    writers: int = WRITERS


# --- lost updates, per registered entity ----------------------------------------------------


def _text_fields(entity) -> list[str]:
    """The plain text fields of the entity's create payload (first_name, name …)."""
    return [k for k, v in sample_data(entity).items() if isinstance(v, str) and v]


def _change(entity, i: int) -> dict[str, str]:
    """Writer i's whole change: every text field marked with its number."""
    return {name: f"W{i:02d} {name}"[:30] for name in _text_fields(entity)}


def _assert_one_writer_won(entity, obj, outcomes, ok, refused) -> None:
    winners = [i for i, outcome in enumerate(outcomes) if ok(outcome)]
    losers = [i for i, outcome in enumerate(outcomes) if refused(outcome)]
    assert len(winners) == 1, [repr(o.error or o.value) for o in outcomes]
    assert len(losers) == len(outcomes) - 1, [repr(o.error or o.value) for o in outcomes]
    fresh = type(obj).all_objects.get(pk=obj.pk)
    assert fresh.version == obj.version + 1
    expected = _change(entity, winners[0])
    assert {name: getattr(fresh, name) for name in expected} == expected


def _entity_prepare(entity):
    def prepare(personas):
        return make_record(entity, owner=personas.alice, actor=personas.alice)

    return prepare


def service_race(entity) -> Race:
    def attempt(obj, i):
        from rapport.accounts.models import User

        actor = User.objects.get(pk=obj.owner_id)
        return entity.update(actor=actor, obj=obj, data=_change(entity, i), expected_version=1)

    def invariant(obj, outcomes):
        _assert_one_writer_won(
            entity,
            obj,
            outcomes,
            ok=lambda o: o.error is None,
            refused=lambda o: isinstance(o.error, ConflictError),
        )

    return Race(f"service-update-{entity.key}", _entity_prepare(entity), attempt, invariant)


def api_race(entity) -> Race:
    clients: dict[int, ApiClient] = {}

    def prepare(personas):
        obj = make_record(entity, owner=personas.alice, actor=personas.alice)
        clear_throttle()
        clients.clear()
        clients.update({i: ApiClient(personas.alice) for i in range(WRITERS)})
        return obj

    def attempt(obj, i):
        path = f"/{entity.url_base}/{obj.pk}"
        return clients[i].patch(path, _change(entity, i), HTTP_IF_MATCH='"1"')

    def invariant(obj, outcomes):
        _assert_one_writer_won(
            entity,
            obj,
            outcomes,
            ok=lambda o: o.value is not None and o.value.status_code == 200,
            refused=lambda o: o.value is not None and o.value.status_code == 412,
        )

    return Race(f"api-patch-{entity.key}", prepare, attempt, invariant)


# --- an import job run by several workers at once ------------------------------------------

IMPORT_ROWS = 1_200  # three batches of 500


def _import_prepare(personas):
    rows = [["First name", "Last name", "Email"]] + [
        [f"Racer{n}", "Import", f"racer{n}@example.com"] for n in range(1, IMPORT_ROWS + 1)
    ]
    alice = personas.alice
    job = importing.import_upload(
        actor=alice, entity="person", upload=SimpleUploadedFile("race.csv", csv_bytes(rows))
    )
    return importing.import_start(actor=alice, job=job, enqueue=False)


def _import_attempt(job, i):
    return importing.import_run(job.pk)


def _import_invariant(job, outcomes):
    for outcome in outcomes:  # a runner that lost the race to a batch is refused by the
        # unique (job, number) constraint and its batch rolls back whole
        assert outcome.error is None or isinstance(outcome.error, IntegrityError), outcome.error
    job = ImportJob.objects.get(pk=job.pk)
    if job.status != ImportJob.Status.DONE:  # a runner that lost a race may leave it failed:
        job = importing.import_run(job.pk)  # the rerun resumes after the last row
    assert job.status == ImportJob.Status.DONE, job.error
    numbers = list(ImportRow.objects.filter(job=job).values_list("number", flat=True))
    assert sorted(numbers) == list(range(1, IMPORT_ROWS + 1))
    assert job.created_count == IMPORT_ROWS == job.processed_rows
    emails = EmailAddress.objects.filter(address__startswith="racer")
    assert emails.count() == IMPORT_ROWS == emails.values("address").distinct().count()
    assert Person.objects.filter(last_name="Import").count() == IMPORT_ROWS


# --- merges of the same pair ---------------------------------------------------------------


def _merge_prepare(personas):
    alice = personas.alice
    first = PersonFactory(actor=alice, first_name="Ann", last_name="Pair")
    second = PersonFactory(actor=alice, first_name="Ann", last_name="Pair")
    emails = set(
        EmailAddress.objects.filter(person__in=[first, second]).values_list("address", flat=True)
    )
    return {"alice": alice, "ids": (first.pk, second.pk), "emails": emails}


def _merge_attempt(ctx, i):
    from rapport.dataio.merging import record_merge

    left, right = (Person.all_objects.get(pk=pk) for pk in ctx["ids"])
    survivor, merged = (left, right) if i % 2 == 0 else (right, left)  # both directions
    return record_merge(actor=ctx["alice"], entity="person", survivor=survivor, merged=merged)


def _merge_invariant(ctx, outcomes):
    won = [o for o in outcomes if o.error is None]
    assert len(won) == 1, [repr(o.error) for o in outcomes]
    for outcome in outcomes:
        if outcome.error is not None:
            assert isinstance(outcome.error, ValidationError | ConflictError), outcome.error
    assert Merge.objects.filter(merged_id__in=ctx["ids"]).count() == 1
    merge = won[0].value
    survivor = Person.objects.get(pk=merge.survivor_id)
    assert Person.all_objects.get(pk=merge.merged_id).merged_into == survivor.pk
    addresses = set(EmailAddress.objects.filter(person=survivor).values_list("address", flat=True))
    assert addresses == ctx["emails"]  # every email row of both is on the survivor


def lost_update_races() -> list[Race]:
    import rapport.api_urls  # noqa: F401 - builds the API, so `specs` lists exposed entities

    table = [service_race(entity) for entity in entities()]
    return table + [api_race(entity) for entity in entities() if entity.key in specs]


# The sales module appends its rows here: document numbering and stock reservations.
RACES = [
    Race("import-run-twice", _import_prepare, _import_attempt, _import_invariant, writers=4),
    Race("merge-same-pair", _merge_prepare, _merge_attempt, _merge_invariant),
]


def run(contest: Race, personas) -> None:
    ctx = contest.prepare(personas)
    outcomes = race(lambda i: contest.attempt(ctx, i), contest.writers)
    contest.invariant(ctx, outcomes)


@pytest.mark.parametrize("contest", lost_update_races(), ids=lambda contest: contest.name)
def test_lost_update_refused_for_all_writers_but_one(contest, builtin_roles, personas):
    run(contest, personas)


@pytest.mark.parametrize("contest", RACES, ids=lambda contest: contest.name)
def test_race_keeps_its_invariant(contest, builtin_roles, personas):
    run(contest, personas)
