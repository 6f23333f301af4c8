"""Who may export what: the export permission, row scope, audit, flat query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts.models import Person
from rapport.core import services as core_services
from rapport.core.exceptions import PermissionDenied
from rapport.core.models import AuditEvent
from rapport.dataio import exporting
from rapport.dataio.models import ExportJob
from rapport.dataio.tests.export_helpers import (
    browser,
    grant_export,
    grant_exporters,
    person,
    read_csv,
    read_json,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def exporters(alice, bob, carol):
    """The reps may export (the built-in rep role may not)."""
    return grant_exporters(alice, bob, carol)


def export_file(user, fmt="csv", **query) -> bytes:
    job = exporting.export_start(
        actor=user,
        entity_key=query.pop("entity", "person"),
        fmt=fmt,
        filters=query.pop("filters", {}),
        ordering=query.pop("ordering", None),
        columns=query.pop("columns", None),
    )
    with job.file.open("rb") as handle:
        return handle.read()


def test_export_needs_the_export_permission(alice, dave):
    person(alice, last_name="Secretko")
    for user in (alice, dave):  # a rep and a viewer: neither role holds "export"
        with pytest.raises(PermissionDenied):
            exporting.export_start(actor=user, entity_key="person", fmt="csv", filters={})
        response = browser(user).get("/data/exports/person/", {"format": "csv"})
        assert response.status_code == 403
        assert b"Secretko" not in response.content
    denied = AuditEvent.objects.filter(action=AuditEvent.Action.DENIED, object_type="person")
    assert denied.count() == 4
    assert not ExportJob.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_outsiders_export_never_holds_their_rows(exporters, alice, carol):
    person(alice, last_name="Alphaenko")
    person(carol, last_name="Carolenko")
    for fmt in ("csv", "json"):
        data = export_file(carol, fmt)
        assert b"Carolenko" in data
        assert b"Alphaenko" not in data
    data = export_file(carol, "csv", filters={"q": ["Alphaenko"]})
    assert read_csv(data)[1:] == []


def test_own_scope_exports_only_own_rows(alice, bob):
    grant_export(bob, scope="own")
    person(alice, last_name="Alphaenko")
    person(bob, last_name="Bobenko")
    names = [r["last_name"] for r in read_json(export_file(bob, "json"))]
    assert names == ["Bobenko"]  # bob sees alice's record on the list but may not export it


def test_export_scope_never_widens_view_scope(alice, carol):
    grant_export(carol, scope="all")  # export "all" but view only team B
    person(alice, last_name="Alphaenko")
    person(carol, last_name="Carolenko")
    assert [r["last_name"] for r in read_json(export_file(carol, "json"))] == ["Carolenko"]


def test_trashed_records_are_not_exported(exporters, alice):
    kept = person(alice, last_name="Keptenko")
    gone = person(alice, last_name="Goneenko")
    core_services.trash(actor=alice, obj=gone)
    assert [r["id"] for r in read_json(export_file(alice, "json"))] == [kept.pk]


def test_one_audit_row_per_export(exporters, alice):
    person(alice, last_name="Alphaenko", tags=["vip"])
    person(alice, last_name="Betaenko")
    export_file(alice, "xlsx", filters={"tag": ["vip"]}, ordering="-name", columns=["name"])
    (event,) = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)
    assert event.actor == alice and event.object_type == "person"
    assert event.extra["format"] == "xlsx"
    assert event.extra["rows"] == 1
    assert event.extra["filters"] == {"tag": ["vip"]}
    assert event.extra["ordering"] == "-name"
    assert event.extra["columns"] == ["name"]
    assert event.object_repr.endswith(".xlsx")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "vcard"])
def test_query_count_does_not_grow_with_rows(exporters, alice, fmt):
    counts = []
    for batch in (3, 12):
        for n in range(batch):
            person(alice, last_name=f"N{n}", tags=["t"], phones=[{"number": "+380441234567"}])
        with CaptureQueriesContext(connection) as ctx:
            export_file(alice, fmt, columns=["name", "company", "phone", "tags", "owner", "team"])
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_chunks_cover_every_row_once_in_list_order(exporters, alice, monkeypatch):
    monkeypatch.setattr(exporting, "CHUNK_SIZE", 4)
    for n in range(10):
        person(alice, first_name="Same", last_name=f"Name{n % 3}")
    ids = [r["id"] for r in read_json(export_file(alice, "json", ordering="name"))]
    expected = list(Person.objects.order_by("sort_key", "id").values_list("id", flat=True))
    assert ids == expected and len(set(ids)) == 10


def test_bad_query_names_the_parameter(exporters, alice):
    cases = [
        ({"filters": {"nope": ["1"]}}, "nope"),
        ({"filters": {"owner": ["someone"]}}, "owner"),
        ({"filters": {"created_after": ["yesterday"]}}, "created_after"),
        ({"ordering": "shoe_size"}, "ordering"),
        ({"columns": ["name", "shoe_size"]}, "columns"),
    ]
    for query, field in cases:
        with pytest.raises(exporting.ExportQueryError) as info:
            exporting.export_start(
                actor=alice, entity_key="person", fmt="csv", **{"filters": {}, **query}
            )
        assert field in [e["field"] for e in info.value.errors], query
    with pytest.raises(exporting.ExportQueryError):
        exporting.export_start(actor=alice, entity_key="planet", fmt="csv", filters={})
    assert not ExportJob.objects.exists()


def test_chunks_step_over_empty_sort_values(exporters, alice, monkeypatch):
    """Chunks of a sorted export continue exactly where the last one ended: none lost or
    repeated, in the order asked for."""
    from rapport.contacts.services import employment_add
    from rapport.testing.factories import CompanyFactory

    monkeypatch.setattr(exporting, "CHUNK_SIZE", 3)
    firms = [CompanyFactory(actor=alice, name=name) for name in ("Beta", "Alpha")]
    made = [person(alice, last_name=f"P{n}") for n in range(8)]
    for n, someone in enumerate(made[:4]):
        employment_add(actor=alice, person=someone, company=firms[n % 2])
    for ordering in ("email", "-email"):
        rows = read_json(export_file(alice, "json", ordering=ordering))
        ids = [r["id"] for r in rows]
        assert sorted(ids) == sorted(p.pk for p in made), ordering
        by_email = sorted(made, key=lambda p: (p.primary_email, p.pk))
        expected = [p.pk for p in (by_email if ordering == "email" else by_email[::-1])]
        assert ids == expected  # chunks of 3 continue exactly where the last one ended
