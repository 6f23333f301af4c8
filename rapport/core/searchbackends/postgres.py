"""PostgreSQL: one entry table, a pg_trgm GIN index for substrings and a full-text GIN
index for word prefixes (what a one- or two-letter term can use).

The prefix keys are `COLLATE "C"` so `LIKE 'abc%'` uses a plain b-tree whatever the
database's collation is.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence

from psycopg.types.numeric import Int8

from rapport.core.searchbackends.base import (
    ENTRY_COLUMNS,
    ENTRY_CONFLICT,
    ENTRY_MARKS,
    ENTRY_TABLE,
    WORD,
    Row,
    Scoped,
    SearchBackend,
    SearchQuery,
    chunks,
)

SORT_COLUMNS = "(sort_key) INCLUDE (title_key, id, entity, team_id, owner_id)"
# in (title_key, id) order, with what the scope test reads: the title part takes the
# entries in scope from the index alone and reads only those (decision 0044)
TITLE_COLUMNS = "(title_key, id) INCLUDE (entity, team_id, owner_id)"
TRIGRAM_INDEX = "core_search_entry_trgm_scope"
TRIGRAM_COLUMNS = "(team_id, owner_id, body gin_trgm_ops)"
EXTENSIONS = ("pg_trgm", "btree_gin")
SCHEMA = [
    *(f"CREATE EXTENSION IF NOT EXISTS {name}" for name in EXTENSIONS),
    f"""CREATE TABLE IF NOT EXISTS {ENTRY_TABLE} (
        id bigserial PRIMARY KEY,
        entity varchar(50) NOT NULL,
        object_id bigint NOT NULL,
        title text NOT NULL,
        subtitle text NOT NULL,
        title_key text COLLATE "C" NOT NULL,
        sort_key text COLLATE "C" NOT NULL,
        body text NOT NULL,
        team_id bigint NULL,
        owner_id bigint NULL
    )""",
    f"CREATE UNIQUE INDEX IF NOT EXISTS core_search_entry_object "
    f"ON {ENTRY_TABLE} (entity, object_id)",
    f"CREATE INDEX IF NOT EXISTS core_search_entry_title_key ON {ENTRY_TABLE} {TITLE_COLUMNS}",
    # with what ordering and the scope test read: the sort part's candidates come out
    # of an index-only scan, in scope and sorted, before any entry is read (0040)
    f"CREATE INDEX IF NOT EXISTS core_search_entry_sort_key ON {ENTRY_TABLE} {SORT_COLUMNS}",
    # the trigram index holds the scope copy too (btree_gin): a listing of a term's
    # matches in a user's scope reads only the entries of that scope (decision 0051)
    f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON {ENTRY_TABLE} USING gin {TRIGRAM_COLUMNS}",
    f"CREATE INDEX IF NOT EXISTS core_search_entry_fts "
    f"ON {ENTRY_TABLE} USING gin (to_tsvector('simple'::regconfig, body))",
]
DROP = [f"DROP TABLE IF EXISTS {ENTRY_TABLE}"]


# Around the search statement, each one round trip (no parameters: the simple protocol
# takes both): a generic plan, and no parallel workers in it - a plan made without the
# values may find a part large enough to gather, and starting workers cost 5-8 ms of a
# statement that reads a few hundred rows.
PLAN_ONCE = "SET plan_cache_mode = force_generic_plan; SET max_parallel_workers_per_gather = 0"
PLAN_AS_BEFORE = "RESET plan_cache_mode; RESET max_parallel_workers_per_gather"


SAMPLE_PERCENT = 0.1  # of the entry table's pages that `dense` reads

# the list's text filter: statements planned for their own values (decision 0047)
PLAN_EACH = "SET plan_cache_mode = force_custom_plan"
PLAN_EACH_AS_BEFORE = "RESET plan_cache_mode"


@contextlib.contextmanager
def _session_settings(connection, settings: str, as_before: str):
    """`settings` for the statements run inside, `as_before` after - unless a statement
    failed inside a transaction and aborted it: the rollback that must follow undoes
    the SET too."""
    from psycopg.pq import TransactionStatus

    with connection.cursor() as cursor:
        cursor.execute(settings)
    try:
        yield
    finally:
        raw = connection.connection
        if raw is not None and raw.info.transaction_status != TransactionStatus.INERROR:
            with connection.cursor() as cursor:
                cursor.execute(as_before)


class PostgresBackend(SearchBackend):
    vendor = "postgresql"

    def schema_statements(self) -> list[str]:
        return list(SCHEMA)

    def drop_statements(self) -> list[str]:
        return list(DROP)

    def engine_problem(self) -> str | None:
        with self.connection.cursor() as cursor:
            for name in EXTENSIONS:
                cursor.execute("SELECT 1 FROM pg_extension WHERE extname = %s", [name])
                if cursor.fetchone() is not None:
                    continue
                cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", [name])
                if cursor.fetchone() is None:
                    return f"the {name} extension is not available on the server"
                return f"the {name} extension is not installed in this database"
        return None

    def scope_key(self, value: int) -> int:
        # as bigint, the copy's own type: psycopg sends a small int as smallint, and
        # btree_gin (PostgreSQL 15) compares bigint only with bigint, so the trigram
        # index could not read the scope ("nis" as a team: 19 -> 6 ms; decision 0051)
        return Int8(value)

    # --- writes ----------------------------------------------------------------------
    def upsert(self, rows: Sequence[Row]) -> None:
        with self.connection.cursor() as cursor:
            for chunk in chunks(list(rows)):
                cursor.executemany(
                    f"INSERT INTO {ENTRY_TABLE} "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
                    f"({ENTRY_COLUMNS}) VALUES ({ENTRY_MARKS}) {ENTRY_CONFLICT}",
                    [row.values() for row in chunk],
                )

    def delete(self, entity: str, ids: Sequence[int]) -> None:
        with self.connection.cursor() as cursor:
            for chunk in chunks(list(ids)):
                cursor.execute(
                    f"DELETE FROM {ENTRY_TABLE} WHERE entity = %s "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
                    "AND object_id = ANY(%s)",
                    [entity, list(chunk)],
                )

    def delete_all(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {ENTRY_TABLE}")  # noqa: S608

    # --- reads -----------------------------------------------------------------------
    def source(self, query: SearchQuery, alias: str = "e") -> tuple[str, str, list]:
        source = f"{ENTRY_TABLE} {alias}"
        if not query.terms:
            tsquery = " & ".join(f"{term}:*" for term in query.short)
            where = (
                f"to_tsvector('simple'::regconfig, {alias}.body) "
                "@@ to_tsquery('simple'::regconfig, %s)"
            )
            return source, where, [tsquery]
        parts = [f"{alias}.body LIKE %s" for _ in query.terms]
        params: list = ["%" + term + "%" for term in query.terms]
        extra, extra_params = self.short_conditions(query, alias)
        return source, " AND ".join(parts + extra), params + extra_params

    # --- running the statement --------------------------------------------------------
    @functools.cached_property
    def generic(self) -> bool:
        """Whether the search statement runs prepared, with one plan made without its
        values (this connection prepares statements; a pooler in transaction mode can
        turn that off: `RAPPORT_PG_PREPARE_THRESHOLD=0`)."""
        self.connection.ensure_connection()
        return getattr(self.connection.connection, "prepare_threshold", None) is not None

    def fetch(self, sql: str, params: Sequence) -> list[tuple]:
        """Planning the tiered statement for its values took longer than running it
        (3-5 ms against 1-3 at 1M entries): it is prepared at its first run and its
        generic plan kept, which holds because every decision the statement takes is
        taken in its LIMITs, at run time (decision 0032), and its prefixes are ranges
        (decision 0043)."""
        if not self.generic:
            return super().fetch(sql, params)
        raw = self.connection.connection
        with (
            _session_settings(self.connection, PLAN_ONCE, PLAN_AS_BEFORE),
            self.connection.cursor() as cursor,
        ):
            threshold, raw.prepare_threshold = raw.prepare_threshold, 0
            try:
                cursor.execute(sql, params)
                return cursor.fetchall()
            finally:
                raw.prepare_threshold = threshold

    @contextlib.contextmanager
    def values_planned(self):
        """Statements run inside planned for their own values, even once prepared. A
        text-filtered list's statement has the same text whatever the user typed, so
        after five runs on a connection PostgreSQL may keep one generic plan for it,
        made for a guessed share of matches: a rare term read from the trigram index
        took 58 ms under it, against 5 ms planned for the term (decision 0047).

        Nested, the outermost one sets and resets. Where nothing is prepared
        (`generic` is false: RAPPORT_PG_PREPARE_THRESHOLD=0, as behind a pooler in
        transaction mode, where a session setting would outlive the request) it sends
        nothing: every statement is planned for its values there anyway."""
        connection = self.connection
        if getattr(connection, "_planned_for_values", False) or not self.generic:
            yield
            return
        with _session_settings(connection, PLAN_EACH, PLAN_EACH_AS_BEFORE):
            connection._planned_for_values = True
            try:
                yield
            finally:
                connection._planned_for_values = False

    # --- tiers -------------------------------------------------------------------------
    # Prefixes as ranges of the "C"-collated keys where the plan is generic: a range
    # keeps its index bounds in a plan made without the values, a LIKE pattern only in
    # a plan made for its value (where a LIKE plans better than the range).
    def title_prefix(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        if not self.generic:
            return super().title_prefix(query, alias)
        return self.key_range("title_key", query, alias)

    def sort_prefix(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        if not self.generic:
            return super().sort_prefix(query, alias)
        return self.key_range("sort_key", query, alias)

    def _tsquery(self, query: SearchQuery, alias: str) -> tuple[str, list]:
        return self._tsquery_of(" & ".join(f"{term}:*" for term in query.short), alias)

    def _tsquery_of(self, tsquery: str, alias: str) -> tuple[str, list]:
        where = (
            f"to_tsvector('simple'::regconfig, {alias}.body) @@ to_tsquery('simple'::regconfig, %s)"
        )
        return where, [tsquery]

    def short_conditions(self, query: SearchQuery, alias: str) -> tuple[list[str], list]:
        """A word of the body starts with each short term: the body starts with it, or
        it follows a space (folded bodies hold [0-9a-z@.+ ], short terms [0-9a-z]), as
        two patterns the trigram index reads with the long terms' ("anna ko": the 686
        entries of both, where `' ' || body` made it read all 16,147 of "anna")."""
        return (
            [f"({alias}.body LIKE %s OR {alias}.body LIKE %s)" for _ in query.short],
            [pattern for term in query.short for pattern in ("% " + term + "%", term + "%")],
        )

    def row_match(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        if not query.terms:
            return self._tsquery(query, alias)
        # strpos, not LIKE: the trigram index cannot drive it (terms hold no wildcards)
        parts = [f"strpos({alias}.body, %s) > 0" for _ in query.terms]
        extra, extra_params = self.short_conditions(query, alias)
        return " AND ".join(parts + extra), [*query.terms, *extra_params]

    def candidates(
        self, query: SearchQuery, kind: str, alias: str = "e"
    ) -> tuple[str, list] | None:
        if kind == "sort":
            return self.sort_prefix(query, alias)
        if kind == "word" and query.terms and WORD.match(query.lead):
            # A word starts with the lead term: a prefix of a word-start lexeme. The
            # full-text index lists those from the lexicon (0.4 ms for "ova" at 1M
            # entries), where the trigram index decoded every entry holding the term's
            # trigrams twice over (8 ms). Folded bodies hold [0-9a-z@.+ ] only, and the
            # parser starts a lexeme at every space, so each entry a word of which
            # starts with an alphanumeric lead is among these; the part's own condition
            # keeps exactly those (decision 0043).
            return self._tsquery_of(f"{query.lead}:*", alias)
        _source, match, params = self.source(query, alias)
        if kind == "word":
            # a word starts with the lead term; the trigram index reads "% lead" as such
            match = f"({alias}.body LIKE %s OR {alias}.body LIKE %s) AND {match}"
            params = ["% " + query.lead + "%", query.lead + "%", *params]
        return match, params

    # the trigram index can only nominate: each listed match is rechecked in its row
    orders_from_index = False

    def dense(self, query: SearchQuery, bound: int) -> tuple[str, list] | None:
        """Whether the matches in a sample of the entries' pages, scaled up, reach the
        bound: the listing would most likely stop there, and be read for nothing.

        A GIN bitmap is built whole before its first row comes out, so listing the
        matches of a common substring decoded every one of them before the bound could
        stop it ("ova": 87,298 entries, 11 ms, then 4,000 rows rechecked, 10 ms, only
        to learn that they are many). The sample reads 0.1% of the pages, the same ones
        each time (REPEATABLE), about 0.3 ms at 1M entries, and estimated "ova" at
        79,000, "ens" at 10,000 (8,940), "din" at 4,000 (5,099). It only chooses the
        way - a wrong guess costs time, never a hit - and a tie goes to the walk: a
        listing that reaches the bound costs the listing and the walk. Only for
        substrings: a short term's full-text match would parse every sampled body."""
        if not query.terms:
            return None
        sampled, params = self._sampled(query)
        return f"SELECT count(*) >= %s AS dense {sampled}", [bound * SAMPLE_PERCENT / 100, *params]

    def _sampled(self, query: SearchQuery) -> tuple[str, list]:
        """FROM and WHERE of the matches among the same 0.1% of the entries' pages each
        time (REPEATABLE): what `dense` and `match_count` scale up."""
        match, params = self.row_match(query, "x")
        return (
            f"FROM {ENTRY_TABLE} x TABLESAMPLE SYSTEM ({float(SAMPLE_PERCENT)}) "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            f"REPEATABLE (7) WHERE {match}",
            params,
        )

    # measured at 1M people: 18-28 us a row walked, ~13 us a match listed (0047)
    walk_cost = 2.0
    # below this many entries the matches are counted; above, estimated from a sample
    COUNTED_BELOW = 50_000

    def match_count(self, query: SearchQuery, cap: int, *, entries: int) -> int | None:
        """Counted up to `cap` in a small index; in a large one, the matches in the
        sample `dense` reads (0.1% of the pages), scaled up: a GIN bitmap is built whole
        before its first row, so even a capped count of "ova" decodes 87,000 entries.
        Not for short terms alone (a full-text prefix match on every sampled body)."""
        if not query.terms:
            return None
        with self.connection.cursor() as cursor:
            if entries < self.COUNTED_BELOW:
                _source, match, params = self.source(query, "x")
                cursor.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM {ENTRY_TABLE} x WHERE {match} "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
                    f"LIMIT {int(cap)}) c",
                    params,
                )
                return cursor.fetchone()[0]
            sampled, params = self._sampled(query)
            cursor.execute(f"SELECT count(*) {sampled}", params)
            return min(cap, round(cursor.fetchone()[0] * 100 / SAMPLE_PERCENT))

    def listed_ids(
        self, query: SearchQuery, entity: str, bound: int, kept: tuple[str, list] = ("", [])
    ) -> list[int] | None:
        """PostgreSQL takes a substring's share of the entries for a guess made as if
        matches were spread evenly through every order. They are not: the 939 entries
        holding "rchi" sort late by name, so a page of them planned as a walk of the name
        index read all 300,000 rows of a team (1.7 s at 1M). Given the ids as a value, it
        knows how many there are, reads them by key and sorts them (decision 0047).
        With `kept` (the user's scope on the entry's copy) only the ids the list can
        show are sent: "ack" gave 5,800 ids, of which a team sees 1,600."""
        _source, match, params = self.source(query, "e")
        scope, scope_params = kept
        sql = (
            f"SELECT e.object_id FROM {ENTRY_TABLE} e WHERE {match} AND e.entity = %s "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            f"{'AND (' + scope + ') ' if scope else ''}LIMIT {int(bound) + 1}"
        )
        with self.values_planned(), self.connection.cursor() as cursor:
            cursor.execute(sql, [*params, entity, *scope_params])
            rows = cursor.fetchall()
        return None if len(rows) > bound else [row[0] for row in rows]

    def listed(
        self, query: SearchQuery, kind: str, kept: tuple[str, list] | None = None
    ) -> tuple[str, list]:
        # the rows are read for the recheck anyway: keep what sorting and scope need;
        # with `kept`, the trigram index leaves out the other teams' entries before any
        # is read (decision 0051)
        condition, params = self.candidates(query, kind, "e")
        if kept is not None:
            condition, params = f"{condition} AND {kept[0]}", [*params, *kept[1]]
        select = (
            "SELECT e.id, e.title_key, e.entity, e.team_id, e.owner_id "  # noqa: S608  # nosec B608 # identifiers from code
            f"FROM {ENTRY_TABLE} e WHERE {condition}"
        )
        return self.sorted_candidates(select), params

    def sorted_part(
        self, query: SearchQuery, kind: str, ids: str | None = None, scope: Scoped = None
    ) -> tuple[str, list] | None:
        kept, kept_params = scope("s") if scope else ("true", [])
        if kind == "any" and ids is not None:
            # the listed matches in scope, sorted from the list itself
            sql = (
                f"SELECT s.id, s.title_key FROM {ids} s WHERE {kept} "  # noqa: S608  # nosec B608 # identifiers from code
                "ORDER BY s.title_key, s.id OFFSET 0"
            )
            return sql, kept_params
        if kind not in ("sort", "word") or ids is not None:
            return None
        # the part's candidates in scope by the entry's copy, sorted (for "sort" from the
        # sort-key index alone): entries are read, and records asked (`in_order`), only
        # for the first of them
        candidates, candidate_params = self.candidates(query, kind, "s")
        part, part_params = self.part(query, kind, "s")
        sql = (
            f"SELECT s.id, s.title_key FROM {ENTRY_TABLE} s WHERE {candidates} AND {part} "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            f"AND {kept} ORDER BY s.title_key, s.id OFFSET 0"
        )
        return sql, [*candidate_params, *part_params, *kept_params]

    def walked(self, scope: Scoped, prefix: tuple[str, list]) -> tuple[str, list] | None:
        # Under a generic plan the title part ANDed the range's bitmap with the match's,
        # read every entry of both and sorted them ("Ma": 16,693 entries, 250 ms). An
        # index-only scan of the range, in order, tests the scope copy on the index
        # entry, and the probe reads only the entries in scope until the LIMIT. Not
        # OFFSET 0: pulled up, it plans under the statement's LIMIT. Only for the range:
        # an unbounded walk in this form was sorted whole once the statistics moved
        # (0.5 s), the range's own bound keeps that cheap (decision 0044).
        if scope is None:
            return None
        kept, params = scope("s")
        sql = (
            f"SELECT s.id, s.title_key FROM {ENTRY_TABLE} s WHERE {prefix[0]} AND {kept} "  # noqa: S608  # nosec B608 # identifiers from code
            "ORDER BY s.title_key, s.id"
        )
        return sql, [*prefix[1], *params]

    def walk_condition(self, where: str) -> str:
        # One opaque test: no index can read it, so the walk follows the title index in
        # order. As plain conditions, a generic plan (which takes every range for 0.5%
        # of the entries) ANDed the sort-key range's bitmap with the full-text one and
        # sorted what both held ("M": 28,491 entries, 325 ms; decision 0044).
        return f"({where}) IS TRUE"

    # a walk from the index's start read the title range whole, entry by entry, before
    # it passed it ("A": 118,897 entries, 420 ms; decision 0045). SQLite's walk tests the
    # range on the index entry, and the two-sided form planned far worse there.
    walks_around_title_range = True

    def around_condition(self, where: str) -> str:
        # Opaque too, and taken for half the entries (what PostgreSQL assumes of a
        # boolean expression it cannot read), so the plan expects the fixed LIMIT
        # within the first few entries of each side's range and walks both in order.
        # `IS TRUE` passes on the conditions' own estimate, a few rows in all: with
        # every row to be read anyway, a bitmap of each side's range and a sort won.
        return f"COALESCE(({where}), false)"

    def in_order(self, columns: str, ordered: str, where: str, take: str) -> str:
        # a LATERAL probe per listed row, in the list's order (a nested loop that stops
        # at the LIMIT); the ORDER BY is the one the rows already come in
        return (
            f"SELECT {columns} FROM ({ordered}) c CROSS JOIN LATERAL "  # noqa: S608  # nosec B608 # identifiers from code
            f"(SELECT * FROM {ENTRY_TABLE} e WHERE e.id = c.id AND {where} OFFSET 0) e "
            f"ORDER BY c.title_key, c.id LIMIT {take}"
        )

    def sorted_candidates(self, select: str) -> str:
        # OFFSET 0 keeps the subquery's plan its own: bitmap scans of the trigram or key
        # indexes, whatever the LIMIT outside would make a walk of the title index cost
        return f"SELECT * FROM ({select} OFFSET 0) sc"  # noqa: S608  # nosec B608 # SQL from code
