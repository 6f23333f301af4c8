"""The list's text filter (`q`) on a page of many matches (issue 4, decision 0047).

A page ordered by an indexed column asks each row's search entry whether it matches
(`EXISTS`), walking the order's index, once the matches are so many that listing them
all would cost more; counts, exports and unindexed orders list the matches. These tests
make a handful of people count as "many" (a tiny walk cost) and pin that the walk
answers exactly what the listing answers, in every order, page by page, in scope.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from rapport.contacts.entities import CompanyEntity, PersonEntity
from rapport.contacts.models import Person
from rapport.core import filters, listing, search
from rapport.core.api.testing import ApiClient, clear_throttle
from rapport.core.searchbackends import SearchQuery, backend_for
from rapport.core.text import fold
from rapport.testing.factories import CompanyFactory, PersonFactory
from rapport.testing.kit import list_with_queries

pytestmark = pytest.mark.django_db

WALKED = "EXISTS (SELECT 1 FROM core_search_entry w"
LISTED = "IN (SELECT e.object_id"
INDEX_COUNT = "SELECT count(*) FROM (SELECT 1 FROM core_search_fts f"
SQLITE = connection.vendor == "sqlite"
# a page of few matches: SQLite lists them in a subquery; PostgreSQL reads them first
# and takes their ids as a value, so its planner knows how few they are
LISTED_PAGE = LISTED if SQLITE else "= ANY("
SURNAMES = ["Ivanova", "Smith", "Petrova", "Kovalenko", "Ovanesian", "Шевченко"]
ORDERINGS = ["name", "-name", "-created_at", "created_at", "email", "-updated_at"]


@pytest.fixture(autouse=True)
def _fresh_throttle():
    clear_throttle()


@pytest.fixture
def many(monkeypatch):
    """Any number of matches counts as many: pages walk."""
    monkeypatch.setattr(type(backend_for(connection)), "walk_cost", 1e-9)


@pytest.fixture
def few(monkeypatch):
    """No number of matches counts as many: every query lists."""
    monkeypatch.setattr(type(backend_for(connection)), "walk_cost", 1e9)


@pytest.fixture
def people(alice, carol, django_capture_on_commit_callbacks):
    """30 people, three in four in alice's team; "ova" is in four of six surnames."""
    made = []
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(30):
            made.append(
                PersonFactory(
                    actor=carol if i % 4 == 0 else alice,
                    first_name=f"Name{i % 7}",
                    last_name=SURNAMES[i % len(SURNAMES)],
                    emails=[{"address": f"p{i}@example.com"}],
                )
            )
    return made


def _expected(user, term: str, ordering: str) -> list[int]:
    """The reference, in Python: what the user sees whose name holds the term, sorted."""
    key = {
        "name": lambda p: (p.sort_key, p.pk),
        "created_at": lambda p: (p.created_at, p.pk),
        "email": lambda p: (p.primary_email, p.pk),
        "updated_at": lambda p: (p.updated_at, p.pk),
    }[ordering.lstrip("-")]
    rows = [
        p
        for p in Person.objects.restrict(user, "view")
        if fold(term) in fold(f"{p.first_name} {p.last_name}")
    ]
    return [p.pk for p in sorted(rows, key=key, reverse=ordering.startswith("-"))]


def _list(user, params: dict) -> tuple[list[str], listing.ListPage]:
    return list_with_queries(PersonEntity, user, params)


def _page_query(sqls: list[str]) -> str:
    (sql,) = [s for s in sqls if "ORDER BY" in s and not s.upper().startswith("SELECT COUNT(")]
    return sql


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_a_page_of_many_matches_walks_and_shows_what_the_listing_shows(
    people, alice, monkeypatch, ordering
):
    cost = type(backend_for(connection))
    monkeypatch.setattr(cost, "walk_cost", 1e-9)
    sqls, walked = _list(alice, {"q": "ova", "ordering": ordering})
    assert WALKED in _page_query(sqls) and LISTED not in _page_query(sqls)
    monkeypatch.setattr(cost, "walk_cost", 1e9)
    sqls, listed = _list(alice, {"q": "ova", "ordering": ordering})
    assert LISTED_PAGE in _page_query(sqls) and WALKED not in _page_query(sqls)
    expected = _expected(alice, "ova", ordering)
    assert len(expected) == 12  # Ivanova, Petrova, Ovanesian, Kovalenko in alice's team
    assert [row.pk for row in walked.rows] == [row.pk for row in listed.rows] == expected
    assert walked.count == listed.count


def test_counts_and_unindexed_orders_never_walk(people, alice, many):
    sqls, page = _list(alice, {"q": "ova", "ordering": "name"})
    (count,) = [s for s in sqls if "COUNT(" in s.upper()]
    assert WALKED not in count
    # SQLite counts from the index's side (see below); PostgreSQL counts the listing
    assert (INDEX_COUNT in count) is SQLITE and (LISTED in count) is not SQLITE
    assert (page.count.value, page.count.capped) == (12, False)
    # birthday has no index to walk: a page lists, and sorts what it listed
    qs = search.filter_queryset(Person.objects.restrict(alice, "view"), "ova")
    by_birthday = qs.order_by("birthday", "id")[:51]
    assert LISTED in str(by_birthday.query) and WALKED not in str(by_birthday.query)
    assert sorted(p.pk for p in by_birthday) == sorted(_expected(alice, "ova", "name"))


def test_unsliced_and_long_queries_list_the_matches(people, alice, many):
    """An export or a bulk action reads every match (no LIMIT), and a long page would
    walk far: both list."""
    qs = search.filter_queryset(Person.objects.restrict(alice, "view"), "ova").order_by(
        "sort_key", "id"
    )
    for query in (qs, qs[: search.WALK_MAX_LIMIT + 1]):
        sql = str(query.query)
        assert LISTED in sql and WALKED not in sql
    assert WALKED in str(qs[: search.WALK_MAX_LIMIT].query)
    assert [p.pk for p in qs] == _expected(alice, "ova", "name")


def test_few_matches_list_them(people, alice, few):
    sqls, page = _list(alice, {"q": "ova", "ordering": "name"})
    assert LISTED_PAGE in _page_query(sqls)
    assert [row.pk for row in page.rows] == _expected(alice, "ova", "name")


def test_more_matches_than_a_page_lists_go_as_a_subquery(people, alice, few, monkeypatch):
    engine = type(backend_for(connection))
    ids = engine.listed_ids
    found = ids(backend_for(connection), SearchQuery.parse("ova"), "person", 100)
    assert (
        found is None
        if SQLITE
        else sorted(found) == sorted(p.pk for p in people if "ova" in fold(p.last_name))
    )
    if not SQLITE:  # more than the bound: none, and the subquery instead
        assert ids(backend_for(connection), SearchQuery.parse("ova"), "person", 19) is None
    monkeypatch.setattr(engine, "listed_ids", lambda *args: None)
    sqls, page = _list(alice, {"q": "ova", "ordering": "-created_at"})
    assert LISTED in _page_query(sqls)
    assert [row.pk for row in page.rows] == _expected(alice, "ova", "-created_at")


def test_matches_read_as_ids_are_only_those_the_user_may_see(people, alice, carol, few):
    """PostgreSQL reads few matches as ids first: only those whose entry's copy of the
    scope the user sees ("ack" at 1M: 5,800 ids, 1,600 in a team), and the page and
    count are what the scope allows either way."""
    for user in (alice, carol):
        expected = _expected(user, "ova", "name")
        sqls, page = _list(user, {"q": "ova", "ordering": "name"})
        assert [row.pk for row in page.rows] == expected
        assert (page.count.value, page.count.capped) == (len(expected), False)
        if SQLITE:
            assert LISTED in _page_query(sqls)
            continue
        sent = re.search(r"= ANY\('\{([0-9,]*)\}'", _page_query(sqls)).group(1)
        assert sorted(int(i) for i in sent.split(",")) == sorted(expected)
    found = backend_for(connection).listed_ids(SearchQuery.parse("ova"), "person", 100)
    assert SQLITE or len(found) == sum("ova" in fold(p.last_name) for p in people) > 12


def test_the_matches_in_scope_are_read_from_the_index_that_holds_the_scope(people, alice, carol):
    """The user's copy of the scope is compared in the copy's own type, so on
    PostgreSQL the trigram index, which holds team and owner (decision 0051), answers
    "these matches in these teams" itself: the entries of other teams are never read.
    The ids listed are the user's matches either way."""
    engine = backend_for(connection)
    query = SearchQuery.parse("ova")
    match_sql, match_params = engine.source(query, "e")[1:]
    for user in (alice, carol):
        kept, kept_params = search._entry_scope(user, PersonEntity, "e", engine)
        assert kept and kept_params, "a rep's scope is copied on the entries"
        visible = Person.objects.restrict(user, "view")
        mine = {p.pk for p in visible if "ova" in fold(p.last_name)}
        assert (
            set(search.filter_queryset(visible, "ova", user).values_list("pk", flat=True)) == mine
        )
        assert 0 < len(mine) < len(people)
        if SQLITE:  # FTS5 holds no scope; the entry's copy is tested on its row
            assert all(type(value) is int for value in kept_params)
            continue
        found = engine.listed_ids(query, "person", 100, (kept, kept_params))
        assert set(found) == mine
        assert all(type(value).__name__ == "Int8" for value in kept_params)
        with connection.cursor() as cursor:
            # a table this small is read whole, or by the entity's own index, at any
            # other cost: the question is which conditions the trigram index answers
            cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
            cursor.execute(
                f"EXPLAIN SELECT e.object_id FROM core_search_entry e WHERE {match_sql} "  # noqa: S608
                f"AND ({kept})",
                [*match_params, *kept_params],
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
        conditions = [line for line in plan.splitlines() if "Index Cond" in line]
        assert "core_search_entry_trgm_scope" in plan, plan
        assert any("team_id" in line and "body" in line for line in conditions), plan


def test_a_first_page_that_lists_the_matches_counts_them_as_it_reads_them(
    people, alice, carol, few, monkeypatch
):
    """The matches listed (or read as ids) are every row the page sorts: the page's own
    statement counts them (`COUNT(*) OVER ()`, decision 0050), with no second statement;
    beyond the cap the exact number is the estimate. A later page, and a page that
    walks, are counted apart: they do not read every row."""
    for user in (alice, carol):
        sqls, page = _list(user, {"q": "ova", "ordering": "-created_at"})
        expected = _expected(user, "ova", "-created_at")
        assert [row.pk for row in page.rows] == expected
        assert (page.count.value, page.count.capped) == (len(expected), False)
        assert not [s for s in sqls if s.upper().startswith("SELECT COUNT(")], sqls
        assert "OVER ()" in _page_query(sqls)
        assert not any(hasattr(row, listing.PAGE_TOTAL) for row in page.rows)
    monkeypatch.setattr(listing, "COUNT_CAP", 5)
    _sqls, page = _list(alice, {"q": "ova", "ordering": "name"})
    assert (page.count.value, page.count.capped, page.count.estimate) == (5, True, 12)
    _sqls, empty = _list(alice, {"q": "zzqx", "ordering": "name"})
    assert (empty.rows, empty.count.value, empty.count.capped) == ([], 0, False)


def test_a_counted_first_page_sorts_ids_and_reads_the_columns_of_its_own_rows(
    people, alice, carol, few
):
    """Decision 0052: the statement that sorts and counts every match selects ids alone,
    with no company or owner joined; the shown columns come from a second statement
    that reads the page's rows by id, in the user's scope."""
    acme = CompanyFactory(actor=alice, name="Acme Ovations")
    Person.objects.filter(pk__in=_expected(alice, "ova", "name")[:3]).update(company=acme)
    for user in (alice, carol):
        sqls, page = _list(user, {"q": "ova", "ordering": "-created_at"})
        expected = _expected(user, "ova", "-created_at")
        assert [row.pk for row in page.rows] == expected
        assert page.count.value == len(expected)
        (counted,) = [s for s in sqls if "OVER ()" in s]
        assert "contacts_company" not in counted and "accounts_user" not in counted
        (shown,) = [s for s in sqls if "OVER ()" not in s and "contacts_company" in s]
        assert LISTED not in shown and "= ANY(" not in shown  # by id, not matched again
        assert f'"contacts_person"."team_id" IN ({user.primary_team_id})' in shown
        people_by_pk = Person.objects.select_related("owner", "company").in_bulk(expected)
        for row in page.rows:
            person = people_by_pk[row.pk]
            assert row.company == (person.company.name if person.company else "")
            assert row.owner == (person.owner.get_full_name() or person.owner.username)
    assert {row.company for row in _list(alice, {"q": "ova"})[1].rows} == {"", "Acme Ovations"}


@pytest.mark.parametrize("cost", [1e9, 1e-9], ids=["listed", "walked"])
def test_the_company_list_counts_its_matches_either_way(
    alice, cost, monkeypatch, django_capture_on_commit_callbacks
):
    """Companies are read as model instances, not values: the page's count comes off
    them as well, and a walked page is counted apart."""
    monkeypatch.setattr(type(backend_for(connection)), "walk_cost", cost)
    with django_capture_on_commit_callbacks(execute=True):
        made = [CompanyFactory(actor=alice, name=f"Ovation {i}") for i in range(3)]
        CompanyFactory(actor=alice, name="Other")
    sqls, page = list_with_queries(CompanyEntity, alice, {"q": "ova", "ordering": "name"})
    assert [row.pk for row in page.rows] == [c.pk for c in made]
    assert (page.count.value, page.count.capped) == (3, False)
    (page_sql,) = [s for s in sqls if s.startswith('SELECT "contacts_company"') and "LIMIT" in s]
    assert ("OVER ()" in page_sql) is (cost > 1)
    assert not any(listing.PAGE_TOTAL in vars(row) for row in page.rows)


def test_later_pages_and_walks_are_counted_apart(people, alice, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 5)
    query = QueryDict(mutable=True)
    query.update({"q": "ova", "ordering": "name"})
    first = listing.entity_list(PersonEntity, alice, query, limit=5)
    assert first.next_cursor and first.count.value == 12
    query["cursor"] = first.next_cursor
    with CaptureQueriesContext(connection) as captured:
        second = listing.entity_list(PersonEntity, alice, query, limit=5)
    sqls = [q["sql"] for q in captured.captured_queries if "contacts_person" in q["sql"]]
    assert [row.pk for row in second.rows] == _expected(alice, "ova", "name")[5:10]
    assert second.count.value == 12 and "OVER ()" not in _page_query(sqls)
    monkeypatch.setattr(type(backend_for(connection)), "walk_cost", 1e-9)
    sqls, walked = _list(alice, {"q": "ova", "ordering": "name"})
    assert WALKED in _page_query(sqls) and "OVER ()" not in _page_query(sqls)
    assert walked.count.value == 12


def test_a_walk_keeps_to_the_scope_and_leaves_trashed_rows_out(people, alice, carol, many):
    mine = _expected(alice, "ova", "name")
    Person.all_objects.filter(pk=mine[0]).update(deleted_at=people[0].created_at)
    sqls, page = _list(alice, {"q": "ova", "ordering": "name"})
    assert WALKED in _page_query(sqls)
    assert [row.pk for row in page.rows] == mine[1:]
    _sqls, theirs = _list(carol, {"q": "ova", "ordering": "name"})
    assert [row.pk for row in theirs.rows] == _expected(carol, "ova", "name")
    assert not {row.pk for row in theirs.rows} & set(mine)


@pytest.mark.parametrize("ordering", ["name", "-created_at", "email"])
def test_api_pages_walk_from_the_cursor(people, alice, many, ordering):
    client = ApiClient(alice)
    items, cursor, pages = [], None, 0
    while True:
        query = {"q": "ova", "ordering": ordering, "limit": 4}
        if cursor:
            query["cursor"] = cursor
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/people", query)
        assert response.status_code == 200, response.content
        (sql,) = [
            q["sql"]
            for q in captured.captured_queries
            if "ORDER BY" in q["sql"] and "contacts_person" in q["sql"]
        ]
        assert WALKED in sql
        body = response.json()
        items += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert items == _expected(alice, "ova", ordering)


def test_two_terms_and_short_terms_walk_to_the_same_answer(people, alice, monkeypatch):
    cost = type(backend_for(connection))
    for text in ("ivanova name6", "ova na", "petrova"):
        answers = []
        for walk_cost in (1e-9, 1e9):
            monkeypatch.setattr(cost, "walk_cost", walk_cost)
            _sqls, page = _list(alice, {"q": text, "ordering": "name"})
            answers.append([row.pk for row in page.rows])
        assert answers[0] == answers[1], text
        assert answers[0], text


def test_the_engine_counts_matches_up_to_the_cap(people):
    engine = backend_for(connection)
    entries = engine.entry_count()
    assert entries >= 30
    query = SearchQuery.parse("ova")
    assert engine.match_count(query, 1000, entries=entries) == 20  # both teams
    assert engine.match_count(query, 7, entries=entries) == 7
    assert engine.match_count(SearchQuery.parse("zzq"), 1000, entries=entries) == 0
    assert engine.match_count(SearchQuery.parse("iv"), 1000, entries=entries) is None


@pytest.mark.parametrize("text", ["ova", "kovalenko", "ivanova name6", "ova na", "zzq", "o"])
def test_the_count_from_the_index_is_the_lists_count(people, alice, carol, admin, text):
    """`count_matches` (SQLite) reads the index's matches and asks the list's own base
    queryset about each: the same number as counting the filtered list, capped."""
    for user in (alice, carol, admin):
        base = Person.objects.restrict(user, "view")
        listed = search.filter_queryset(base, text).count()
        counted = search.count_matches(base, text, 1000)
        assert counted == (listed if SQLITE else None), (text, user)
        if SQLITE and listed > 2:
            assert search.count_matches(base, text, 2) == 3
    trashed = search.filter_queryset(Person.objects.restrict(alice, "view"), "ova").first()
    Person.all_objects.filter(pk=trashed.pk).update(deleted_at=trashed.created_at)
    base = Person.objects.restrict(alice, "view")
    assert search.count_matches(base, "ova", 1000) == (11 if SQLITE else None)


def test_only_the_text_filter_alone_is_counted_from_the_index(people, alice, monkeypatch):
    sqls, page = _list(alice, {"q": "ova", "owner": "me", "ordering": "name"})
    (count,) = [s for s in sqls if "COUNT(" in s.upper()]
    assert INDEX_COUNT not in count
    expected = [
        pk
        for pk in _expected(alice, "ova", "name")
        if Person.objects.get(pk=pk).owner_id == alice.pk
    ]
    assert page.count.value == len(expected) == len(page.rows)
    monkeypatch.setattr(listing, "COUNT_CAP", 5)
    _sqls, capped = _list(alice, {"q": "ova", "ordering": "name"})
    assert (capped.count.value, capped.count.capped) == (5, True)


def test_the_orders_a_page_can_walk_are_those_an_index_leads():
    leads = filters.indexed_leads(Person)
    assert {"id", "sort_key", "created_at", "primary_email", "updated_at"} <= leads
    assert "birthday" not in leads


def test_every_index_a_page_walks_holds_what_the_walk_tests_before_the_row():
    """A walk tests each index entry's trash mark and then its search entry: with
    deleted_at in the index, SQLite reads the person's row only once both pass (at 1M,
    "chen" by name 130 -> 79 ms; decision 0049). So every index that leads with one of
    the list's orders, for everyone, a team or an owner, ends in deleted_at."""
    orders = {fields[0].lstrip("-") for fields in PersonEntity.orderings.values()}
    walked = []
    for index in Person._meta.indexes:
        names = [name.lstrip("-") for name in index.fields]
        lead = names[1] if names and names[0] in ("team", "owner") and len(names) > 1 else None
        if names and (names[0] in orders or lead in orders) and names[0] != "birthday":
            walked.append(index.name)
            assert names[-1] == "deleted_at", index.name
    assert len(walked) == 12, walked  # name, created, updated, email x everyone, team, owner


def test_postgresql_plans_the_list_for_the_typed_text_and_then_as_before():
    """On PostgreSQL the statements inside are planned for their values, and the
    setting is back afterwards, after an error too; on SQLite nothing is sent."""
    if SQLITE:
        with CaptureQueriesContext(connection) as captured, search.planned_for_values():
            pass
        assert captured.captured_queries == []
        return

    def mode() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW plan_cache_mode")
            return cursor.fetchone()[0]

    before = mode()
    with search.planned_for_values():
        assert mode() == "force_custom_plan"
        with search.planned_for_values():  # nested: the outer one resets
            assert mode() == "force_custom_plan"
        assert mode() == "force_custom_plan"
    assert mode() == before
    with pytest.raises(ZeroDivisionError), search.planned_for_values():
        assert mode() == "force_custom_plan"
        raise ZeroDivisionError
    assert mode() == before
    # nothing prepared (a pooler in transaction mode): nothing is set
    raw = connection.connection
    threshold, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        with CaptureQueriesContext(connection) as captured, search.planned_for_values():
            assert mode() == before
        assert len(captured.captured_queries) == 1  # the SHOW alone
    finally:
        raw.prepare_threshold = threshold
    # a failed statement aborts the transaction: the rollback that follows resets it
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        with search.planned_for_values(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    assert mode() == before
