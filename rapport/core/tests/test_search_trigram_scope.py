"""Migration core.0008 (decision 0051): on PostgreSQL the trigram index holds the
entry's copy of team and owner beside the body; SQLite's FTS5 index is left as it is."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.db import connection

from rapport.core import search
from rapport.core.checks import search_problems
from rapport.core.searchbackends.base import ENTRY_TABLE
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db
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
