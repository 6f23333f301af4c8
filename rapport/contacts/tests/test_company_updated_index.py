"""Companies most recently updated first come from an index (migration contacts.0009):
the dashboard's recent companies and the company list sorted by `-updated_at` read
the team's (or owner's, or everyone's) companies in that order instead of sorting them."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from rapport.contacts.entities import CompanyEntity
from rapport.contacts.models import Company
from rapport.core import listing, selectors
from rapport.testing.factories import CompanyFactory

pytestmark = pytest.mark.django_db

SQLITE = connection.vendor == "sqlite"
START = datetime.datetime(2025, 1, 1, 12, tzinfo=datetime.UTC)


@pytest.fixture
def companies(alice, carol):
    made = []
    for i in range(12):
        company = CompanyFactory(actor=carol if i % 3 == 0 else alice, name=f"Firm {i:02d}")
        # updated in an order unlike their names or ids
        Company.all_objects.filter(pk=company.pk).update(
            updated_at=START + datetime.timedelta(hours=(i * 5) % 12)
        )
        made.append(company)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return made


def _newest(user) -> list[int]:
    rows = [(c.updated_at, c.pk) for c in Company.objects.restrict(user, "view")]
    return [pk for _at, pk in sorted(rows, reverse=True)]


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


def test_the_dashboard_reads_recent_companies_in_index_order(companies, alice):
    with CaptureQueriesContext(connection) as captured:
        summaries = selectors.entity_summaries(alice)
    (summary,) = [s for s in summaries if s["entity"] is CompanyEntity]
    assert [row.pk for row, _url in summary["recent"]] == _newest(alice)[:5]
    if SQLITE:
        (sql,) = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].startswith('SELECT "contacts_company"') and "ORDER BY" in q["sql"]
        ]
        plan = _plan(sql)
        assert "company_team_updated_idx" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize(
    ("params", "index"),
    [({}, "company_team_updated_idx"), ({"owner": "me"}, "company_owner_updated_idx")],
)
def test_the_company_list_by_updated_walks_its_index(companies, alice, params, index):
    query = QueryDict(mutable=True)
    query.update({"ordering": "-updated_at", **params})
    with CaptureQueriesContext(connection) as captured:
        page = listing.entity_list(CompanyEntity, alice, query)
    expected = [
        pk for pk in _newest(alice) if not params or Company.objects.get(pk=pk).owner_id == alice.pk
    ]
    assert [row.pk for row in page.rows] == expected
    if SQLITE:
        (sql,) = [
            q["sql"]
            for q in captured.captured_queries
            if "contacts_company" in q["sql"] and "LIMIT 51" in q["sql"]
        ]
        plan = _plan(sql)
        assert index in plan and "TEMP B-TREE" not in plan, plan
