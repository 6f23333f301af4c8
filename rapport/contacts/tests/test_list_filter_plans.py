"""The language, source, phone and company filters at any size (decision 0042).

SQLite keeps no histograms, so for `language = 'pl'` it walked the list's order index
and read every row in scope (1.6 s at 1M people). On SQLite a value fewer than
`WALK_MIN_ROWS` rows hold is now read from its own index (`INDEXED BY`, marked rare with
`likelihood`) and sorted; a common value keeps the plain equality and the walk. These
tests pin both plans, the rows either way, the source filter's letter case, and that
PostgreSQL gets the plain equality and the indexes.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from rapport.contacts.entities import CompanyEntity, PersonEntity
from rapport.contacts.models import Company, Person, SecondDomain
from rapport.core import filters, listing, schema_indexes
from rapport.core.api.testing import ApiClient, clear_throttle
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db

SQLITE = connection.vendor == "sqlite"
RARE = "likelihood("
SURNAMES = ["Adams", "Бондар", "Łukasz", "adams", "Zed"]
# 3 Polish speakers (rare with a threshold of 5), 14 Ukrainian ones (common), the rest none
LANGUAGES = ["pl"] * 3 + ["uk"] * 14 + [""] * 7
SOURCES = ["Web Form", "web form", "WEB FORM", "Referral"] + [""] * 20


@pytest.fixture(autouse=True)
def _small_threshold(monkeypatch):
    clear_throttle()
    monkeypatch.setattr(filters, "WALK_MIN_ROWS", 5)


@pytest.fixture
def people(alice, carol):
    """24 people, three in four in alice's team, the rest in carol's."""
    made = []
    for i in range(24):
        person = PersonFactory(
            actor=carol if i % 4 == 3 else alice,
            first_name=f"P{i}",
            last_name=SURNAMES[i % 5],
            emails=[{"address": f"p{i}@example.com"}],
        )
        Person.all_objects.filter(pk=person.pk).update(
            language=LANGUAGES[i], source=SOURCES[(i * 7) % 24]
        )
        made.append(person)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as `rapport migrate` leaves a database: with statistics
    if SQLITE:
        _as_if_a_million(Person._meta.db_table)
    return made


def _as_if_a_million(table: str) -> None:
    """SQLite's statistics for `table` scaled to a million rows spread as these are: the
    plans pinned here are the ones chosen at size, where a walk of an order index through
    every row in scope costs seconds. Over two dozen rows a walk of an index that holds
    every column the conditions read is cheaper than anything, and SQLite rightly takes it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        for index, stat in cursor.fetchall():
            rows, *per_key = (int(word) for word in stat.split() if word.isdigit())
            scale = 1_000_000 / rows
            scaled = [1_000_000, *(1 if n == 1 else round(n * scale) for n in per_key)]
            cursor.execute(
                "UPDATE sqlite_stat1 SET stat = %s WHERE tbl = %s AND idx IS %s",
                [" ".join(str(n) for n in scaled), table, index],
            )
        cursor.execute("ANALYZE sqlite_schema")  # the planner reads them again


def _expected(user, keep) -> list[int]:
    rows = [(p.sort_key, p.pk) for p in Person.objects.restrict(user, "view") if keep(p)]
    return [pk for _key, pk in sorted(rows)]


def _list(user, params: dict) -> tuple[list[str], listing.ListPage]:
    query = QueryDict(mutable=True)
    query.update({"ordering": "name", **params})
    with CaptureQueriesContext(connection) as captured:
        page = listing.entity_list(PersonEntity, user, query)
    assert not page.errors and not page.field_errors, (page.errors, page.field_errors)
    return [q["sql"] for q in captured.captured_queries if "contacts_person" in q["sql"]], page


def _page_query(sqls: list[str]) -> str:
    (sql,) = [s for s in sqls if "ORDER BY" in s and "LIMIT" in s and "COUNT(" not in s]
    return sql


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


def test_a_rare_language_is_read_from_its_index_and_sorted(people, alice):
    sqls, page = _list(alice, {"language": "pl"})
    expected = _expected(alice, lambda p: p.language == "pl")
    assert [row.pk for row in page.rows] == expected and len(expected) == 3
    assert (page.count.value, page.count.capped) == (3, False)
    sql = _page_query(sqls)
    assert (RARE in sql) is SQLITE
    if SQLITE:
        assert 'INDEXED BY "person_language_idx"' in sql
        plan = _plan(sql)
        assert "person_language_idx" in plan and "person_team_sort_idx" not in plan, plan


def test_a_common_language_keeps_the_walk_in_name_order(people, alice):
    sqls, page = _list(alice, {"language": "uk"})
    assert [row.pk for row in page.rows] == _expected(alice, lambda p: p.language == "uk")
    sql = _page_query(sqls)
    assert RARE not in sql
    if SQLITE:
        assert "person_team_sort_idx" in _plan(sql)


def test_a_language_nobody_speaks_is_an_empty_page_without_a_scan(people, alice):
    sqls, page = _list(alice, {"language": "xx"})
    assert page.rows == [] and page.count.value == 0
    if SQLITE:
        plan = _plan(_page_query(sqls))
        assert "SCAN contacts_person" not in plan and "person_team_sort_idx" not in plan, plan


def test_source_matches_in_any_letter_case_from_its_index(people, alice):
    for asked in ["web form", "WEB FORM", "Web Form"]:
        sqls, page = _list(alice, {"source": asked})
        expected = _expected(alice, lambda p: p.source.lower() == "web form")
        assert [row.pk for row in page.rows] == expected and expected, asked
        sql = _page_query(sqls)
        assert (RARE in sql) is SQLITE
        if SQLITE:
            assert "person_source_idx" in _plan(sql)
    _sqls, none = _list(alice, {"source": "web"})  # whole values, not a prefix
    assert none.rows == []


def test_other_filters_and_scope_still_apply(people, alice, carol):
    _sqls, mine = _list(alice, {"language": "pl", "owner": "me"})
    assert [row.pk for row in mine.rows] == _expected(
        alice, lambda p: p.language == "pl" and p.owner_id == alice.pk
    )
    _sqls, theirs = _list(carol, {"language": "pl"})
    assert {row.pk for row in theirs.rows}.isdisjoint({row.pk for row in mine.rows})
    assert [row.pk for row in theirs.rows] == _expected(carol, lambda p: p.language == "pl")


def test_a_trashed_person_stays_out_of_a_rare_value(people, alice):
    first = _expected(alice, lambda p: p.language == "pl")[0]
    Person.all_objects.filter(pk=first).update(deleted_at=people[0].created_at)
    _sqls, page = _list(alice, {"language": "pl"})
    assert first not in [row.pk for row in page.rows] and len(page.rows) == 2


@pytest.mark.parametrize("params", [{"language": "pl"}, {"language": "uk"}, {"source": "WEB FORM"}])
def test_the_api_pages_through_either_plan(people, alice, params):
    client = ApiClient(alice)
    items, cursor = [], None
    while True:
        query = {"ordering": "name", "limit": 2, **params}
        if cursor:
            query["cursor"] = cursor
        response = client.get("/people", query)
        assert response.status_code == 200, response.content
        body = response.json()
        items += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    key, value = next(iter(params.items()))
    assert items == _expected(alice, lambda p: getattr(p, key).lower() == value.lower())


def test_the_filter_indexes_exist():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Person._meta.db_table)
    assert constraints["person_language_idx"]["columns"] == ["language"]
    assert "person_source_idx" in constraints
    if not SQLITE:
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'person_source_idx'")
            assert "lower((source)::text)" in cursor.fetchone()[0]


@pytest.fixture
def callers(alice):
    numbers = ["+380671234567", "+48601234567", "+380501234567", "+12025550123"]
    return [
        PersonFactory(
            actor=alice,
            first_name=f"Caller{i}",
            last_name="Phone",
            phones=[{"number": number}],
        )
        for i, number in enumerate(numbers)
    ]


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        ("067 123 45 67", [0]),  # national form: the last nine digits of +380671234567
        ("+380 67 123 4567", [0]),
        ("(0)601-234-567", [1]),
        ("1234567", [0, 1, 2]),  # fewer than nine digits: any number ending with them
        ("0123", [3]),
        ("4567", [0, 1, 2]),
        ("55 0123", [3]),
        ("99 4567", []),  # the last four match, the rest does not
    ],
)
def test_phone_filter_matches_the_number_s_last_digits(callers, alice, typed, wanted):
    sqls, page = _list(alice, {"phone": typed})
    assert sorted(row.pk for row in page.rows) == sorted(callers[i].pk for i in wanted)
    if SQLITE:  # nine digits or more by the last nine, fewer by the last four
        (sql,) = [s for s in sqls if "ORDER BY" in s and "LIMIT" in s and "phonenumber" in s]
        index = (
            "phone_tail_idx" if len([c for c in typed if c.isdigit()]) >= 9 else "phone_tail4_idx"
        )
        plan = _plan(sql)
        assert f"USING INDEX {index}" in plan and "SCAN contacts_phonenumber" not in plan, plan


def test_the_phone_tail_index_is_the_expression_the_filter_compares():
    with connection.cursor() as cursor:
        if SQLITE:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'phone_tail_idx'")
            assert 'SUBSTR("number", -9)' in cursor.fetchone()[0]
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'phone_tail_idx'")
            assert '"right"((number)::text, 9)' in cursor.fetchone()[0]
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'phone_tail4_idx'")
            assert '"right"((number)::text, 4)' in cursor.fetchone()[0]
    if SQLITE:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'phone_tail4_idx'")
            assert 'SUBSTR("number", -4)' in cursor.fetchone()[0]


@pytest.fixture
def firms(alice, carol):
    parent = CompanyFactory(actor=alice, name="Holding")
    made = []
    for i in range(12):
        firm = CompanyFactory(actor=carol if i % 4 == 3 else alice, name=f"Firm {i:02d}")
        Company.all_objects.filter(pk=firm.pk).update(
            industry=["Mining", "mining", "Retail"][i % 3] if i < 6 else "Software",
            parent_id=parent.pk if i in (2, 5, 7) else None,
        )
        made.append(firm)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return parent, made


def _company_list(user, params: dict):
    query = QueryDict(mutable=True)
    query.update({"ordering": "name", **params})
    with CaptureQueriesContext(connection) as captured:
        page = listing.entity_list(CompanyEntity, user, query)
    assert not page.errors and not page.field_errors, (page.errors, page.field_errors)
    sqls = [q["sql"] for q in captured.captured_queries if "contacts_company" in q["sql"]]
    (sql,) = [s for s in sqls if "ORDER BY" in s and "LIMIT" in s and "COUNT(" not in s]
    return sql, page


def _companies(user, keep) -> list[int]:
    rows = [(c.sort_key, c.pk) for c in Company.objects.restrict(user, "view") if keep(c)]
    return [pk for _key, pk in sorted(rows)]


def test_company_industry_in_any_case_and_parent_read_their_indexes(firms, alice):
    parent, _made = firms
    sql, page = _company_list(alice, {"industry": "MINING"})
    assert [r.pk for r in page.rows] == _companies(alice, lambda c: c.industry.lower() == "mining")
    assert page.rows and (RARE in sql) is SQLITE
    if SQLITE:
        assert "company_industry_idx" in _plan(sql)
    sql, page = _company_list(alice, {"parent": str(parent.pk)})
    assert [r.pk for r in page.rows] == _companies(alice, lambda c: c.parent_id == parent.pk)
    assert page.rows and (RARE in sql) is SQLITE
    if SQLITE:
        plan = _plan(sql)
        assert "parent_id" in plan and "company_team_sort_idx" not in plan, plan
    sql, page = _company_list(alice, {"industry": "software"})  # common: the walk
    assert [r.pk for r in page.rows] == _companies(alice, lambda c: c.industry == "Software")
    assert RARE not in sql


def test_equal_names_a_foreign_key_s_index_and_keeps_a_plain_column_plain(firms, alice):
    parent, _made = firms
    name = schema_indexes.field_index_name(connection, Company, "parent")
    assert name and "parent" in name
    assert schema_indexes.field_index_name(connection, Person, "job_title") is None
    plain = filters.equal(Person.objects.all(), F("job_title"), "Engineer")  # no index
    assert RARE not in str(plain.query)
    assert list(plain) == list(Person.objects.filter(job_title="Engineer"))
    children = filters.equal(Company.objects.all(), F("parent"), parent.pk)
    assert (RARE in str(children.query)) is SQLITE
    assert sorted(c.pk for c in children) == sorted(
        Company.objects.filter(parent=parent).values_list("pk", flat=True)
    )


@pytest.fixture
def domained(alice, carol):
    """Companies with one domain, several (the asked one first, later, or as a longer
    name's part) and none; one in carol's team, one in the trash."""
    lists = [
        ["acme.com"],
        ["acme.co.uk", "acme.com"],
        ["old-acme.com", "acme.net"],
        ["notacme.com", "acme.com.ua"],
        [],
        ["ACME.com"],  # stored by hand in another case: the filter compares normalised
    ]
    made = []
    for i, domains in enumerate(lists * 2):
        firm = CompanyFactory(actor=carol if i == 7 else alice, name=f"Domain {i:02d}")
        Company.all_objects.filter(pk=firm.pk).update(
            domains=domains, primary_domain=domains[0] if domains else ""
        )
        made.append(firm)
    Company.all_objects.filter(pk=made[6].pk).update(deleted_at="2026-01-01T00:00:00Z")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        _company_statistics_as_at_scale(cursor)
    return made


@pytest.mark.parametrize("typed", ["acme.com", "https://www.ACME.com/about", "acme.net"])
def test_company_domain_filter_reads_first_and_other_domains_from_indexes(domained, alice, typed):
    from rapport.contacts.services import normalize_domain

    wanted = normalize_domain(typed)
    sql, page = _company_list(alice, {"domain": typed})
    expected = _companies(alice, lambda c: wanted in c.domains)
    assert [r.pk for r in page.rows] == expected and expected
    assert (RARE in sql) is SQLITE
    if SQLITE:
        plan = _plan(sql)
        assert "company_second_domain_idx" in plan, plan
        assert "primary_domain" in plan and "company_team_sort_idx" not in plan, plan


def test_the_second_domain_index_holds_only_companies_with_more_than_one(domained):
    with_more = Company.all_objects.alias(second=SecondDomain("domains")).filter(second__gt="")
    assert sorted(with_more.values_list("pk", flat=True)) == sorted(
        c.pk for c in domained if len(Company.all_objects.get(pk=c.pk).domains) > 1
    )
    with connection.cursor() as cursor:
        if SQLITE:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'company_second_domain_idx'")
            assert "json_extract(\"domains\", '$[1]')" in cursor.fetchone()[0]
        else:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'company_second_domain_idx'"
            )
            assert "(domains ->> 1)" in cursor.fetchone()[0]


def _company_statistics_as_at_scale(cursor) -> None:
    """On SQLite, the statistics of 100,000 companies in 3 teams, as at 1M people: the
    planner's choices at scale, pinned on a dozen rows."""
    if not SQLITE:
        return
    for index, stat in (  # the bench's L database, with real industries and domains
        ("company_team_sort_idx", "100000 20000 1 1"),
        ("company_team_updated_idx", "100000 20000 20000 1"),
        ("company_owner_sort_idx", "100000 2000 1 1"),
        ("company_owner_updated_idx", "100000 2000 2000 1"),
        ("company_sort_idx", "100000 1 1"),
        ("company_updated_idx", "100000 1 1"),
        ("company_created_idx", "100000 1 1"),
        ("contacts_company_primary_domain_d1f8901e", "100000 2"),
        ("company_second_domain_idx", "100000 100000"),  # NULL for most
        ("company_industry_idx", "100000 500"),
        ("company_industry_sort_idx", "100000 500 1"),
    ):
        cursor.execute(
            "UPDATE sqlite_stat1 SET stat = %s WHERE tbl = 'contacts_company' AND idx = %s",
            [stat, index],
        )
    cursor.execute(
        "UPDATE sqlite_stat1 SET stat = '100000' WHERE tbl = 'contacts_company' AND idx IS NULL"
    )
    cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl IN ('accounts_team', 'accounts_user')")
    cursor.execute(
        "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES "
        "('accounts_team', 'sqlite_autoindex_accounts_team_1', '5 1'), "
        "('accounts_user', 'sqlite_autoindex_accounts_user_1', '51 1')"
    )
    cursor.execute("ANALYZE sqlite_schema")  # read the statistics again


@pytest.mark.parametrize("ordering", ["industry", "-industry"])
def test_companies_sorted_by_industry_walk_its_index(firms, alice, ordering):
    with connection.cursor() as cursor:
        _company_statistics_as_at_scale(cursor)
    sql, page = _company_list(alice, {"ordering": ordering})
    rows = [(c.industry, c.pk) for c in Company.objects.restrict(alice, "view")]
    expected = [pk for _industry, pk in sorted(rows, reverse=ordering.startswith("-"))]
    assert [r.pk for r in page.rows] == expected
    if SQLITE:
        plan = _plan(sql)
        assert "company_industry_sort_idx" in plan and "TEMP B-TREE" not in plan, (plan, sql)
