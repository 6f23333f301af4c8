"""Migration core.0008 (decision 0051): on PostgreSQL the trigram index holds the
entry's copy of team and owner beside the body; SQLite's FTS5 index is left as it is."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.db import connection

from rapport.core import search
from rapport.core.checks import search_problems
from rapport.core.registry import registry
from rapport.core.searchbackends import SearchQuery, backend_for
from rapport.core.searchbackends.base import ENTRY_TABLE
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db
SQLITE = connection.vendor == "sqlite"
migration = import_module("rapport.core.migrations.0008_search_trigram_index_scope")


class _Editor:
    """What the migration's forwards() and backwards() use of a schema editor."""

    connection = connection

    def execute(self, sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _indexes() -> dict[str, str]:
    """The entry table's indexes: name -> definition."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s",
                [ENTRY_TABLE],
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [ENTRY_TABLE]
            )
        return {name: definition or "" for name, definition in cursor.fetchall()}


def _found(user, text: str) -> list[int]:
    return [hit.id for hit in search.search(user, text)]


def test_the_upgrade_puts_the_scope_into_the_trigram_index(alice, carol, commit):
    mine = commit(PersonFactory, actor=alice, first_name="Wiktor", last_name="Zielonka")
    commit(PersonFactory, actor=carol, first_name="Wanda", last_name="Zielonka")
    before = _indexes()
    if connection.vendor == "sqlite":
        migration.forwards(None, _Editor())
        assert _indexes() == before  # nothing on SQLite: FTS5 keeps no scope
    else:
        migration.backwards(None, _Editor())
        trigram = {name for name, sql in _indexes().items() if "gin_trgm_ops" in sql}
        assert trigram == {"core_search_entry_trgm"}
        assert _found(alice, "zielonk") == [mine.pk]  # the old index answers the same
        migration.forwards(None, _Editor())
        trigram = {name: sql for name, sql in _indexes().items() if "gin_trgm_ops" in sql}
        assert list(trigram) == ["core_search_entry_trgm_scope"]
        assert "(team_id, owner_id, body gin_trgm_ops)" in trigram["core_search_entry_trgm_scope"]
        assert set(_indexes()) == set(before)
    assert _found(alice, "zielonk") == [mine.pk]
    assert search_problems() == []


def test_search_lists_only_the_matches_in_the_users_copied_scope(alice, carol, admin, commit):
    """Search's listing of a substring's matches (`m_any`) keeps to what the scope asks
    of every entity's copy, as one condition the trigram index reads on PostgreSQL; the
    answer is the same, for a rep and for everyone."""
    mine = {
        commit(PersonFactory, actor=alice, first_name="Wiktor", last_name=f"Zielonka{n}").pk
        for n in range(3)
    }
    theirs = {
        commit(PersonFactory, actor=carol, first_name="Wanda", last_name=f"Zielonka{n}").pk
        for n in range(2)
    }
    engine = backend_for(connection)
    assert search.Scope.of(admin, list(registry), connection).any_copy("e") is None
    scope = search.Scope.of(alice, list(registry), connection)
    copy, copy_params = scope.any_copy("e")
    assert "entity" not in copy and "team_id" in copy and copy_params
    query = SearchQuery.parse("ielonk")
    statement = search.search_sql(engine, query, scope, 12)[0]
    assert (f"AND {copy}" in statement) is not SQLITE  # the listing asks it
    sql, params = engine.listed(query, "any", (copy, copy_params))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        listed = {row[0] for row in cursor.fetchall()}
        cursor.execute(f"SELECT id, object_id FROM {ENTRY_TABLE} WHERE entity = 'person'")  # noqa: S608
        entry_of = {object_id: pk for pk, object_id in cursor.fetchall()}
    expected = {entry_of[pk] for pk in mine}
    # SQLite's FTS5 index holds no scope: it lists every match, the scope is tested later
    assert listed == (expected | {entry_of[pk] for pk in theirs} if SQLITE else expected)
    assert {hit.id for hit in search.search(alice, "ielonk")} == mine
    assert {hit.id for hit in search.search(admin, "ielonk")} == mine | theirs


def test_the_check_names_each_extension_the_index_needs(monkeypatch):
    """`rapport check` reports a missing extension by name: not on the server at all, or
    on the server but not installed in this database. SQLite needs FTS5's trigrams."""
    engine = backend_for(connection)
    assert engine.engine_problem() is None
    if SQLITE:
        return
    from rapport.core.searchbackends import postgres

    monkeypatch.setattr(postgres, "EXTENSIONS", ("pg_trgm", "btree_gin", "no_such_ext"))
    assert engine.engine_problem() == "the no_such_ext extension is not available on the server"
    (error,) = search_problems()
    assert error.id == "rapport.E006" and "no_such_ext" in error.msg
    assert "pg_trgm" in error.hint and "btree_gin" in error.hint
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_available_extensions WHERE installed_version IS NULL")
        available = sorted(row[0] for row in cursor.fetchall())
    monkeypatch.setattr(postgres, "EXTENSIONS", ("pg_trgm", available[0]))
    assert (
        engine.engine_problem() == f"the {available[0]} extension is not installed in this database"
    )
