"""The import's bulk path writes what the single-record path writes: for the same cells,
a person imported in a batch and one made by `person_create` have the same search entry
(title, subtitle, keys and body, phone national forms and other spellings included) and
the same audit changes; and the shortcuts the bulk path takes (emails checked once per
domain, phone numbers parsed once) decide what the full checks decide."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.contacts.models import Person
from rapport.contacts.services import person_create
from rapport.core import phones, search
from rapport.core.models import AuditEvent
from rapport.core.searchbackends.base import ENTRY_TABLE
from rapport.dataio import import_runner
from rapport.dataio.mapping import BuildContext, build_record
from rapport.dataio.mapping_values import valid_email
from rapport.dataio.models import ImportRow
from rapport.dataio.tests.importhelpers import import_rows

pytestmark = pytest.mark.django_db

HEAD = ["First name", "Last name", "Email", "Phone", "Tags"]
ROWS = [
    ["Олександр", "Шевченко", "o.shevchenko@example.com", "067 123 45 67", "VIP"],
    ["Łukasz", "Żółć", "lukasz@example.pl", "+48 501 123 456", ""],
    ["Алексей", "Юрьев", "alexei@example.ru; second@example.ru", "+7 912 345 67 89", ""],
    ["Ann", "Lee", "ann.lee@example.com", "+1 212 555 0142, +1 415 555 0199", "friends"],
    ["Мирослава", "Гнатюк", "", "380501234567", ""],  # the "+" a spreadsheet dropped
    ["", "", "only.email@example.org", "", ""],
    ["José", "Núñez", "jose@example.es", "+34 612 345 678", ""],
]


def _entry(person_id: int) -> tuple:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT title, subtitle, title_key, sort_key, body FROM {ENTRY_TABLE} "  # noqa: S608
            "WHERE entity = %s AND object_id = %s",
            ["person", person_id],
        )
        return cursor.fetchone()


def _created_ids(job) -> list[int]:
    rows = ImportRow.objects.filter(job=job).order_by("number")
    assert [r.outcome for r in rows] == ["created"] * len(ROWS)
    return [r.object_id for r in rows]


def _forget_parses() -> None:
    """Empty the per-process memos, so each path parses and folds on its own."""
    phones.pretty.cache_clear()
    search._national_form.cache_clear()


def test_imported_people_index_and_audit_as_person_create_does(
    alice, django_capture_on_commit_callbacks
):
    _forget_parses()
    job = import_rows(alice, [HEAD, *ROWS], strategy="create")
    imported = _created_ids(job)
    mapping = [{"column": i, "header": h, "target": t} for i, (h, t) in enumerate(
        zip(HEAD, ["first_name", "last_name", "email", "phone", "tags"], strict=True)
    )]  # fmt: skip
    context = BuildContext("person", mapping, actor=alice)
    _forget_parses()
    single = []
    for cells in ROWS:
        record = build_record("person", mapping, cells, actor=alice, context=context)
        assert not record.errors
        with django_capture_on_commit_callbacks(execute=True):
            single.append(person_create(actor=alice, data=record.data).pk)
    for bulk_id, single_id in zip(imported, single, strict=True):
        bulk_entry, single_entry = _entry(bulk_id), _entry(single_id)
        assert bulk_entry is not None
        assert bulk_entry == single_entry
        # and the entry written from memory is what a reindex reads back from the rows
        search.index_ids("person", [bulk_id])
        assert _entry(bulk_id) == bulk_entry
        events = [
            AuditEvent.objects.get(object_type="person", object_id=pk, action="create")
            for pk in (bulk_id, single_id)
        ]
        assert events[0].changes == events[1].changes
        assert events[0].object_repr == events[1].object_repr
        assert events[0].actor_id == events[1].actor_id == alice.pk
    national = _entry(imported[0])[4].split()
    assert "0671234567" in national and "oleksandr" in national  # local form, other spelling
    assert {h.id for h in search.search(alice, "0501234567")} >= {imported[4]}
    assert Person.objects.get(pk=imported[3]).phones.count() == 2


def test_bulk_rows_take_ids_in_row_order_and_later_writes_get_new_ones(alice):
    """On PostgreSQL the ids are drawn from the table's sequence before the rows are
    copied in: the sequence must have moved past them."""
    job = import_rows(alice, [HEAD, *ROWS], strategy="create")
    imported = _created_ids(job)
    assert imported == sorted(imported) and len(set(imported)) == len(ROWS)
    people = Person.objects.in_bulk(imported)
    assert [people[pk].first_name for pk in imported] == [row[0] for row in ROWS]
    assert people[imported[2]].emails.count() == 2
    assert people[imported[3]].phones.count() == 2
    later = person_create(actor=alice, data={"first_name": "Later"})
    assert later.pk > max(imported)
    again = import_rows(alice, [HEAD, ROWS[0]], strategy="create")
    assert _created_ids_of(again)[0] > later.pk
    first = ImportRow.objects.filter(job=job).order_by("number").first()
    assert first.values == ROWS[0]  # the report's JSON cells read back as written


def _created_ids_of(job) -> list[int]:
    return list(job.rows.order_by("number").values_list("object_id", flat=True))


def test_small_batches_still_match_a_twin_created_by_an_earlier_batch(alice, monkeypatch):
    monkeypatch.setattr(import_runner, "BATCH_SIZE", 2)
    rows = [HEAD, *ROWS, ["Twin", "Again", "ann.lee@example.com", "", ""]]
    job = import_rows(alice, rows, strategy="skip", match_on=["email"])
    outcomes = list(job.rows.order_by("number").values_list("outcome", "object_id"))
    assert [o for o, _id in outcomes] == ["created"] * len(ROWS) + ["skipped"]
    assert outcomes[-1][1] == outcomes[3][1]  # the person row 5 made, in an earlier batch


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.emails(),
        st.text(alphabet='ab.@-_"\\ [1]:Жé9+', max_size=20),
        st.builds(
            lambda user, domain: f"{user}@{domain}",
            st.text(alphabet='ab.-_+"', max_size=8),
            st.sampled_from(["localhost", "[1.2.3.4]", "[::1]", "a.b", "xn--p1ai", "é.com"]),
        ),
    )
)
def test_email_check_decides_as_djangos_validator(address):
    try:
        validate_email(address)
        expected = True
    except ValidationError:
        expected = False
    assert valid_email(address) is expected
