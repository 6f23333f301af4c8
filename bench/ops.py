"""The timed read operations: each through the real stack and next to its floor.

An operation makes `cases` (varied parameters), answers each one through the app
(HTTP requests through Django's full handler and middleware, as a signed-in rep whose
team scope applies) and through its floor (hand-written SQL on the raw driver), and
both answers must agree: ids in the order the page shows them.
"""

from __future__ import annotations

import datetime
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.dataset import END, SPAN_DAYS
from rapport.contacts.models import Company, Person
from rapport.core import keyset
from rapport.core.models import AuditEvent
from rapport.core.search import (
    DENSE_LISTED,
    DENSE_SORT_KEY,
    DENSE_SORTED,
    LISTED,
    SORT_LISTED_BELOW,
    WALK_MAX_LIMIT,
    WORD_FROM_LIST,
)
from rapport.core.searchbackends.base import ENTRY_TABLE, SearchQuery, prefix_end
from rapport.core.searchbackends.postgres import SAMPLE_PERCENT, PostgresBackend
from rapport.core.searchbackends.sqlite import SqliteBackend

PERSON = Person._meta.db_table
COMPANY = Company._meta.db_table
AUDIT = AuditEvent._meta.db_table
PAGE = 50
ROW_IDS = re.compile(r'name="ids" value="(\d+)"')
HIT_LINKS = re.compile(r'href="/(people|companies)/(\d+)/"')


@dataclass
class Case:
    label: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ctx:
    engine: str
    size: int
    data: Any  # BenchData
    ids: list[int]
    rep: Any
    team_ids: list[int]
    client: Any  # a django.test.Client signed in as `rep`
    raw: Any  # bench.raw.Raw
    rng: random.Random
    extra: dict[str, Any] = field(default_factory=dict)
    cpu: list[float] = field(default_factory=list)  # CPU seconds of each request, in order

    def get(self, path: str, params: dict | None = None):
        started, cpu = time.perf_counter(), time.thread_time()
        response = self.client.get(path, params or {})
        elapsed = time.perf_counter() - started
        self.cpu.append(time.thread_time() - cpu)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {params} answered {response.status_code}")
        return elapsed, response.content.decode()


# --- the people list --------------------------------------------------------------------

# public ordering key -> floor columns (expression, nullable); the tie-breaker is p.id
ORDER_COLUMNS = {
    "name": [("p.sort_key", False)],
    "email": [("p.primary_email", False)],
    "company": [("c.sort_key", True)],
    "owner": [("u.username", True)],
    "created_at": [("p.created_at", False)],
    "updated_at": [("p.updated_at", False)],
}
# every ordering the people list offers, both directions (decision 0030)
LIST_ORDERINGS = ["name", "-created_at", "email", "-updated_at", "-name", "created_at", "-email"]


def _moment(ctx: Ctx, days_back: float) -> datetime.datetime:
    return END - datetime.timedelta(days=days_back)


def _floor_where(ctx: Ctx, params: dict[str, Any]) -> tuple[list[str], list]:
    where = ["p.deleted_at IS NULL", f"p.team_id IN ({', '.join(['%s'] * len(ctx.team_ids))})"]
    args: list = list(ctx.team_ids)
    if "created_after" in params:
        where.append("p.created_at >= %s")
        args.append(_db_time(ctx, params["created_after"]))
    if "created_before" in params:
        where.append("p.created_at < %s")
        args.append(_db_time(ctx, params["created_before"]))
    if params.get("owner") == "me":
        where.append("p.owner_id = %s")
        args.append(ctx.rep.pk)
    return where, args


def _db_time(ctx: Ctx, iso: str):
    moment = datetime.datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    if ctx.raw.vendor == "sqlite":  # Django stores naive UTC text on SQLite
        return moment.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(sep=" ")
    return moment


def _order_parts(ordering: str) -> list[tuple[str, bool, bool]]:
    desc = ordering.startswith("-")
    columns = ORDER_COLUMNS[ordering.lstrip("-")]
    return [(col, desc, nullable) for col, nullable in columns] + [("p.id", desc, False)]


def _order_sql(parts) -> str:
    out = []
    for col, desc, nullable in parts:
        direction = "DESC" if desc else "ASC"
        out.append(f"{col} IS NULL, {col} {direction}" if nullable else f"{col} {direction}")
    return ", ".join(out)


def _after_sql(parts, values) -> tuple[str, list]:
    """Rows strictly after `values` (NULLs last), as the keyset floor writes it."""
    ors, args = [], []
    equal, equal_args = [], []
    for (col, desc, nullable), value in zip(parts, values, strict=True):
        if value is None:
            cond, cond_args, same, same_args = None, [], f"{col} IS NULL", []
        else:
            cond = f"{col} {'<' if desc else '>'} %s" + (f" OR {col} IS NULL" if nullable else "")
            cond_args, same, same_args = [value], f"{col} = %s", [value]
        if cond is not None:
            ors.append("(" + " AND ".join([*equal, f"({cond})"]) + ")")
            args += equal_args + cond_args
        equal.append(same)
        equal_args += same_args
    return "(" + " OR ".join(ors) + ")", args


def _walk_by_name(ctx: Ctx, params: dict[str, Any]) -> tuple[float, bool]:
    """SQLite, sorted by name within a created range: whether the range is wide enough that
    walking the name index beats sorting the range (the count that decides is timed too,
    decision 0033)."""
    from rapport.core.filters import WALK_MIN_ROWS

    ranged = "created_after" in params or "created_before" in params
    by_name = params.get("ordering", "name").lstrip("-") == "name"
    if ctx.raw.vendor != "sqlite" or not ranged or not by_name:
        return 0.0, False
    where, args = _floor_where(ctx, {k: v for k, v in params.items() if k != "owner"})
    sql = (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {PERSON} p WHERE {' AND '.join(where)} "  # noqa: S608  # nosec B608 # identifiers from code
        f"LIMIT {WALK_MIN_ROWS})"
    )
    seconds, rows = ctx.raw.timed(sql, args)
    return seconds, rows[0][0] >= WALK_MIN_ROWS


def list_floor(
    ctx: Ctx, params: dict[str, Any], *, after=None, text=None
) -> tuple[float, list[int]]:
    """The list's page by hand; `text`, (condition on `p`, args), narrows it further."""
    probe_seconds, walk = _walk_by_name(ctx, params)
    where, args = _floor_where(ctx, params)
    if text is not None:
        where.append(text[0])
        args += text[1]
    if walk:  # a unary plus keeps SQLite off the created index: it walks the name index
        where = [w.replace("p.created_at", "+p.created_at") for w in where]
    parts = _order_parts(params.get("ordering", "name"))
    if after is not None:
        cond, cond_args = _after_sql(parts, after)
        where.append(cond)
        args += cond_args
    # the company's name as the app reads it: asked per row shown on PostgreSQL (a
    # joined sort of a few thousand rows was planned as a hash join over every company),
    # joined on SQLite (cheaper there)
    if ctx.raw.vendor == "sqlite":
        company, join = "c.name", f"LEFT JOIN {COMPANY} c ON c.id = p.company_id "
    else:
        company, join = f"(SELECT c.name FROM {COMPANY} c WHERE c.id = p.company_id)", ""  # noqa: S608  # nosec B608 # identifiers from code
    sql = (
        "SELECT p.id, p.first_name, p.last_name, p.primary_email, p.primary_phone, "  # noqa: S608  # nosec B608 # identifiers from code
        f"p.created_at, {company}, u.username FROM {PERSON} p {join}"
        "LEFT JOIN accounts_user u ON u.id = p.owner_id "
        f"WHERE {' AND '.join(where)} ORDER BY {_order_sql(parts)} LIMIT {PAGE + 1}"
    )
    seconds, rows = ctx.raw.timed(sql, args)
    return probe_seconds + seconds, [row[0] for row in rows[:PAGE]]


def list_cases(ctx: Ctx, n: int) -> list[Case]:
    cases = []
    for i in range(n):
        params: dict[str, Any] = {"ordering": LIST_ORDERINGS[i % len(LIST_ORDERINGS)]}
        if i % 3 == 0:
            params["owner"] = "me"
        else:
            days = ctx.rng.uniform(30, SPAN_DAYS)
            params["created_after"] = _moment(ctx, days).date().isoformat()
        cases.append(Case(f"{params}", params))
    return cases


def list_app(ctx: Ctx, case: Case) -> tuple[float, list[int]]:
    seconds, html = ctx.get("/people/", case.params)
    return seconds, [int(x) for x in ROW_IDS.findall(html)]


def list_floor_case(ctx: Ctx, case: Case) -> tuple[float, list[int]]:
    return list_floor(ctx, case.params)


# --- page 200 ---------------------------------------------------------------------------

DEEP_PAGE = 200


def deep_cases(ctx: Ctx, n: int) -> list[Case]:
    """Page 200 (or the deepest page the data has) of the list, any sortable column; the
    cursor is the one the app itself hands out for that page."""
    from rapport.contacts.entities import PersonEntity

    cases = []
    orderings = list(LIST_ORDERINGS)
    for i in range(n):
        ordering = orderings[i % len(orderings)]
        parsed = keyset.parse_ordering(ordering, PersonEntity.orderings, "name")
        qs = Person.objects.restrict(ctx.rep, "view")
        keys = {f"_k{j}": _f(name) for j, (name, _d) in enumerate(parsed.fields)}
        listed = qs.annotate(**keys).order_by(*parsed.order_by())
        depth = min(DEEP_PAGE, max(ctx.extra.get("visible", 0) // PAGE - 1, 1))
        row = listed.values(*keys)[PAGE * (depth - 1) - 1 : PAGE * (depth - 1)]
        values = list(next(iter(row)).values())
        bound = keyset.binding(parsed, {"ordering": [ordering]})  # as the list binds it
        cases.append(
            Case(
                f"page {depth} by {ordering}",
                {
                    "ordering": ordering,
                    "cursor": keyset.make_cursor(values, bound),
                    "_after": values,
                },
            )
        )
    return cases


def first_page_cases(ctx: Ctx, n: int) -> list[Case]:
    """Page 1 of the same lists: what page 200 is compared with."""
    orderings = LIST_ORDERINGS
    return [Case(f"page 1 by {o}", {"ordering": o}) for o in (orderings * n)[:n]]


def _f(name):
    from django.db.models import F

    return F(name)


def deep_app(ctx: Ctx, case: Case) -> tuple[float, list[int]]:
    params = {k: v for k, v in case.params.items() if not k.startswith("_")}
    seconds, html = ctx.get("/people/", params)
    return seconds, [int(x) for x in ROW_IDS.findall(html)]


def deep_floor(ctx: Ctx, case: Case) -> tuple[float, list[int]]:
    if "_after" not in case.params:
        return list_floor(ctx, {"ordering": case.params["ordering"]})
    values = [_db_value(ctx, v) for v in case.params["_after"]]
    return list_floor(ctx, {"ordering": case.params["ordering"]}, after=values)


def _db_value(ctx: Ctx, value):
    if isinstance(value, datetime.datetime) and ctx.raw.vendor == "sqlite":
        return value.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


# --- sort by name within a date range --------------------------------------------------


def range_cases(ctx: Ctx, n: int) -> list[Case]:
    cases = []
    for _ in range(n):
        width = ctx.rng.choice([7, 30, 90, 365])
        start = ctx.rng.uniform(width, SPAN_DAYS)
        params = {
            "ordering": "name",
            "created_after": _moment(ctx, start).date().isoformat(),
            "created_before": _moment(ctx, start - width).date().isoformat(),
        }
        cases.append(Case(f"{width} days", params))
    return cases


# --- the list's text filter -------------------------------------------------------------

# the app's rule (decision 0047): a walked row against a listed match
TEXT_WALK_COST = {"sqlite": SqliteBackend.walk_cost, "postgresql": PostgresBackend.walk_cost}


def text_cases(ctx: Ctx, n: int) -> list[Case]:
    """The people list narrowed by what a user types into its search box, in every
    sortable order: a 3-letter piece of a surname (often tens of thousands of matches at
    1M), a given name (thousands) or a whole surname (a few)."""
    rows = ctx.data.people.rows
    kinds = ["substring", "given name", "substring", "surname"]
    cases = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        while True:
            row = rows[ctx.rng.randrange(len(rows))]
            if kind == "substring":
                word = row.last if len(row.last) >= 5 else row.first + row.last
                start = ctx.rng.randrange(1, max(len(word) - 3, 2))
                text = word[start : start + 3]
            else:
                text = row.first if kind == "given name" else row.last
            query = SearchQuery.parse(text)
            if query is not None and len(query.terms) == 1 and not query.short:
                break
        ordering = LIST_ORDERINGS[i % len(LIST_ORDERINGS)]
        cases.append(Case(kind, {"q": text, "ordering": ordering}))
    return cases


def text_floor(ctx: Ctx, case: Case) -> tuple[float, list[int]]:
    """The same page by hand: the matches counted (SQLite: from the FTS index, up to the
    bound; PostgreSQL: the same, or in a 0.1% sample of the entries' pages, scaled up,
    from `COUNTED_BELOW` entries), then either the page's index walked with each row's entry
    tested, or the matches listed (PostgreSQL: their ids read first and given as a
    value) - the rule the app uses (decision 0047), its decisions timed with it."""
    (term,) = SearchQuery.parse(case.params["q"]).terms
    sqlite = ctx.raw.vendor == "sqlite"
    seconds, rows = ctx.raw.timed(f"SELECT max(id) FROM {ENTRY_TABLE}", [])  # noqa: S608  # nosec B608 # identifiers from code
    entries = rows[0][0] or 0
    cost = TEXT_WALK_COST[ctx.raw.vendor]
    cap = int((cost * WALK_MAX_LIMIT * entries) ** 0.5) + 1
    if sqlite:
        counted = (
            f"SELECT count(*) FROM (SELECT 1 FROM core_search_fts WHERE core_search_fts "  # noqa: S608  # nosec B608 # identifiers from code
            f"MATCH %s LIMIT {cap})",
            ['"' + term.replace('"', '""') + '"'],
        )
    elif entries < PostgresBackend.COUNTED_BELOW:  # counted, as the app counts a small index
        counted = (
            f"SELECT count(*) FROM (SELECT 1 FROM {ENTRY_TABLE} x WHERE x.body LIKE %s "  # noqa: S608  # nosec B608 # identifiers from code
            f"LIMIT {cap}) c",
            ["%" + term + "%"],
        )
    else:
        counted = (
            f"SELECT count(*) * {100 / SAMPLE_PERCENT} FROM {ENTRY_TABLE} x "  # noqa: S608  # nosec B608 # identifiers from code
            f"TABLESAMPLE SYSTEM ({SAMPLE_PERCENT}) REPEATABLE (7) WHERE strpos(x.body, %s) > 0",
            [term],
        )
    more, rows = ctx.raw.timed(*counted)
    seconds += more
    matches = min(float(rows[0][0]), cap)
    if not sqlite:
        # planned for the term, as the app plans it: the statements' text is the same
        # for every term, and psycopg prepares them after five runs (decision 0047)
        ctx.raw.conn.execute("SET plan_cache_mode = force_custom_plan")
    try:
        more, text = _text_condition(ctx, term, matches, entries)
        seconds += more
        more, ids = list_floor(ctx, case.params, text=text)
        return seconds + more, ids
    finally:
        if not sqlite:
            ctx.raw.conn.execute("RESET plan_cache_mode")


def _text_condition(
    ctx: Ctx, term: str, matches: float, entries: int
) -> tuple[float, tuple[str, list]]:
    """The seconds it took and the floor's condition on `p` for the term: walk, list,
    or (PostgreSQL) the ids read first and given as a value; each entry kept to the
    rep's teams by its copy of the scope, as the app keeps it."""
    sqlite = ctx.raw.vendor == "sqlite"
    cost = TEXT_WALK_COST[ctx.raw.vendor]
    # PostgreSQL: as bigint, the copy's type, which the trigram index's scope columns
    # compare with (decision 0051)
    teams = ", ".join(f"{int(t)}" if sqlite else f"{int(t)}::bigint" for t in ctx.team_ids)
    if matches * matches >= cost * (PAGE + 1) * entries:
        test = "instr(w.body, %s) > 0" if sqlite else "strpos(w.body, %s) > 0"
        text = (
            f"EXISTS (SELECT 1 FROM {ENTRY_TABLE} w WHERE w.entity = 'person' "  # noqa: S608  # nosec B608 # identifiers from code
            f"AND w.object_id = p.id AND {test} AND w.team_id IN ({teams}))"
        )
        return 0.0, (text, [term])
    if sqlite:
        text = (
            "p.id IN (SELECT e.object_id FROM core_search_fts f CROSS JOIN "  # noqa: S608  # nosec B608 # identifiers from code
            f"{ENTRY_TABLE} e ON e.id = f.rowid WHERE f.core_search_fts MATCH %s "
            f"AND e.entity = 'person' AND e.team_id IN ({teams}))"
        )
        return 0.0, (text, ['"' + term.replace('"', '""') + '"'])
    # the ids first, as a value: PostgreSQL then knows how few they are
    page = int((cost * (PAGE + 1) * entries) ** 0.5)
    seconds, rows = ctx.raw.timed(
        f"SELECT e.object_id FROM {ENTRY_TABLE} e WHERE e.body LIKE %s "  # noqa: S608  # nosec B608 # identifiers from code
        f"AND e.entity = 'person' AND e.team_id IN ({teams}) LIMIT {page + 1}",
        ["%" + term + "%"],
    )
    if len(rows) <= page:
        return seconds, ("p.id = ANY(%s)", [[row[0] for row in rows]])
    text = (
        f"p.id IN (SELECT e.object_id FROM {ENTRY_TABLE} e WHERE e.body LIKE %s "  # noqa: S608  # nosec B608 # identifiers from code
        f"AND e.entity = 'person' AND e.team_id IN ({teams}))"
    )
    return seconds, (text, ["%" + term + "%"])


# --- search type-ahead ------------------------------------------------------------------

NO_HIT = ["qzxwv", "zzyzx jjq", "xqwzt", "9999999999999"]


def search_cases(ctx: Ctx, n: int) -> list[Case]:
    rows, ids = ctx.data.people.rows, ctx.ids
    kinds = ["prefix", "substring", "two terms", "phone digits", "no hit"]
    cases = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        row = rows[ctx.rng.randrange(len(rows))]
        if kind == "prefix":
            # the first keystrokes too: one and two letters are what a type-ahead sends
            # first, and where a plan made without the values went wrong (decision 0044)
            text = row.last[: ctx.rng.choice([1, 2, 3, 4, 5])]
        elif kind == "substring":
            word = row.last if len(row.last) >= 5 else row.first + row.last
            start = ctx.rng.randrange(1, max(len(word) - 3, 2))
            text = word[start : start + 3]
        elif kind == "two terms":
            text = f"{row.first} {row.last[:4]}"
        elif kind == "phone digits":
            with_phone = [
                r for r in (rows[ctx.rng.randrange(len(rows))] for _ in range(50)) if r.phones
            ]
            number = (with_phone or [row])[0].phones[0] if (with_phone or row.phones) else "0671234"
            digits = "".join(ch for ch in number if ch.isdigit())
            text = digits[-7:]
        else:
            text = NO_HIT[i % len(NO_HIT)]
        cases.append(Case(kind, {"q": text}))
    del ids
    return cases


def search_app(ctx: Ctx, case: Case) -> tuple[float, list[tuple[str, int]]]:
    seconds, html = ctx.get("/search/palette/", case.params)
    return seconds, [(kind, int(pk)) for kind, pk in HIT_LINKS.findall(html)]


def search_floor(ctx: Ctx, case: Case, limit: int = 12) -> tuple[float, list[tuple[str, int]]]:
    """The same answer by hand, in the parts `search_sql` uses (title prefix, sort-key
    prefix, word start, any match), as separate statements on the raw driver: each part
    runs only while the page is short, and the decisions (sort the candidates or walk
    the title index; word starts from the listed matches or their own index) are taken
    here in Python from the candidates' counts."""
    query = SearchQuery.parse(case.params["q"])
    sqlite = ctx.raw.vendor == "sqlite"
    teams = ", ".join(["%s"] * len(ctx.team_ids))
    probe = "" if sqlite else " OFFSET 0"  # PostgreSQL: a probe per row, never a hash
    scope = (
        f"((e.entity = 'person' AND EXISTS (SELECT 1 FROM {PERSON} p WHERE p.id = e.object_id "  # noqa: S608  # nosec B608 # identifiers from code
        f"AND p.deleted_at IS NULL AND p.team_id IN ({teams}){probe})) OR "
        f"(e.entity = 'company' AND EXISTS (SELECT 1 FROM {COMPANY} c WHERE c.id = e.object_id "
        f"AND c.deleted_at IS NULL AND c.team_id IN ({teams}){probe})))"
    )
    scope_args = list(ctx.team_ids) * 2

    def kept(alias: str) -> tuple[str, list]:
        """The entry's own copy of the team, tested first (from the title indexes)."""
        entity = f"({alias}.entity = %s AND {alias}.team_id IN ({teams}))"
        return f"({entity} OR {entity})", ["person", *ctx.team_ids, "company", *ctx.team_ids]

    folded, lead, terms, short = query.folded, query.lead, query.terms, query.short
    if sqlite:  # ranges and instr(): a LIKE pattern makes SQLite re-prepare
        above = chr(ord(folded[-1]) + 1)
        high = folded[:-1] + ("[" if "A" <= above <= "Z" else above)
        title = ("(e.title_key >= %s AND e.title_key < %s)", [folded, high])
        sort = ("(e.sort_key >= %s AND e.sort_key < %s)", [folded, high])
        word = ("instr(' ' || e.body, %s) > 0", [" " + lead])
        shorts = ["instr(' ' || e.body, %s) > 0"] * len(short), [" " + t for t in short]
        substrings = ["instr(e.body, %s) > 0"] * len(terms), list(terms)
    else:
        title = ("e.title_key LIKE %s", [folded + "%"])
        sort = ("e.sort_key LIKE %s", [folded + "%"])
        word = ("(' ' || e.body) LIKE %s", ["% " + lead + "%"])
        shorts = ["(' ' || e.body) LIKE %s"] * len(short), ["% " + t + "%" for t in short]
        substrings = ["strpos(e.body, %s) > 0"] * len(terms), list(terms)
    if terms:
        match = (" AND ".join(substrings[0] + shorts[0]), substrings[1] + shorts[1])
    elif sqlite:
        match = (f"({title[0]} OR {sort[0]})", title[1] + sort[1])
    else:
        ts = "to_tsvector('simple'::regconfig, e.body) @@ to_tsquery('simple'::regconfig, %s)"
        match = (ts, [" & ".join(f"{t}:*" for t in short)])
    starts = (f"({title[0]} OR {sort[0]})", title[1] + sort[1])
    seconds = 0.0

    def fetch(sql: str, args: list) -> list[tuple]:
        nonlocal seconds
        took, rows = ctx.raw.timed(sql, args)
        seconds += took
        return rows

    def rows(where: list[tuple[str, list]], *, order: bool = True, head: str = "", hint="") -> str:
        conditions = " AND ".join(w for w, _a in where)
        sql = (
            f"SELECT e.entity, e.object_id, e.title_key, e.id FROM {head or ENTRY_TABLE + ' e'} "  # noqa: S608  # nosec B608 # identifiers from code
            f"{hint} WHERE {conditions}"
        )
        return f"{sql} ORDER BY e.title_key, e.id LIMIT %s" if order else f"{sql} LIMIT %s"

    def args(where: list[tuple[str, list]]) -> list:
        return [a for _w, wargs in where for a in wargs]

    walk = "INDEXED BY core_search_entry_title_key" if sqlite else ""

    def in_order(ordered: str, where: list[tuple[str, list]]) -> str:
        """PostgreSQL: the entries of `ordered`'s ids in its order, each read (and its
        record asked) only until the LIMIT has its rows."""
        conditions = " AND ".join(w for w, _a in where)
        return (
            f"SELECT e.entity, e.object_id, e.title_key, e.id FROM ({ordered}) c CROSS JOIN LATERAL "  # noqa: S608  # nosec B608 # identifiers from code
            f"(SELECT * FROM {ENTRY_TABLE} e WHERE e.id = c.id AND {conditions} OFFSET 0) e "
            "ORDER BY c.title_key, c.id LIMIT %s"
        )

    tail = [kept("e"), match, (scope, scope_args)]

    def opaque(where: list[tuple[str, list]]) -> list[tuple[str, list]]:
        """PostgreSQL: the conditions as one test no index reads, as the app writes a
        walk's (decision 0045), so a key range is walked in order. Planned as plain
        conditions, a short prefix's range was ANDed with the full-text bitmap and
        sorted: "na" 161 ms, and "A"'s side past the range 0.5 s (168,001 and 45,435
        entries)."""
        if sqlite:
            return where
        return [(f"COALESCE(({' AND '.join(w for w, _a in where)}), false)", args(where))]

    # rank 0: the title-key range in order, and the sort-key range (without it) sorted
    first = [title, *opaque(tail)]
    found = fetch(rows(first), [*args(first), limit])
    not_title = (f"NOT {title[0]}", title[1])
    dense_sort = DENSE_SORTED if sqlite else DENSE_SORT_KEY
    ((n_sort,),) = fetch(
        f"SELECT count(*) FROM (SELECT 1 FROM {ENTRY_TABLE} e WHERE {sort[0]} LIMIT %s) x",  # noqa: S608  # nosec B608 # identifiers from code
        [*sort[1], dense_sort],
    )
    where = [sort, not_title, *tail]
    if n_sort >= dense_sort and sqlite:
        found += fetch(rows(where, hint=walk), [*args(where), limit])
    elif n_sort >= dense_sort:  # the title index in order below the title range, then past it
        walked: list[tuple] = []
        for side, edge in (("<", folded), (">=", prefix_end(folded))):
            if len(walked) < limit:
                around = [(f"e.title_key {side} %s", [edge]), *opaque(where)]
                walked += fetch(rows(around), [*args(around), limit])
        found += walked
    elif sqlite:  # sorted from the (sort_key, title_key) index, entries read in order
        head = (
            f"(SELECT s.id FROM {ENTRY_TABLE} s INDEXED BY core_search_entry_sort_title "  # noqa: S608  # nosec B608 # identifiers from code
            f"WHERE s.sort_key >= %s AND s.sort_key < %s AND NOT (s.title_key >= %s "
            f"AND s.title_key < %s) AND {kept('s')[0]} ORDER BY s.title_key, s.id LIMIT -1) c "
            f"CROSS JOIN {ENTRY_TABLE} e ON e.id = c.id"
        )
        found += fetch(
            rows(tail, order=False, head=head),
            [folded, high, folded, high, *kept("s")[1], *args(tail), limit],
        )
    else:  # sorted from the covering sort-key index in scope; entries read in that order
        ordered = (
            f"SELECT s.id, s.title_key FROM {ENTRY_TABLE} s WHERE s.sort_key LIKE %s "  # noqa: S608  # nosec B608 # identifiers from code
            f"AND s.title_key NOT LIKE %s AND {kept('s')[0]} ORDER BY s.title_key, s.id OFFSET 0"
        )
        found += fetch(
            in_order(ordered, [match, (scope, scope_args)]),
            [folded + "%", folded + "%", *kept("s")[1], *args([match]), *scope_args, limit],
        )
    found = sorted(found, key=lambda row: (row[2], row[3]))[:limit]
    if len(found) < limit and (terms or not sqlite):
        # the matches, listed (up to the bound) from the trigram index
        bound = LISTED if sqlite else DENSE_LISTED
        if sqlite:
            listed_sql = "SELECT rowid FROM core_search_fts WHERE core_search_fts MATCH %s LIMIT %s"
            phrase = ['"' + t.replace('"', '""') + '"' for t in terms]
            listed = [r[0] for r in fetch(listed_sql, [" AND ".join(phrase), bound])]
        else:
            indexed = (
                " AND ".join(["e.body LIKE %s"] * len(terms) + shorts[0]) if terms else match[0]
            )
            indexed_args = [f"%{t}%" for t in terms] + shorts[1] if terms else match[1]
            # the rows are read for the trigram recheck anyway: title key and team come
            # along; only the rep's teams', which the trigram index answers with the
            # match (the ids as bigint, the copy's type: decision 0051)
            copies = ", ".join(["%s::bigint"] * len(ctx.team_ids))
            listing = fetch(
                f"SELECT id, title_key, entity, team_id FROM (SELECT e.id, e.title_key, e.entity, "  # noqa: S608  # nosec B608 # identifiers from code
                f"e.team_id FROM {ENTRY_TABLE} e WHERE {indexed} AND e.team_id IN ({copies}) "
                "OFFSET 0) x LIMIT %s",
                [*indexed_args, *ctx.team_ids, bound],
            )
            listed = [r[0] for r in listing]
        marks = ", ".join(["%s"] * len(listed)) or "NULL"
        among = (f"e.id IN ({marks})", listed)
        # rank 1: a word starts with the lead term
        where = [(f"NOT {starts[0]}", starts[1]), word, *tail]
        if len(listed) < min(WORD_FROM_LIST, bound):
            found += fetch(rows([among, *where]), [*args([among, *where]), limit - len(found)])
        elif sqlite:
            expression = " AND ".join([f'(" {lead}" OR ^"{lead}")', *phrase[1:]])
            fts = (
                "e.id IN (SELECT rowid FROM core_search_fts WHERE core_search_fts MATCH %s)",
                [expression],
            )
            found += fetch(rows([fts, *where]), [*args([fts, *where]), limit - len(found)])
        else:
            words = (
                f"(e.body LIKE %s OR e.body LIKE %s) AND {indexed}",
                ["% " + lead + "%", lead + "%", *indexed_args],
            )
            # candidates in scope sorted; their entries read, records asked, in order
            chosen = [words, (f"NOT {starts[0]}", starts[1]), word, kept("e")]
            ordered = (
                f"SELECT e.id, e.title_key FROM {ENTRY_TABLE} e WHERE "  # noqa: S608  # nosec B608 # identifiers from code
                f"{' AND '.join(w for w, _a in chosen)} ORDER BY e.title_key, e.id OFFSET 0"
            )
            found += fetch(
                in_order(ordered, [match, (scope, scope_args)]),
                [*args(chosen), *args([match]), *scope_args, limit - len(found)],
            )
        # rank 2: every other match
        left = limit - len(found)
        if left > 0:
            where = [(f"NOT {starts[0]}", starts[1]), (f"NOT ({word[0]})", word[1]), *tail]
            if len(listed) >= bound:
                found += fetch(rows(where, hint=walk), [*args(where), left])
            elif sqlite and len(listed) >= SORT_LISTED_BELOW:  # walk, ids checked first
                member = [among, *where]
                found += fetch(rows(member, hint=walk), [*args(member), left])
            elif sqlite:
                head = (
                    f"(SELECT k.id FROM {ENTRY_TABLE} k WHERE k.id IN ({marks}) "  # noqa: S608  # nosec B608 # identifiers from code
                    f"AND {kept('k')[0]} ORDER BY k.title_key, k.id LIMIT -1) c "
                    f"CROSS JOIN {ENTRY_TABLE} e ON e.id = c.id"
                )
                found += fetch(
                    rows(where, order=False, head=head),
                    [*listed, *kept("k")[1], *args(where), left],
                )
            else:  # the listed matches in the rep's team, in title order, then their entries
                mine = sorted((r[1], r[0]) for r in listing if r[3] in ctx.team_ids)
                ordered = "SELECT c.id, c.n AS title_key FROM unnest(%s::bigint[]) WITH ORDINALITY c(id, n)"
                found += fetch(
                    in_order(ordered, where),
                    [[pk for _key, pk in mine], *args(where), left],
                )
    names = {"person": "people", "company": "companies"}
    groups: dict[str, list[int]] = {}
    for entity, pk, _key, _id in found:
        groups.setdefault(entity, []).append(pk)
    return seconds, [(names[e], pk) for e, pks in groups.items() for pk in pks]


# --- the person page --------------------------------------------------------------------


def person_cases(ctx: Ctx, n: int) -> list[Case]:
    busy = ctx.extra["busy_visible"]
    return [Case("busy person", {"pk": busy[i % len(busy)]}) for i in range(n)]


def person_app(ctx: Ctx, case: Case) -> tuple[float, list]:
    pk = case.params["pk"]
    with CaptureQueriesContext(connection) as queries:
        seconds, html = ctx.get(f"/people/{pk}/")
    ctx.extra.setdefault("person_queries", set()).add(len(queries))
    events = html.count('class="timeline-item"')
    return seconds, [pk, events]


def person_floor(ctx: Ctx, case: Case) -> tuple[float, list]:
    pk = case.params["pk"]
    teams = ", ".join(["%s"] * len(ctx.team_ids))
    statements = [
        (
            f"SELECT p.*, c.name FROM {PERSON} p LEFT JOIN {COMPANY} c ON c.id = p.company_id "  # noqa: S608  # nosec B608 # identifiers from code
            f"WHERE p.id = %s AND p.deleted_at IS NULL AND p.team_id IN ({teams})",
            [pk, *ctx.team_ids],
        ),
        ("SELECT * FROM contacts_emailaddress WHERE person_id = %s ORDER BY position, id", [pk]),
        ("SELECT * FROM contacts_phonenumber WHERE person_id = %s ORDER BY position, id", [pk]),
        (
            f"SELECT a.*, u.username FROM {AUDIT} a LEFT JOIN accounts_user u ON u.id = a.actor_id "  # noqa: S608  # nosec B608 # identifiers from code
            "WHERE a.object_type = 'person' AND a.object_id = %s ORDER BY a.at DESC, a.id DESC "
            "LIMIT 50",
            [pk],
        ),
    ]
    seconds, answers = ctx.raw.timed_many(statements)
    return seconds, [answers[0][0][0] if answers[0] else None, len(answers[3])]
