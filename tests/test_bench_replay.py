"""The write floors' copies (bench.replay): every row a person create wrote, written again
under fresh ids by hand, one committed transaction per person, then removed."""

from __future__ import annotations

import pytest
from django.db import connection

from bench import replay
from rapport.contacts import services
from rapport.contacts.models import EmailAddress, Person
from rapport.core.models import AuditEvent
from rapport.core.searchbackends.base import ENTRY_TABLE

pytestmark = pytest.mark.django_db(transaction=True)

TABLES = {
    "person": Person._meta.db_table,
    "email": EmailAddress._meta.db_table,
    "audit": AuditEvent._meta.db_table,
    "search": ENTRY_TABLE,
}


def _fetch(sql: str, params: list) -> tuple[list[str], list[tuple]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [c[0] for c in cursor.description], cursor.fetchall()


def _count(table: str) -> int:
    return _fetch(f"SELECT count(*) FROM {table}", [])[1][0][0]  # noqa: S608


def _create(alice, n: int) -> list[int]:
    return [
        services.person_create(
            actor=alice,
            data={
                "first_name": f"Olena{i}",
                "last_name": "Kovalenko",
                "emails": [{"address": f"o{i}@example.com"}, {"address": f"k{i}@example.org"}],
                "phones": [{"number": f"+38067123450{i}"}],
                "tags": ["vip", "lead"],
            },
        ).pk
        for i in range(n)
    ]


def test_each_person_is_copied_whole_in_its_own_transaction_then_removed(alice):
    ids = _create(alice, 3)
    before = {key: _count(table) for key, table in TABLES.items()}
    connection.ensure_connection()
    copies = replay.read(_fetch, ids)
    stored = {copy.key: len(copy.rows) for copy in copies}
    assert stored == {"person": 3, "email": 6, "phone": 3, "tag": 6, "audit": 3, "search": 3}

    seconds = replay.one_by_one(connection.connection, copies, connection.vendor)

    assert len(seconds) == 3 and all(s > 0 for s in seconds)
    after = {key: _count(table) for key, table in TABLES.items()}
    assert after == {key: before[key] + stored[key] for key in TABLES}
    shift = copies[0].shift
    copied = Person.all_objects.filter(pk__in=[pk + shift for pk in ids]).order_by("pk")
    assert [p.first_name for p in copied] == ["Olena0", "Olena1", "Olena2"]
    # children, audit rows and entries point at the copies, not the originals
    assert sorted(
        EmailAddress.objects.filter(person__in=copied).values_list("address", flat=True)
    ) == sorted(f"{p}{i}@example.{d}" for i in range(3) for p, d in (("o", "com"), ("k", "org")))
    assert list(copied[0].tags.order_by("name").values_list("name", flat=True)) == ["lead", "vip"]
    assert AuditEvent.objects.filter(object_type="person", object_id=ids[0] + shift).count() == 1
    entries = _fetch(
        f"SELECT object_id FROM {ENTRY_TABLE} WHERE entity = %s AND object_id >= %s",  # noqa: S608
        ["person", shift],
    )[1]
    assert sorted(row[0] for row in entries) == [pk + shift for pk in ids]
    if connection.vendor == "sqlite":  # the copies' FTS rows: a substring finds both
        found = _fetch(
            "SELECT count(*) FROM core_search_fts WHERE core_search_fts MATCH %s", ['"olena1"']
        )[1][0][0]
        assert found == 2

    replay.remove(connection.connection, copies, connection.vendor)

    assert {key: _count(table) for key, table in TABLES.items()} == before
    assert Person.objects.filter(pk__in=ids).count() == 3  # the originals stay


def test_statements_insert_every_column_with_the_drivers_marks(alice):
    ids = _create(alice, 1)
    copies = replay.read(_fetch, ids)
    plan = replay.statements(copies, connection.vendor)
    mark = "?" if connection.vendor == "sqlite" else "%s"
    person_sql, rows, owners = plan[0]
    assert person_sql.startswith(f"INSERT INTO {Person._meta.db_table} (")
    assert person_sql.count(mark) == len(copies[0].columns) and owners == ids
    assert rows[0][copies[0].columns.index("id")] == ids[0] + copies[0].shift
    fts = [sql for sql, _rows, _owners in plan if "core_search_fts" in sql]
    assert len(fts) == (1 if connection.vendor == "sqlite" else 0)


def test_all_at_once_commits_every_copy_then_remove_leaves_the_tables_as_before(alice):
    ids = _create(alice, 4)
    before = {key: _count(table) for key, table in TABLES.items()}
    connection.ensure_connection()
    copies = replay.read(_fetch, ids[1:])  # a run inside the new people: only its rows
    assert {copy.key: len(copy.rows) for copy in copies}["email"] == 6

    seconds = replay.all_at_once(connection.connection, copies, connection.vendor)

    assert seconds > 0
    raw = connection.connection  # committed: no transaction is left open
    if connection.vendor == "sqlite":
        assert not raw.in_transaction
    else:
        from psycopg.pq import TransactionStatus

        assert raw.info.transaction_status == TransactionStatus.IDLE
    assert {key: _count(table) for key, table in TABLES.items()} == {
        "person": before["person"] + 3,
        "email": before["email"] + 6,
        "audit": before["audit"] + 3,
        "search": before["search"] + 3,
    }
    replay.remove(connection.connection, copies, connection.vendor)
    assert {key: _count(table) for key, table in TABLES.items()} == before
