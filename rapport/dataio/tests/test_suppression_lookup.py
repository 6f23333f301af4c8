"""The suppression lookup: one statement by the unique (kind, digest) index, whatever the
number of values, and a digest only counts under its own kind."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.dataio import suppression
from rapport.dataio.models import Suppression

pytestmark = pytest.mark.django_db


def test_each_kind_is_found_under_its_own_kind_only():
    suppression.suppress(emails=["Gone@Example.com"], phones=["+380671234567"])
    # The same text under the other kind is another digest; a row forged with the email's
    # digest under "phone" is still no suppressed phone.
    Suppression.objects.create(kind="phone", digest=suppression.digest("email", "x@example.com"))
    emails, phones = suppression.suppressed_values(
        emails=["gone@example.com", "x@example.com", "+380671234567"],
        phones=["+380671234567", "gone@example.com", "+380500000000"],
    )
    assert emails == {"gone@example.com"}
    assert phones == {"+380671234567"}


def test_a_thousand_values_cost_one_statement():
    numbers = [f"+3806700{i:05d}" for i in range(1000)]
    suppression.suppress(phones=numbers[::100])
    with CaptureQueriesContext(connection) as ctx:
        found = suppression.suppressed_digests("phone", numbers)
    assert found == set(numbers[::100])
    assert len(ctx.captured_queries) == 1


def test_nothing_to_look_up_costs_no_statement():
    with CaptureQueriesContext(connection) as ctx:
        assert suppression.suppressed_values(emails=["", None], phones=[]) == (set(), set())
    assert ctx.captured_queries == []


def test_the_lookup_reads_the_unique_index():
    suppression.suppress(emails=[f"p{i}@example.com" for i in range(50)])
    with CaptureQueriesContext(connection) as ctx:
        suppression.suppressed_values(emails=["p1@example.com"], phones=["+380671234567"])
    sql = ctx.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
            plan = " ".join(row[0] for row in cursor.fetchall())
    # SQLite names a unique constraint's index sqlite_autoindex_…; both search it by
    # (kind, digest) for each kind, neither scans the table
    if connection.vendor == "sqlite":
        assert "SCAN" not in plan and "(kind=? AND digest=?)" in plan, plan
    else:
        assert "suppression_unique" in plan and "Seq Scan" not in plan, plan
