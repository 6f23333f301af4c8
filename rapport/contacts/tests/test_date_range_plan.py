"""Sorting people by name within a created range (issue 4 target 3, decision 0033).

SQLite's planner cannot tell a week from three years, so on SQLite a range holding
`WALK_MIN_ROWS` rows or more is written `+created_at` in a query ordered by name: the
name index (which carries created_at) is walked in order instead of sorting the range.
These tests pin the plan on SQLite, that nothing changes on PostgreSQL or in counts,
and that every page holds the same rows either way.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts.entities import PersonEntity
from rapport.contacts.models import Person
from rapport.core import filters, listing
from rapport.core.api.testing import ApiClient, clear_throttle
from rapport.testing.factories import PersonFactory
from rapport.testing.kit import list_with_queries

pytestmark = pytest.mark.django_db

SQLITE = connection.vendor == "sqlite"
START = datetime.datetime(2025, 1, 1, 12, tzinfo=datetime.UTC)
WALKED = '+"contacts_person"."created_at"'
WIDE = {"created_after": "2025-01-02", "created_before": "2025-01-20"}  # 18 days
NARROW = {"created_after": "2025-01-05", "created_before": "2025-01-09"}  # 4 days
SURNAMES = ["Adams", "Бондар", "Łukasz", "adams"]


@pytest.fixture(autouse=True)
def _small_threshold(monkeypatch):
    """Five rows make a wide range here, so a handful of people show both plans."""
    clear_throttle()
    monkeypatch.setattr(filters, "WALK_MIN_ROWS", 5)


@pytest.fixture
def people(alice, carol):
    """24 people, one created per day from START: three in four in alice's team."""
    made = []
    for i in range(24):
        actor = carol if i % 4 == 0 else alice
        made.append(
            PersonFactory(
                actor=actor,
                first_name=f"P{i % 3}",
                last_name=SURNAMES[i % 4],
                emails=[{"address": f"p{i}@example.com"}],
            )
        )
    for i, person in enumerate(made):
        Person.all_objects.filter(pk=person.pk).update(
            created_at=START + datetime.timedelta(days=i)
        )
    return made


def _expected(user, params: dict, *, descending: bool = False) -> list[int]:
    """The reference: everything the user sees, filtered and sorted in Python."""
    after = datetime.datetime.fromisoformat(params["created_after"]).replace(tzinfo=datetime.UTC)
    before = datetime.datetime.fromisoformat(params["created_before"]).replace(tzinfo=datetime.UTC)
    rows = [
        (p.sort_key, p.pk)
        for p in Person.objects.restrict(user, "view")
        if after <= p.created_at < before
    ]
    return [pk for _key, pk in sorted(rows, reverse=descending)]


def _list_queries(user, params: dict) -> tuple[list[str], listing.ListPage]:
    return list_with_queries(PersonEntity, user, params)


def _page_query(sqls: list[str]) -> str:
    (sql,) = [s for s in sqls if "ORDER BY" in s and '"sort_key"' in s.split("ORDER BY")[-1]]
    return sql


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return " | ".join(row[-1] for row in cursor.fetchall())


def test_the_name_indexes_carry_created_at():
    assert filters.walkable_orders(Person, "created_at") == frozenset({"sort_key"})


@pytest.mark.parametrize("ordering", ["name", "-name"])
def test_wide_range_walks_the_name_index_on_sqlite_only(people, alice, ordering):
    sqls, page = _list_queries(alice, {"ordering": ordering, **WIDE})
    sql = _page_query(sqls)
    assert (WALKED in sql) is SQLITE
    assert [row.pk for row in page.rows] == _expected(
        alice, WIDE, descending=ordering.startswith("-")
    )
    if SQLITE:
        plan = _plan(sql)
        assert "person_team_sort_idx" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_narrow_range_is_read_from_the_created_index_and_sorted(people, alice):
    sqls, page = _list_queries(alice, {"ordering": "name", **NARROW})
    sql = _page_query(sqls)
    assert WALKED not in sql
    assert [row.pk for row in page.rows] == _expected(alice, NARROW)
    if SQLITE:
        assert "person_team_created_idx" in _plan(sql)


def test_counts_and_other_orderings_keep_the_plain_column(people, alice):
    sqls, page = _list_queries(alice, {"ordering": "name", **WIDE})
    counts = [s for s in sqls if "COUNT(" in s.upper()]
    assert len(counts) == 1 and all(WALKED not in s for s in counts)
    # created order or an ordering without such an index: no walk, and the list's own
    # capped count instead of the range's
    for ordering in ["-created_at", "email", "birthday"]:
        plain, other = _list_queries(alice, {"ordering": ordering, **WIDE})
        assert all(WALKED not in s for s in plain), ordering
        assert len(plain) == len(sqls), ordering
        assert other.count == page.count, ordering


def test_the_range_alone_is_counted_once_and_exactly(people, alice, monkeypatch):
    """On SQLite the range's probe is the list's count when the range is the only
    filter; with another filter the list counts its own rows."""
    expected = len(_expected(alice, WIDE))
    without, _ = _list_queries(alice, {"ordering": "name"})
    with_range, page = _list_queries(alice, {"ordering": "name", **WIDE})
    assert len(with_range) == len(without)
    assert (page.count.value, page.count.capped) == (expected, False)
    blank = {"tag": "", "owner": "", "q": ""}  # the filter form sends empty fields
    _sqls, same = _list_queries(alice, {"ordering": "name", **WIDE, **blank})
    assert same.count == page.count
    mine, narrowed = _list_queries(alice, {"ordering": "name", "owner": "me", **WIDE})
    assert len(mine) == len(without) + SQLITE
    assert (
        narrowed.count.value
        == len(narrowed.rows)
        == len(
            [pk for pk in _expected(alice, WIDE) if Person.objects.get(pk=pk).owner_id == alice.pk]
        )
    )
    # beyond the cap: "cap+" either way
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    _sqls, capped = _list_queries(alice, {"ordering": "name", **WIDE})
    assert (capped.count.value, capped.count.capped) == (3, True)


def test_trashed_and_foreign_rows_stay_out_of_a_walked_range(people, alice, erin):
    visible = _expected(alice, WIDE)
    Person.all_objects.filter(pk=visible[0]).update(deleted_at=START)
    sqls, page = _list_queries(alice, {"ordering": "name", **WIDE})
    assert (WALKED in _page_query(sqls)) is SQLITE
    assert [row.pk for row in page.rows] == visible[1:]
    assert not {row.pk for row in page.rows} & {p.pk for p in people[::4]}  # carol's team


@pytest.mark.parametrize("window", [WIDE, NARROW], ids=["wide", "narrow"])
@pytest.mark.parametrize("ordering", ["name", "-name"])
def test_api_pages_through_a_range_in_name_order(people, alice, window, ordering):
    client = ApiClient(alice)
    items, cursor, pages = [], None, 0
    while True:
        query = {"ordering": ordering, "limit": 2, **window}
        if cursor:
            query["cursor"] = cursor
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/people", query)
        assert response.status_code == 200, response.content
        body = response.json()
        items += [item["id"] for item in body["items"]]
        pages += 1
        if pages > 1:  # keyset pages after the first walk the same index from the cursor
            (sql,) = [
                q["sql"]
                for q in captured.captured_queries
                if "ORDER BY" in q["sql"] and "contacts_person" in q["sql"]
            ]
            assert (WALKED in sql) is (SQLITE and window is WIDE)
            if SQLITE and window is WIDE:
                assert "person_team_sort_idx (team_id=? AND sort_key" in _plan(sql)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages > 1
    assert items == _expected(alice, window, descending=ordering.startswith("-"))
