"""SQLite: an entry table plus an FTS5 trigram table whose rowid is the entry's id.

The FTS table keeps its own copy of the folded body (not external content), so a
stale or missing row can never corrupt the index: deleting by rowid is always safe.
SQLite 3.40 has neither `contentless_delete` nor trigram `remove_diacritics`, hence
the body is folded and transliterated before it is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapport.core.searchbackends.base import (
    ENTRY_COLUMNS,
    ENTRY_CONFLICT,
    ENTRY_MARKS,
    ENTRY_TABLE,
    Row,
    Scoped,
    SearchBackend,
    SearchQuery,
    chunks,
)

FTS_TABLE = "core_search_fts"

TITLE_COLUMNS = "(title_key, id, entity, team_id, owner_id)"
SORT_COLUMNS = "(sort_key, title_key, id, entity, team_id, owner_id)"
SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS {ENTRY_TABLE} (
        id INTEGER PRIMARY KEY,
        entity varchar(50) NOT NULL,
        object_id bigint NOT NULL,
        title text NOT NULL,
        subtitle text NOT NULL,
        title_key text NOT NULL COLLATE NOCASE,
        sort_key text NOT NULL COLLATE NOCASE,
        body text NOT NULL,
        team_id bigint NULL,
        owner_id bigint NULL
    )""",
    f"CREATE UNIQUE INDEX IF NOT EXISTS core_search_entry_object "
    f"ON {ENTRY_TABLE} (entity, object_id)",
    # in (title_key, id) order, with what the scope test reads: a walk leaves out the
    # entries the user may not view from the index alone (decisions 0032, 0040)
    f"CREATE INDEX IF NOT EXISTS core_search_entry_title_key ON {ENTRY_TABLE} {TITLE_COLUMNS}",
    # the title key too, so the entries whose sort key starts with the query come out
    # sorted by title from the index alone (search's "sort" part; decision 0032)
    f"CREATE INDEX IF NOT EXISTS core_search_entry_sort_title ON {ENTRY_TABLE} {SORT_COLUMNS}",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(body, tokenize='trigram')",
]
DROP = [f"DROP TABLE IF EXISTS {FTS_TABLE}", f"DROP TABLE IF EXISTS {ENTRY_TABLE}"]


def fts_phrase(term: str) -> str:
    """One FTS5 string token: trigram matches it as a substring anywhere."""
    return '"' + term.replace('"', '""') + '"'


class SqliteBackend(SearchBackend):
    vendor = "sqlite"

    def schema_statements(self) -> list[str]:
        return list(SCHEMA)

    def drop_statements(self) -> list[str]:
        return list(DROP)

    def table_names(self) -> list[str]:
        return [ENTRY_TABLE, FTS_TABLE]

    def engine_problem(self) -> str | None:
        with self.connection.cursor() as cursor:
            try:
                cursor.execute(
                    "CREATE VIRTUAL TABLE temp.rapport_fts_probe USING fts5(x, tokenize='trigram')"
                )
                cursor.execute("DROP TABLE temp.rapport_fts_probe")
            except Exception as exc:  # noqa: BLE001 - any failure means the same thing
                return str(exc)
        return None

    def consistency_problem(self) -> str | None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {ENTRY_TABLE}")  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            entries = cursor.fetchone()[0]
            cursor.execute(f"SELECT COUNT(*) FROM {FTS_TABLE}")  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            fts = cursor.fetchone()[0]
        if entries != fts:
            return f"{entries} entries but {fts} full-text rows"
        return None

    # --- writes ----------------------------------------------------------------------
    def upsert(self, rows: Sequence[Row]) -> None:
        by_entity: dict[str, list[Row]] = {}
        for row in rows:
            by_entity.setdefault(row.entity, []).append(row)
        with self.connection.cursor() as cursor:
            for entity, items in by_entity.items():
                for chunk in chunks(items):
                    ids = [row.object_id for row in chunk]
                    self._delete_fts(cursor, entity, ids)
                    cursor.executemany(
                        f"INSERT INTO {ENTRY_TABLE} "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
                        f"({ENTRY_COLUMNS}) VALUES ({ENTRY_MARKS}) {ENTRY_CONFLICT}",
                        [row.values() for row in chunk],
                    )
                    marks = ", ".join(["%s"] * len(ids))
                    cursor.execute(
                        f"INSERT INTO {FTS_TABLE} (rowid, body) SELECT id, body "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
                        f"FROM {ENTRY_TABLE} WHERE entity = %s AND object_id IN ({marks})",
                        [entity, *ids],
                    )

    def _delete_fts(self, cursor, entity: str, ids: Sequence[int]) -> None:
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"DELETE FROM {FTS_TABLE} WHERE rowid IN (SELECT id FROM {ENTRY_TABLE} "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            f"WHERE entity = %s AND object_id IN ({marks}))",
            [entity, *ids],
        )

    def delete(self, entity: str, ids: Sequence[int]) -> None:
        with self.connection.cursor() as cursor:
            for chunk in chunks(list(ids)):
                self._delete_fts(cursor, entity, chunk)
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"DELETE FROM {ENTRY_TABLE} WHERE entity = %s "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
                    f"AND object_id IN ({marks})",
                    [entity, *chunk],
                )

    def compact(self) -> None:
        # FTS5 keeps the trigrams of deleted rows in older index segments until they are
        # merged; "optimize" merges everything into one segment without them.
        with self.connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('optimize')")  # noqa: S608  # nosec B608 # identifiers from code, values as parameters

    def delete_all(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE}")  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            cursor.execute(f"DELETE FROM {ENTRY_TABLE}")  # noqa: S608  # nosec B608 # identifiers from code, values as parameters

    # --- reads -----------------------------------------------------------------------
    def source(self, query: SearchQuery, alias: str = "e") -> tuple[str, str, list]:
        if not query.terms:
            where, params = self.prefix_condition(query, alias)
            return f"{ENTRY_TABLE} {alias}", where, params
        # CROSS JOIN pins the join order: SQLite walks the FTS matches and looks each
        # entry up by its primary key, never the entry table.
        source = f"{FTS_TABLE} f CROSS JOIN {ENTRY_TABLE} {alias} ON {alias}.id = f.rowid"
        expression = " ".join(fts_phrase(term) for term in query.terms)
        extra, extra_params = self.short_conditions(query, alias)
        where = " AND ".join([f"f.{FTS_TABLE} MATCH %s", *extra])
        return source, where, [expression, *extra_params]

    # --- tiers -------------------------------------------------------------------------
    # No LIKE with a bound pattern below: SQLite re-prepares such a statement whenever
    # the pattern's binding changes (it may turn LIKE into an index range), and the
    # tiered statement takes longer to prepare than to run. Ranges and instr() say the
    # same of folded keys and bodies and keep the prepared statement cached.
    walk_hint = "INDEXED BY core_search_entry_title_key"

    def title_prefix(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        return self.key_range("title_key", query, alias)

    def sort_prefix(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        return self.key_range("sort_key", query, alias)

    def word(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        return f"instr(' ' || {alias}.body, %s) > 0", [" " + query.lead]

    def short_conditions(self, query: SearchQuery, alias: str) -> tuple[list[str], list]:
        return (
            [f"instr(' ' || {alias}.body, %s) > 0" for _ in query.short],
            [" " + term for term in query.short],
        )

    def prefix_condition(self, query: SearchQuery, alias: str) -> tuple[str, list]:
        return self.starts(query, alias)

    def row_match(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        if not query.terms:
            return self.prefix_condition(query, alias)
        # the body is folded lower-case ASCII, so a trigram phrase match is a substring
        parts = [f"instr({alias}.body, %s) > 0" for _ in query.terms]
        extra, extra_params = self.short_conditions(query, alias)
        return " AND ".join(parts + extra), [*query.terms, *extra_params]

    def candidates(
        self, query: SearchQuery, kind: str, alias: str = "e"
    ) -> tuple[str, list] | None:
        ids = self._ids(query, kind)
        if ids is None:
            return None
        return f"{alias}.id IN ({ids[0]})", ids[1]

    def counted(self, query: SearchQuery, kind: str) -> tuple[str, list]:
        ids = self._ids(query, kind)
        if ids is None:
            raise ValueError(kind)
        return ids

    def sorted_part(
        self, query: SearchQuery, kind: str, ids: str | None = None, scope: Scoped = None
    ) -> tuple[str, list] | None:
        # LIMIT -1 (none): a subquery with a LIMIT is neither flattened into the query
        # around it nor stripped of its ORDER BY, so its rows arrive in that order
        if kind in ("any", "word") and ids is not None:
            # from the list (CROSS JOIN: the list drives), not "id IN (list)", which
            # SQLite answers slower once it has to sort
            kept, kept_params = scope("k") if scope else ("1", [])
            sql = (
                f"SELECT k.id, k.title_key FROM {ids} l CROSS JOIN {ENTRY_TABLE} k "  # noqa: S608  # nosec B608 # identifiers from code
                f"ON k.id = l.id WHERE {kept} ORDER BY k.title_key, k.id LIMIT -1"
            )
            return sql, kept_params
        if kind != "sort":
            return None
        sort, sort_params = self.sort_prefix(query, "s")
        title, title_params = self.title_prefix(query, "s")
        # the scope from the index too: out-of-scope candidates are neither sorted nor read
        kept, kept_params = scope("s") if scope else ("1", [])
        sql = (
            f"SELECT s.id, s.title_key FROM {ENTRY_TABLE} s INDEXED BY core_search_entry_sort_title "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            f"WHERE {sort} AND NOT {title} AND {kept} ORDER BY s.title_key, s.id LIMIT -1"
        )
        return sql, [*sort_params, *title_params, *kept_params]

    # measured at 1M people: ~2-5 us a row walked, ~3 us a match listed (decision 0047)
    walk_cost = 1.5
    # the FTS index yields its matches one by one, so a capped count stops at the cap
    counts_from_index = True

    def match_count(self, query: SearchQuery, cap: int, *, entries: int) -> int | None:
        """From the FTS index alone, up to `cap` rowids (~0.1 us each). Not with short
        terms: the index cannot rule out the entries they do."""
        if not query.terms or query.short:
            return None
        sql, params = self._ids(query, "any")
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({sql} LIMIT {int(cap)})", params)  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            return cursor.fetchone()[0]

    def _ids(self, query: SearchQuery, kind: str) -> tuple[str, list] | None:
        if kind == "sort":
            sort, params = self.sort_prefix(query, "s")
            return f"SELECT s.id FROM {ENTRY_TABLE} s WHERE {sort}", params  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
        if not query.terms:
            return None  # only short terms: every match has rank 0
        phrases = [fts_phrase(term) for term in query.terms]
        sql = f"SELECT rowid AS id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
        if kind != "word":
            return sql, [" AND ".join(phrases)]
        if query.folded != query.lead:
            # a word starts with the lead term: after a space, or at the very start
            phrases[0] = f"({fts_phrase(' ' + query.lead)} OR ^{phrases[0]})"
            return sql, [" AND ".join(phrases)]
        # The query is the lead term alone. A word starts with it after a space: from
        # the index. At the very start of the body, only where the title folds to
        # nothing: the body begins with the title key's first word, so elsewhere the
        # term then starts the title key, and the entry ranks 0, not here. FTS5 read
        # every position of "ova" to answer ^"ova" (10 ms at 1M entries, against 2 for
        # " ova"; decision 0043). The two parts never hold the same entry. Named index:
        # on a small table whose statistics say most titles are empty the planner
        # would otherwise scan it.
        untitled = (
            f"SELECT s.id FROM {ENTRY_TABLE} s {self.walk_hint} WHERE s.title_key = '' "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            "AND instr(s.body, %s) = 1 AND instr(s.body, %s) = 0"
        )
        return (
            f"{sql} UNION ALL {untitled}",
            [fts_phrase(" " + query.lead), query.lead, " " + query.lead],
        )
