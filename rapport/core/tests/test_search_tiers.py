"""The tiered search (decision 0032) answers exactly what one ranked statement answers.

The reference below is the straightforward query: every match, scoped, ordered by rank
(the keys start with the query, a word starts with it, anything else), then title key,
then entry. The tiered statement must return the same hits in the same order for every
query shape, user scope, limit and strategy (candidates sorted or the title index
walked), with people and companies mixed and trashed records excluded.
"""

import itertools

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from rapport.contacts.models import Company, Person
from rapport.core import search
from rapport.core import services as core_services
from rapport.core.registry import registry
from rapport.core.searchbackends import SearchQuery, backend_for
from rapport.core.text import fold
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db

FIRST = ["Anna", "Joanna", "Ann", "Hanna", "John", "Jo", "Ivan", "Vanya", "Олександр", "Łukasz"]
LAST = ["Vance", "Ivanova", "Savannah", "Annan", "Smith", "Smithers", "Коваленко", "Vanko"]
COMPANIES = ["Vantage Labs", "Annex", "Smith and Sons", "Kovalenko Group", "Ann Arbor Tools"]
QUERIES = [
    "a", "an", "ann", "anna", "van", "vanc", "ivan", "smi", "smith", "ova", "kov", "j",
    "jo", "jo smi", "anna van", "van anna", "ann x", "labs", "and", "nn", "o", "oleks",
    "067 123", "123 45", "0671234560", "qzxw", "zzyzx jjq", "example.com", "@exa",
    "smith.", "vance an", "an vance", "ko", "sons smith", "vance.1@", "ivanova.1",
]  # fmt: skip


def reference(user, text, *, limit, entities=None):
    """The ranked statement the tiers replace: sort every match, then cut."""
    query = SearchQuery.parse(text)
    if query is None:
        return []
    engine = backend_for(connection)
    scopes, scope_params = [], []
    for entity in registry:
        if entities is not None and entity.key not in entities:
            continue
        part = search._scope_sql(entity, user, "e", connection)
        if part is not None:
            scopes.append(part[0])
            scope_params.extend(part[1])
    if not scopes:
        return []
    source, match, match_params = engine.source(query, "e")
    rank, rank_params = engine.rank(query, "e")
    sql = (
        f"SELECT e.entity, e.object_id FROM {source} WHERE {match} "  # noqa: S608
        f"AND ({' OR '.join(scopes)}) ORDER BY {rank}, e.title_key, e.id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*match_params, *scope_params, *rank_params, limit])
        return [tuple(row) for row in cursor.fetchall()]


def tiered(user, text, **kwargs):
    return [(hit.entity, hit.id) for hit in search.search(user, text, **kwargs)]


@pytest.fixture
def dataset(alice, carol, admin, django_capture_on_commit_callbacks):
    """People and companies of two teams with names that collide on prefixes, word
    starts and substrings; some of them trashed."""
    with django_capture_on_commit_callbacks(execute=True):
        companies = [
            CompanyFactory(actor=alice if n % 2 else carol, name=name)
            for n, name in enumerate(COMPANIES)
        ]
        people = []
        for n, (first, last) in enumerate(itertools.product(FIRST, LAST)):
            if n % 3 == 2:
                continue
            people.append(
                PersonFactory(
                    actor=carol if n % 4 == 3 else alice,
                    first_name=first,
                    last_name=last,
                    emails=[{"address": f"{fold(last)}.{n}@example.com"}] if n % 5 else [],
                    phones=[{"number": f"+380 67 123 45 {n:02d}"}] if n % 2 else [],
                )
            )
    with django_capture_on_commit_callbacks(execute=True):
        for person in people[::7]:
            core_services.trash(actor=admin, obj=person)
        core_services.trash(actor=admin, obj=companies[0])
    return people, companies


@pytest.mark.parametrize(
    ("dense", "sort_below", "word_from_list"),
    [
        (1, 1, 500),
        (4, 4, 500),
        (1_000_000, 1_000_000, 500),
        (1_000_000, 1, 500),
        (1_000_000, 1, 1),
        (1_000_000, 1_000_000, 1),
    ],
    ids=["walk", "mixed", "sort", "walk-the-list", "word-walks-its-list", "word-sorts-its-list"],
)
def test_tiers_answer_what_the_ranked_statement_answers(
    dataset, alice, carol, admin, monkeypatch, dense, sort_below, word_from_list
):
    """Every way a part can be read: walked, sorted, mixed, walked against the list."""
    for name in ("DENSE", "DENSE_LISTED", "DENSE_SORT_KEY", "DENSE_SORTED", "LISTED"):
        monkeypatch.setattr(search, name, dense)
    monkeypatch.setattr(search, "SORT_LISTED_BELOW", sort_below)
    monkeypatch.setattr(search, "WORD_FROM_LIST", word_from_list)
    compared = nonempty = 0
    for user, text, limit in itertools.product([alice, carol, admin], QUERIES, [1, 3, 7, 40]):
        expected = reference(user, text, limit=limit)
        assert tiered(user, text, limit=limit) == expected, (user.username, text, limit)
        compared += 1
        nonempty += bool(expected)
    assert nonempty > compared // 2  # the dataset does exercise the queries


def test_scope_trash_and_entities_hold_in_every_tier(dataset, alice, carol):
    people, companies = dataset
    visible = set(Person.objects.restrict(carol, "view").values_list("pk", flat=True))
    trashed = {p.pk for p in people if Person.all_objects.get(pk=p.pk).deleted_at}
    assert trashed and visible
    for text in ("an", "van", "ann", "smith", "067 123"):
        hits = tiered(carol, text, limit=200)
        people_hits = {pk for entity, pk in hits if entity == "person"}
        assert people_hits <= visible - trashed, text
        assert tiered(carol, text, limit=200, entities=["company"]) == reference(
            carol, text, limit=200, entities=["company"]
        )
    assert ("company", companies[0].pk) not in tiered(alice, "vantage", limit=50)
    assert Company.all_objects.get(pk=companies[0].pk).deleted_at is not None


def test_one_statement_whatever_the_tiers_do(dataset, alice, monkeypatch):
    for dense in (1, 1_000_000):
        for name in (
            "DENSE",
            "DENSE_LISTED",
            "DENSE_SORT_KEY",
            "DENSE_SORTED",
            "LISTED",
            "SORT_LISTED_BELOW",
        ):
            monkeypatch.setattr(search, name, dense)
        for text in ("anna", "ova", "qzxw", "a"):
            with CaptureQueriesContext(connection) as captured:
                search.search(alice, text, limit=5)
            statements = [q["sql"] for q in captured.captured_queries]
            assert len(reads(statements)) == 1, (text, statements)
            # PostgreSQL: the plan mode set around it, and nothing else
            assert len(statements) == (3 if connection.vendor == "postgresql" else 1)


def reads(statements: list[str]) -> list[str]:
    return [sql for sql in statements if "plan_cache_mode" not in sql]


def show_plan_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def search_plans() -> tuple[int, int]:
    """PostgreSQL: how often this connection's prepared search statement (the shape of
    a one-term query) ran on a generic plan and on a custom one."""
    if connection.vendor != "postgresql":
        return 0, 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s",
            ["WITH p_title AS MATERIALIZED%"],
        )
        rows = cursor.fetchall()
    return (sum(r[0] for r in rows), sum(r[1] for r in rows))


def test_postgresql_plans_the_statement_once_without_its_values(dataset, alice, carol):
    """PostgreSQL planned the tiered statement for each query's values, which took
    longer than running it: it is prepared at its first run and one generic plan serves
    every query of that shape (decision 0043); the plan mode is back to the default
    after it. SQLite keeps prepared statements in its own cache and needs none of this."""
    texts = ["van", "ann", "smi", "ova", "kov", "and"]  # one shape: a single term
    before = search_plans()
    for text in texts:
        assert tiered(alice, text, limit=7) == reference(alice, text, limit=7), text
    if connection.vendor == "sqlite":
        with CaptureQueriesContext(connection) as captured:
            search.search(alice, "van", limit=7)
        assert [q["sql"] for q in captured.captured_queries][0].startswith("WITH ")
        return
    assert show_plan_mode() == "auto"
    generic, custom = search_plans()
    assert (generic - before[0], custom) == (len(texts), 0)
    # a transaction's search leaves the mode as it found it too
    with transaction.atomic():
        assert tiered(carol, "smith", limit=3) == reference(carol, "smith", limit=3)
        assert show_plan_mode() == "auto"


def test_postgresql_without_prepared_statements_plans_for_the_values(
    dataset, alice, carol, admin, monkeypatch
):
    """With prepared statements turned off (`RAPPORT_PG_PREPARE_THRESHOLD=0`, for a
    pooler in transaction mode) each statement is planned for its values: the prefixes
    stay LIKE patterns, which such a plan reads from the index, and the answer is the
    same."""
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        monkeypatch.setattr(connection.connection, "prepare_threshold", None)
        assert backend_for(connection).generic is False
    for user, text in itertools.product([alice, carol, admin], QUERIES):
        with CaptureQueriesContext(connection) as captured:
            hits = tiered(user, text, limit=7)
        assert hits == reference(user, text, limit=7), (user.username, text)
        statements = [q["sql"] for q in captured.captured_queries]
        assert len(statements) == 1, statements
        prefix = "title_key LIKE" if connection.vendor == "postgresql" else "title_key >="
        assert prefix in statements[0]


def test_no_part_scans_a_table_whole(dataset, alice):
    """SQLite: every table read is by key or through an index (the walks follow the
    title index under a LIMIT); PostgreSQL: scope probes stay per row (never a hash of
    all the ids the user may view)."""
    engine = backend_for(connection)
    scope = search.Scope.of(alice, list(registry), connection)
    for text in ("an", "van", "ova", "jo smi", "067 123"):
        sql, params = search.search_sql(engine, SearchQuery.parse(text), scope, 12)
        if connection.vendor == "postgresql":
            assert sql.count("OFFSET 0))") >= sql.count("EXISTS (") > 0
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            details = [row[3] for row in cursor.fetchall()]
        tables = [
            d
            for d in details
            if d.startswith("SCAN ") and " USING " not in d and "VIRTUAL TABLE INDEX" not in d
        ]
        # what remains are scans of the statement's own CTEs and subqueries, and FTS
        odd = [
            d
            for d in tables
            if not (
                d.split()[1] in {"u", "c", "l", "x"}
                or d.split()[1].startswith(("p_", "m_", "n_", "any", "sort", "word", "title"))
            )
        ]
        assert not odd, (text, details)
        walks = [d for d in details if d.startswith("SCAN e USING")]
        assert walks and all("core_search_entry_title_key" in d for d in walks), walks
        assert not [d for d in details if "contacts_" in d and d.startswith("SCAN")]


TRICKY = [
    # (first, last, email, phone): words a full-text parser may read as one token
    ("Ova", "Smith-Ova", "ova.test@example.org", "+380 67 123 45 67"),
    ("Anna", "Ova123", "a+ova@ova.com", "+48 512 345 678"),
    ("Jo", "123ova", "x.ova.y@ex.co.uk", "+1 212 555 0100"),
    ("O'Va", "Nowak", "ova_smith@ex.org", ""),
    ("Ovidiu", "12.5ova", "smith.ova.1@ex.org", "+380 44 555 12 34"),
    ("—", "★", "ovum.lead@ex.org", ""),  # a title that folds to nothing
]


def test_word_start_candidates_hold_every_word_start(alice, django_capture_on_commit_callbacks):
    """The word-start part reads its candidates from an index (PostgreSQL: the
    full-text lexicon; SQLite: words after a space, decision 0043); whatever a body
    looks like, every entry of that part - a word starts with the lead term, the title
    and sort keys do not start with the query - must be among them, or it would drop
    out of the answer."""
    with django_capture_on_commit_callbacks(execute=True):
        for first, last, email, phone in TRICKY:
            PersonFactory(
                actor=alice,
                first_name=first,
                last_name=last,
                emails=[{"address": email}],
                phones=[{"number": phone}] if phone else [],
            )
    engine = backend_for(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, body, title_key, sort_key FROM core_search_entry")
        rows = cursor.fetchall()
    bodies = {pk: body for pk, body, _title, _sort in rows}
    keys = {pk: (title, sort) for pk, _body, title, sort in rows}
    leads = {
        word[:size]
        for body in bodies.values()
        for word in body.split()
        for size in (3, 4, 6)
        if len(word) >= size
    }
    checked = 0
    for lead in sorted(leads):
        query = SearchQuery.parse(lead)
        if query is None or not query.terms or query.lead != lead:
            continue
        starts = {
            pk
            for pk, body in bodies.items()
            if f" {lead}" in f" {body}" and not any(k.startswith(lead) for k in keys[pk])
        }
        condition, params = engine.candidates(query, "word", "e")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT e.id FROM core_search_entry e WHERE {condition}", params)  # noqa: S608
            found = {row[0] for row in cursor.fetchall()}
        assert starts <= found, (lead, starts - found)
        checked += bool(starts)
    assert checked > 40
    untitled = [pk for pk, (title, _sort) in keys.items() if not title]
    assert untitled and bodies[untitled[0]].startswith("ovum")


@pytest.mark.parametrize("bound", [4, 1_000_000], ids=["sample-says-many", "sample-says-few"])
def test_a_sample_that_finds_many_matches_skips_listing_them(
    dataset, alice, carol, admin, monkeypatch, bound
):
    """PostgreSQL: when a sample of the entries' pages says the matches reach the
    bound, they are not listed (a GIN bitmap is built whole first) and every part takes
    its way for many (decision 0043). The answer is the same either way. SQLite lists
    from its own index, a bounded read, and takes no sample."""
    engine = backend_for(connection)
    if connection.vendor == "sqlite":
        assert engine.dense(SearchQuery.parse("van"), bound) is None
        return
    from rapport.core.searchbackends import postgres

    monkeypatch.setattr(postgres, "SAMPLE_PERCENT", 100)  # here: every page
    for name in ("DENSE", "DENSE_LISTED", "DENSE_SORT_KEY", "DENSE_SORTED", "LISTED"):
        monkeypatch.setattr(search, name, bound)

    def sampled_many(text: str) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(*engine.dense(SearchQuery.parse(text), bound))
            return cursor.fetchone()[0]

    assert sampled_many("van") is (bound == 4)
    assert sampled_many("qzxw") is False
    # what the statement does with it: the listing's read of the entries never runs
    scope = search.Scope.of(alice, list(registry), connection)
    assert sampled_many("ova") is (bound == 4)  # within words only: the "any" part reads
    sql, params = search.search_sql(engine, SearchQuery.parse("ova"), scope, 40)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    listing = plan.split("CTE m_any")[1].split("CTE n_any")[0]
    reads = [line for line in listing.splitlines() if "on core_search_entry" in line]
    assert reads and all("never executed" in line for line in reads) is (bound == 4), listing
    assert engine.dense(SearchQuery.parse("jo"), bound) is None  # short terms: not sampled
    for user, text, limit in itertools.product([alice, carol, admin], QUERIES, [1, 7, 40]):
        assert tiered(user, text, limit=limit) == reference(user, text, limit=limit), (
            user.username,
            text,
            limit,
        )


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def test_the_title_range_reads_only_the_entries_in_scope(dataset, alice, carol):
    """PostgreSQL: the title part takes the entries in the user's scope and in the
    title range from the title index alone (the index holds the scope copy), in order,
    and reads only those; a generic plan had ANDed the range's bitmap with the match's
    and sorted every entry of both (decision 0044). SQLite tests the scope on the index
    entry before it reads the row, and needs no other form."""
    engine = backend_for(connection)
    scope = search.Scope.of(carol, list(registry), connection)
    if connection.vendor == "sqlite":
        assert engine.walked(scope.entries, engine.title_prefix(SearchQuery.parse("a"))) is None
        return
    kept, kept_params = scope.entries("e")
    with connection.cursor() as cursor:
        # the planner's choice at 1M entries, on a table small enough to read whole
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for text in ("a", "an", "anna", "jo"):
            query = SearchQuery.parse(text)
            title, title_params = engine.title_prefix(query, "e")
            cursor.execute(
                f"SELECT count(*) FROM core_search_entry e WHERE {title}",  # noqa: S608
                title_params,
            )
            in_range = cursor.fetchone()[0]
            cursor.execute(
                f"SELECT count(*) FROM core_search_entry e WHERE {title} AND {kept}",  # noqa: S608
                [*title_params, *kept_params],
            )
            in_scope = cursor.fetchone()[0]
            assert in_range > in_scope > 0, text  # carol's team sees part of the range
            sql, params = search.search_sql(engine, query, scope, 40)
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0][0]["Plan"]
            part = next(n for n in _nodes(plan) if n.get("Subplan Name") == "CTE p_title")
            nodes = list(_nodes(part))
            ranges = [n for n in nodes if n["Node Type"] == "Index Only Scan"]
            assert [n["Index Name"] for n in ranges] == ["core_search_entry_title_key"], text
            assert not [n for n in nodes if n["Node Type"] in ("Sort", "BitmapAnd")], text
            # each entry is read by a probe of its own, once its index entry passed
            read = sum(
                n["Actual Loops"]
                for n in nodes
                if n["Node Type"] == "Index Scan" and n.get("Relation Name") == "core_search_entry"
            )
            assert 0 < read <= in_scope, (text, read, in_scope)
    for text in QUERIES:
        assert tiered(carol, text, limit=40) == reference(carol, text, limit=40), text


def test_short_terms_narrow_the_listing_in_the_index(dataset):
    """PostgreSQL: a short term next to a long one ("smi jo") is a word start the
    trigram index reads with the long term, so listing the matches reads only the
    entries that hold both, not every entry of the long term (decision 0044)."""
    engine = backend_for(connection)
    query = SearchQuery.parse("smi jo")
    condition, params = engine.candidates(query, "any", "e")
    sql = f"SELECT e.id FROM core_search_entry e WHERE {condition}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT id, body FROM core_search_entry WHERE body LIKE %s", ["%smi%"])
        bodies = dict(cursor.fetchall())
        expected = {pk for pk, body in bodies.items() if " jo" in f" {body}"}
        assert expected <= found and 0 < len(expected) < len(bodies)
        if connection.vendor == "sqlite":  # candidates from FTS5; the row tests the rest
            return
        assert found == expected
        # the short term's condition alone is one the trigram index reads (the planner
        # takes it with the long term's where that pays: at 1M entries, not here)
        short, short_params = engine.short_conditions(query, "e")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"EXPLAIN SELECT e.id FROM core_search_entry e WHERE {short[0]}",  # noqa: S608
            short_params,
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "core_search_entry_trgm" in plan and "Seq Scan" not in plan, plan


def test_a_walk_follows_the_title_index(dataset, alice, monkeypatch):
    """PostgreSQL: a walk's conditions are one test no index reads, so a plan made
    without the values (which takes every key range for 0.5% of the entries) walks the
    title index in order instead of ANDing the sort-key range's bitmap with the
    full-text one and sorting all both hold ("M" at 1M entries: 28,491 rows, 325 ms;
    decision 0044). The sort part walks around the title range, which holds none of
    its entries: from the index's start to the range and from the range's end, never
    through it ("A" at 1M entries read 118,897 entries of "a" first; decision 0045).
    SQLite's walks name their index."""
    engine = backend_for(connection)
    if connection.vendor == "sqlite":
        assert engine.walk_condition("x") == "x" and "INDEXED BY" in engine.walk_hint
        return
    for name in ("DENSE", "DENSE_LISTED", "DENSE_SORT_KEY", "DENSE_SORTED", "LISTED"):
        monkeypatch.setattr(search, name, 1)  # every part that can walks
    scope = search.Scope.of(alice, list(registry), connection)
    with connection.cursor() as cursor:
        # the planner's choice at 1M entries, on a table small enough to read whole
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for text in ("a", "an", "sm", "smi", "van"):
            query = SearchQuery.parse(text)
            title, title_params = engine.key_range("title_key", query, "e")
            cursor.execute(
                f"SELECT count(*) FROM core_search_entry e WHERE NOT {title}",  # noqa: S608
                title_params,
            )
            outside = cursor.fetchone()[0]
            sql, params = search.search_sql(engine, query, scope, 40)
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0][0]["Plan"]
            part = next(n for n in _nodes(plan) if n.get("Subplan Name") == "CTE p_sort")
            assert part["Node Type"] == "Append" and len(part["Plans"]) == 2
            below = next(n for n in _nodes(plan) if n.get("Subplan Name") == "CTE w_sort")
            # the part's second branch is its walk: the rows below the range (the CTE
            # w_sort), then those from the range's end while they are short
            reads = [
                n
                for walk in (below, part["Plans"][1])
                for n in _nodes(walk)
                if n.get("Relation Name") == "core_search_entry"
            ]
            ran = [n for n in reads if n.get("Actual Loops")]
            assert len(ran) == 2, text  # the page is short below the range here
            assert {(n["Node Type"], n.get("Index Name")) for n in ran} == {
                ("Index Scan", "core_search_entry_title_key")
            }, (text, [(n["Node Type"], n.get("Index Name")) for n in ran])
            assert all("title_key" in n.get("Index Cond", "") for n in ran), text
            read = sum(n["Actual Rows"] + n.get("Rows Removed by Filter", 0) for n in ran)
            assert 0 < read <= outside, (text, read, outside)
    for text in QUERIES:
        assert tiered(alice, text, limit=7) == reference(alice, text, limit=7), text
