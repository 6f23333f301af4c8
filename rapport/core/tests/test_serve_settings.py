"""Server defaults and database settings that concurrent load depends on (issue 4, target 10)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts.models import Person
from rapport.core import keyset
from rapport.core.management.commands import serve
from rapport.settings.base import database_config
from rapport.testing.factories import PersonFactory


def test_sqlite_keeps_connections_and_runs_in_wal_with_a_busy_timeout(monkeypatch):
    monkeypatch.delenv("RAPPORT_SQLITE_CONN_MAX_AGE", raising=False)
    config = database_config("sqlite:////tmp/x.sqlite3")
    assert config["CONN_MAX_AGE"] >= 60  # one connection per server thread, reused
    assert config["CONN_HEALTH_CHECKS"] is False
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert "wal_autocheckpoint=4000" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["timeout"] >= 5
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_sqlite_connection_age_can_be_set_and_is_checked(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("RAPPORT_SQLITE_CONN_MAX_AGE", "0")
    assert database_config("sqlite:////tmp/x.sqlite3")["CONN_MAX_AGE"] == 0
    monkeypatch.setenv("RAPPORT_SQLITE_CONN_MAX_AGE", "soon")
    with pytest.raises(ImproperlyConfigured, match="RAPPORT_SQLITE_CONN_MAX_AGE"):
        database_config("sqlite:////tmp/x.sqlite3")


@pytest.mark.django_db
def test_sqlite_connections_checkpoint_every_4000_wal_pages():
    if connection.vendor != "sqlite":
        assert "init_command" not in connection.settings_dict["OPTIONS"]
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == 4000


def test_sqlite_reads_its_file_through_a_memory_map(monkeypatch, tmp_path):
    """Decision 0052: 2 GB by default (SQLite's usual cap), set in MB, 0 turns it off."""
    import sqlite3

    monkeypatch.delenv("RAPPORT_SQLITE_MMAP_MB", raising=False)
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    command = database_config(url)["OPTIONS"]["init_command"]
    assert "PRAGMA mmap_size=2147483648;" in command
    with sqlite3.connect(tmp_path / "x.sqlite3") as raw:
        raw.executescript(command)
        mapped = raw.execute("PRAGMA mmap_size").fetchone()[0]
    assert 2**30 < mapped <= 2**31  # what this build allows of the 2 GB asked
    monkeypatch.setenv("RAPPORT_SQLITE_MMAP_MB", "0")
    assert "PRAGMA mmap_size=0;" in database_config(url)["OPTIONS"]["init_command"]
    monkeypatch.setenv("RAPPORT_SQLITE_MMAP_MB", "64")
    assert "PRAGMA mmap_size=67108864;" in database_config(url)["OPTIONS"]["init_command"]


@pytest.mark.parametrize("value", ["-1", "a lot"])
def test_sqlite_memory_map_size_is_checked(monkeypatch, value):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("RAPPORT_SQLITE_MMAP_MB", value)
    with pytest.raises(ImproperlyConfigured, match="RAPPORT_SQLITE_MMAP_MB"):
        database_config("sqlite:////tmp/x.sqlite3")


def test_postgres_reuses_connections():
    config = database_config("postgres://u@127.0.0.1:5432/db")
    assert config["CONN_MAX_AGE"] > 0


@pytest.mark.django_db
def test_postgres_statements_are_never_jit_compiled():
    """A large cost estimate made PostgreSQL spend seconds compiling a 10 ms search."""
    assert "-c jit=off" in database_config("postgres://u@127.0.0.1/db")["OPTIONS"]["options"]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_postgres_binds_on_the_server_and_prepares_repeated_statements(monkeypatch):
    monkeypatch.delenv("RAPPORT_PG_PREPARE_THRESHOLD", raising=False)
    options = database_config("postgres://u@127.0.0.1/db")["OPTIONS"]
    assert options["server_side_binding"] is True and options["prepare_threshold"] == 2
    monkeypatch.setenv("RAPPORT_PG_PREPARE_THRESHOLD", "0")  # a pooler in transaction mode
    options = database_config("postgres://u@127.0.0.1/db")["OPTIONS"]
    assert "server_side_binding" not in options and "prepare_threshold" not in options
    assert "server_side_binding" not in database_config("sqlite:////tmp/x.sqlite3")["OPTIONS"]


@pytest.mark.django_db
def test_a_page_read_repeated_on_postgresql_is_prepared_once(alice):
    """On SQLite there is nothing to prepare: the same reads answer the same."""
    person = PersonFactory(actor=alice)
    seen = []
    for _ in range(4):
        seen.append(Person.objects.filter(pk=person.pk).values_list("pk", flat=True)[0])
    assert seen == [person.pk] * 4
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "contacts_person" WHERE %"contacts_person"."id" = $1%'],
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.parametrize(("cores", "workers"), [(1, 2), (2, 3), (4, 4), (16, 4)])
def test_default_workers_follow_the_cores(monkeypatch, cores, workers):
    monkeypatch.setattr(serve.os, "cpu_count", lambda: cores)
    assert serve.default_workers() == workers


def test_default_threads_overlap_database_waits():
    assert serve.default_threads() >= 2


def _order_sql(model, ordering_key: str, allowed: dict) -> str:
    ordering = keyset.parse_ordering(ordering_key, allowed, ordering_key)
    return str(model.objects.order_by(*ordering.order_by(model)).query)


def test_keyset_orders_not_null_columns_without_nulls_last():
    """A plain index serves "ORDER BY sort_key, id" on both engines; "NULLS LAST" on a
    column that cannot be NULL would force a sort of every visible row."""
    allowed = {"name": ["sort_key", "id"], "birthday": ["birthday", "id"]}
    by_name = _order_sql(Person, "-name", allowed)
    assert "NULLS LAST" not in by_name
    assert "NULLS FIRST" not in by_name
    by_birthday = _order_sql(Person, "birthday", allowed)
    assert by_birthday.count("NULLS LAST") == 1  # birthday may be NULL; id may not


def test_keyset_nullability_follows_relations():
    assert keyset.can_be_null(Person, "sort_key") is False
    assert keyset.can_be_null(Person, "id") is False
    assert keyset.can_be_null(Person, "birthday") is True
    assert keyset.can_be_null(Person, "company__sort_key") is True  # no company: NULL
    assert keyset.can_be_null(Person, "owner__username") is True
    assert keyset.can_be_null(Person, "no_such_field") is True


@pytest.mark.django_db
def test_keyset_pages_over_a_not_null_column_are_complete_and_ordered(alice):
    people = [
        PersonFactory(actor=alice, first_name=f"P{i}", last_name=name)
        for i, name in enumerate(["b", "a", "c", "a", "b", "d", "a"])
    ]
    ordering = keyset.parse_ordering("name", {"name": ["sort_key", "id"]}, "name")
    seen, cursor = [], None
    with CaptureQueriesContext(connection) as queries:
        while True:
            page = keyset.paginate(
                Person.objects.all(), ordering=ordering, filters={}, cursor=cursor, limit=3
            )
            seen += [p.pk for p in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    expected = [p.pk for p in sorted(people, key=lambda p: (p.sort_key, p.pk))]
    assert seen == expected
    assert not any('"sort_key" IS NULL' in q["sql"] for q in queries.captured_queries)
    assert not any("NULLS LAST" in q["sql"] for q in queries.captured_queries)


def test_keyset_gives_the_planner_an_index_range_on_the_leading_column():
    """`after_q` adds `lead >= value` (or <= descending) for a non-null leading column:
    redundant for the answer, it lets PostgreSQL start the index scan at the cursor."""
    from rapport.contacts.models import Person
    from rapport.core import keyset

    allowed = {"name": ["sort_key", "id"], "birthday": ["birthday", "id"]}
    ascending = keyset.parse_ordering("name", allowed, "name")
    sql = str(Person.objects.filter(keyset.after_q(ascending, ["kov", 7], Person)).query)
    assert '"contacts_person"."sort_key" >= kov' in sql
    descending = keyset.parse_ordering("-name", allowed, "name")
    sql = str(Person.objects.filter(keyset.after_q(descending, ["kov", 7], Person)).query)
    assert '"contacts_person"."sort_key" <= kov' in sql
    nullable = keyset.parse_ordering("birthday", allowed, "name")
    sql = str(Person.objects.filter(keyset.after_q(nullable, [None, 7], Person)).query)
    assert ">=" not in sql  # NULLs last: no range to start from
