"""What every search engine shares: the parsed query, the row shape and portable SQL."""

from __future__ import annotations

import abc
import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rapport.core.text import digits, fold

ENTRY_TABLE = "core_search_entry"
MIN_TERM = 3  # trigram indexes cannot answer shorter substrings
CHUNK = 500
# what an upsert writes (Row.values() order), and how it refreshes an existing entry
_WRITTEN = ("title", "subtitle", "title_key", "sort_key", "body", "team_id", "owner_id")
ENTRY_COLUMNS = ", ".join(("entity", "object_id", *_WRITTEN))
ENTRY_MARKS = ", ".join(["%s"] * (2 + len(_WRITTEN)))
ENTRY_CONFLICT = "ON CONFLICT (entity, object_id) DO UPDATE SET " + ", ".join(  # nosec B608 # column names from code
    f"{column} = excluded.{column}" for column in _WRITTEN
)

# a condition on the entry under the given alias, with its parameters
Scoped = Callable[[str], tuple[str, list]] | None

_LETTER = re.compile(r"[^\W\d_]")
WORD = re.compile(r"^[0-9a-z]+$")  # a term the full-text parser keeps whole


@dataclass(frozen=True)
class SearchQuery:
    """User text turned into what the index can answer.

    `terms` (three characters or more) are substring matches, all of which must hold,
    in any order; `short` terms only match the start of a word; a query of digits and
    phone punctuation only ("067 123", "+380 67 123 45 67") becomes one digit string
    so spacing never matters.
    """

    folded: str
    terms: tuple[str, ...]
    short: tuple[str, ...]
    numeric: bool

    @classmethod
    def parse(cls, text: str | None) -> SearchQuery | None:
        raw = str(text or "").strip()[:200]
        if not raw:
            return None
        number = digits(raw)
        if not _LETTER.search(raw) and len(number) >= MIN_TERM:
            return cls(folded=number, terms=(number,), short=(), numeric=True)
        folded = fold(raw)
        if not folded:
            return None
        words: list[str] = []
        for word in folded.split():
            if word not in words:
                words.append(word)
        terms = tuple(w for w in words if len(w) >= MIN_TERM)
        short = tuple(w for w in words if len(w) < MIN_TERM and WORD.match(w))
        if not terms and not short:
            return None
        return cls(folded=folded, terms=terms, short=short, numeric=False)

    @property
    def lead(self) -> str:
        """The term results are ranked by when it starts a word."""
        return (self.terms or self.short)[0]


@dataclass(frozen=True)
class Row:
    """One record's entry in the index."""

    entity: str
    object_id: int
    title: str
    subtitle: str
    title_key: str
    sort_key: str
    body: str
    # the record's team and owner, so search can leave out what the user's scope hides
    # from the title index alone, before reading any entry or record (decision 0040)
    team_id: int | None = None
    owner_id: int | None = None

    def values(self) -> tuple:
        return (
            self.entity,
            self.object_id,
            self.title,
            self.subtitle,
            self.title_key,
            self.sort_key,
            self.body,
            self.team_id,
            self.owner_id,
        )


def prefix_end(prefix: str) -> str:
    """The least string above every string starting with `prefix` (folded: lower-case
    ASCII) in both key orders: SQLite's NOCASE, which sorts A-Z as a-z (so "@" is
    followed by "[", not by "A"), and PostgreSQL's "C", byte order (where the keys,
    lower-case, hold nothing between "A" and "[")."""
    after = chr(ord(prefix[-1]) + 1)
    if "A" <= after <= "Z":
        after = "["
    return prefix[:-1] + after


def chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SearchBackend(abc.ABC):
    """Storage and match SQL for one database vendor; subclasses fill in the DDL."""

    vendor = ""

    def __init__(self, connection):
        self.connection = connection

    # --- schema ----------------------------------------------------------------------
    @abc.abstractmethod
    def schema_statements(self) -> list[str]:
        """Engine-specific; each vendor backend defines it."""

    @abc.abstractmethod
    def drop_statements(self) -> list[str]:
        """Engine-specific; each vendor backend defines it."""

    def ensure_schema(self) -> None:
        """Create whatever is missing (every statement is IF NOT EXISTS)."""
        with self.connection.cursor() as cursor:
            for statement in self.schema_statements():
                cursor.execute(statement)

    def tables_present(self) -> bool:
        existing = set(self.connection.introspection.table_names(include_views=False))
        return all(name in existing for name in self.table_names())

    def table_names(self) -> list[str]:
        return [ENTRY_TABLE]

    def engine_problem(self) -> str | None:
        """Why this database cannot hold the index (missing extension or module), if so."""
        return None

    def consistency_problem(self) -> str | None:
        """An engine-specific inconsistency (e.g. FTS rows without entries), if any."""
        return None

    # --- writes ----------------------------------------------------------------------
    @abc.abstractmethod
    def upsert(self, rows: Sequence[Row]) -> None:
        """Engine-specific; each vendor backend defines it."""

    @abc.abstractmethod
    def delete(self, entity: str, ids: Sequence[int]) -> None:
        """Engine-specific; each vendor backend defines it."""

    @abc.abstractmethod
    def delete_all(self) -> None:
        """Engine-specific; each vendor backend defines it."""

    # --- reads -----------------------------------------------------------------------
    def fetch(self, sql: str, params: Sequence) -> list[tuple]:
        """The rows of the search statement."""
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    @abc.abstractmethod
    def source(self, query: SearchQuery, alias: str = "e") -> tuple[str, str, list]:
        """(FROM clause, WHERE condition, params) selecting the entries that match.

        The FROM clause names the entry table as `alias`; an engine may put its own
        index first so the database is driven by the matches, not by the entries.
        """

    def compact(self) -> None:
        """Rewrite index storage so deleted or replaced entries leave nothing behind
        (erasure). Nothing to do where a delete already removes the values from view."""
        return

    def analyze(self) -> None:
        """Refresh planner statistics after a bulk load."""
        with self.connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {ENTRY_TABLE}")

    def rank(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        """An ORDER BY expression: 0 when the title or sort key starts with the query,
        1 when a word starts with the leading term, 2 otherwise. Portable SQL."""
        prefix = query.folded + "%"
        word = "% " + query.lead + "%"
        sql = (
            f"CASE WHEN {alias}.title_key LIKE %s OR {alias}.sort_key LIKE %s THEN 0 "
            f"WHEN (' ' || {alias}.body) LIKE %s THEN 1 ELSE 2 END"
        )
        return sql, [prefix, prefix, word]

    # --- tiers (decision 0032) -----------------------------------------------------
    # The ranked answer in four parts, each in (title_key, id) order: "title" (the title
    # key starts with the query), "sort" (the sort key does, the title key does not):
    # rank 0; "word" (a word starts with the lead term): rank 1; "any": rank 2.
    walk_hint = ""  # FROM-clause suffix that makes a walk follow the title_key index

    def walk_condition(self, where: str) -> str:
        """A walk's row condition, as the engine needs it to keep the walk a walk."""
        return where

    # whether the sort part walks the title index around the title range (below it,
    # then from its end) rather than from the index's start through the range
    walks_around_title_range = False

    def around_condition(self, where: str) -> str:
        """The row condition of a walk from either end of the title range, under a
        LIMIT of a fixed number, as the engine needs it to walk both sides in order."""
        return where

    def title_prefix(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        return f"{alias}.title_key LIKE %s", [query.folded + "%"]

    def key_range(self, key: str, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        """The key starts with the folded query, as a range: its index bounds hold
        whatever the plan knows of the values (a LIKE pattern's only when it is
        planned for the value)."""
        low, high = query.folded, prefix_end(query.folded)
        return f"({alias}.{key} >= %s AND {alias}.{key} < %s)", [low, high]

    def sort_prefix(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        return f"{alias}.sort_key LIKE %s", [query.folded + "%"]

    def starts(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        """Rank 0 as a row condition: the title or sort key starts with the query."""
        title, title_params = self.title_prefix(query, alias)
        sort, sort_params = self.sort_prefix(query, alias)
        return f"({title} OR {sort})", [*title_params, *sort_params]

    def word(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        """Rank 1 (without rank 0) as a row condition: a word starts with the lead term."""
        return f"(' ' || {alias}.body) LIKE %s", ["% " + query.lead + "%"]

    def part(self, query: SearchQuery, kind: str, alias: str = "e") -> tuple[str, list]:
        """Which matching entries belong to the part `kind`, as a row condition."""
        title, title_params = self.title_prefix(query, alias)
        if kind == "title":
            return title, title_params
        sort, sort_params = self.sort_prefix(query, alias)
        if kind == "sort":
            return f"{sort} AND NOT ({title})", [*sort_params, *title_params]
        starts, starts_params = self.starts(query, alias)
        word, word_params = self.word(query, alias)
        negate = "" if kind == "word" else "NOT "
        return f"NOT {starts} AND {negate}({word})", [*starts_params, *word_params]

    @abc.abstractmethod
    def row_match(self, query: SearchQuery, alias: str = "e") -> tuple[str, list]:
        """`source`'s match as a condition on one entry row that no index can drive (so
        a walk in title order stays a walk); true for exactly the same entries."""

    @abc.abstractmethod
    def candidates(
        self, query: SearchQuery, kind: str, alias: str = "e"
    ) -> tuple[str, list] | None:
        """A condition on the entry `alias` that an index can drive, true for every
        matching entry of the part `kind` ("sort", "word", "any"), or None when the
        part cannot have entries."""

    def counted(self, query: SearchQuery, kind: str) -> tuple[str, list]:
        """A SELECT of the candidates of `kind` (one column, `id`), read from the index
        and cheap to stop after n rows."""
        condition, params = self.candidates(query, kind, "e")
        return self.sorted_candidates(f"SELECT e.id FROM {ENTRY_TABLE} e WHERE {condition}"), params  # noqa: S608  # nosec B608 # identifiers from code, values as parameters

    def sorted_part(
        self, query: SearchQuery, kind: str, ids: str | None = None, scope: Scoped = None
    ) -> tuple[str, list] | None:
        """The candidates of part `kind` (or those listed in the CTE `ids`) as (id,
        title_key) rows in (title_key, id) order, as a subquery whose order the query
        around it keeps - where the engine can promise that; else None. `scope(alias)`
        gives a condition on an entry's own columns that every row must meet."""
        return None

    # whether a part's candidates are listed, and put in title order, from index
    # entries alone (then long lists pay, and a walk of the title index against the
    # list); else every candidate listed is an entry read, and lists stay short
    orders_from_index = True

    def listed(
        self, query: SearchQuery, kind: str, kept: tuple[str, list] | None = None
    ) -> tuple[str, list]:
        """The matches of `kind` as a SELECT to list (up to a bound) in a CTE: `counted`'s
        ids, plus whatever else the engine's `sorted_part` reads from the list. `kept`
        (a condition on the entry `e` that the scope implies) may leave out entries the
        scope hides, where the engine's index answers it; here (FTS5, which holds no
        scope) it is not used, and every entry read is tested against the scope later."""
        return self.counted(query, kind)

    def walked(self, scope: Scoped, prefix: tuple[str, list]) -> tuple[str, list] | None:
        """The entries in scope (`scope(alias)`) and in the title range `prefix` (a
        condition on the alias "s"), as (id, title_key) rows in (title_key, id) order
        read from the title index alone, for the title part to read only those entries
        (through `in_order`) - or None where a range read tests the scope on the index
        entry anyway (SQLite reads a row only once its index entry passes)."""
        return None

    def in_order(self, columns: str, ordered: str, where: str, take: str) -> str:
        """Entries (alias `e`) of the rows `ordered` yields (alias `c`: id, title_key in
        that order) that meet `where`, in that order, reading entries only until `take`
        rows have come out."""
        # the subquery's order is the loop's: CROSS JOIN keeps it, and the LIMIT (with
        # no ORDER BY, which would sort every candidate again after reading it) stops
        return (
            f"SELECT {columns} FROM ({ordered}) c CROSS JOIN {ENTRY_TABLE} e ON e.id = c.id "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            f"WHERE {where} LIMIT {take}"
        )

    # a row walked in a list's order (its entry probed and tested) against a match
    # listed, in time: where the list's text filter walks (`search._TextMatch`)
    walk_cost = 1.0

    def entry_count(self) -> int:
        """About how many entries the index holds: the highest id, one index read."""
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT max(id) FROM {ENTRY_TABLE}")  # noqa: S608  # nosec B608 # identifiers from code
            return cursor.fetchone()[0] or 0

    # whether the list's capped count of a text filter reads the index's matches until
    # the cap (`search.count_matches`) rather than counting the filtered list
    counts_from_index = False

    def scope_key(self, value: int) -> int:
        """A team or owner id as the entry's copy of the scope is compared with
        (`search._copied_scope`): as it is, unless the engine's index needs its type."""
        return value

    def listed_ids(
        self, query: SearchQuery, entity: str, bound: int, kept: tuple[str, list] = ("", [])
    ) -> list[int] | None:
        """The ids of the `entity` records whose entries match (and meet `kept`, a
        condition on the entry `e`: the scope's copy), when at most `bound`, for a list
        to take as a value (`id = ANY(...)`) rather than as a subquery; None where the
        engine plans the subquery well, or when there are more."""
        return None

    def match_count(self, query: SearchQuery, cap: int, *, entries: int) -> int | None:
        """How many entries (of any entity) match `query`, counted or estimated up to
        `cap`, cheaply (`entries`: `entry_count()`); None where the engine has no
        cheap way (the list's text filter then lists the matches)."""
        return None

    def values_planned(self):
        """A context whose statements are planned for their own values where the
        engine would otherwise reuse one plan for every value; here, nothing."""
        return contextlib.nullcontext()

    def dense(self, query: SearchQuery, bound: int) -> tuple[str, list] | None:
        """A SELECT of one row and one boolean column, `dense`: whether a cheap sample
        says the matches of `query` reach `bound`, so listing them (up to the bound)
        would be wasted - or None, to always list them."""
        return None

    def sorted_candidates(self, select: str) -> str:
        """`select` (candidates with their conditions, no ORDER BY) made into a subquery
        the planner runs as written: from its index, not by walking the title index."""
        return select

    def short_conditions(self, query: SearchQuery, alias: str) -> tuple[list[str], list]:
        """Short terms next to long ones: each must start some word of the body."""
        return (
            [f"(' ' || {alias}.body) LIKE %s" for _ in query.short],
            ["% " + term + "%" for term in query.short],
        )

    def prefix_condition(self, query: SearchQuery, alias: str) -> tuple[str, list]:
        """Only short terms: the folded query starts the title or the sort key."""
        prefix = query.folded + "%"
        return f"({alias}.title_key LIKE %s OR {alias}.sort_key LIKE %s)", [prefix, prefix]

    def counts(self) -> dict[str, int]:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT entity, COUNT(*) FROM {ENTRY_TABLE} GROUP BY entity")  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
            return {entity: count for entity, count in cursor.fetchall()}
