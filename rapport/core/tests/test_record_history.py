"""The record page's history in one statement gives what `audit.history` gives."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.contacts import services
from rapport.contacts.models import Person
from rapport.core import audit, presenters, selectors
from rapport.core.models import AuditEvent
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _shape(events):
    return [
        (
            e.pk,
            e.at,
            e.action,
            e.actor_id,
            e.actor_label,
            e.visible,
            str(e.actor) if e.actor_id else None,
        )
        for e in events
    ]


@pytest.mark.parametrize("reader", ["alice", "admin"])
def test_same_events_changes_and_actors_as_the_orm(reader, request, alice, admin):
    user = request.getfixturevalue(reader)
    person = PersonFactory(actor=alice, first_name="Olena")
    for i in range(3):
        services.person_update(
            actor=admin if i % 2 else alice,
            person=Person.objects.get(pk=person.pk),
            data={
                "notes": f"«{i}»",
                "tags": [f"t{i}"],
                "birthday": datetime.date(1990, 1, i + 1),  # personal: admin's reader only
            }
            if i % 2
            else {"notes": f"«{i}»", "tags": [f"t{i}"]},
        )
    audit.record(audit.Action.UPDATE, actor=None, obj=person, changes={"source": ["", "sync"]})
    expected = audit.history(person, user)
    with CaptureQueriesContext(connection) as ctx:
        events = selectors.record_history(person, user)
    assert len(ctx.captured_queries) == 1
    assert len(events) == 5 and _shape(events) == _shape(expected)
    assert events[0].actor_id is None  # the newest: no actor
    assert all(e.at.tzinfo is not None for e in events)
    rows = presenters.timeline(events, Person, person)
    orm_rows = presenters.timeline(expected, Person, person)

    def shown(rows):  # each row's event is the page's own light object, not a model row
        return [({k: v for k, v in row.items() if k != "event"}, row["event"].pk) for row in rows]

    assert shown(rows) == shown(orm_rows)
    assert presenters.timeline_html(rows) == presenters.timeline_html(orm_rows)


def test_limit_and_order(alice):
    person = PersonFactory(actor=alice)
    for i in range(7):
        services.person_update(
            actor=alice, person=Person.objects.get(pk=person.pk), data={"notes": str(i)}
        )
    AuditEvent.objects.filter(object_id=person.pk).update(
        at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    )
    events = selectors.record_history(person, alice, limit=3)
    assert [e.pk for e in events] == [e.pk for e in audit.history(person, alice, limit=3)]
    assert [e.pk for e in events] == sorted((e.pk for e in events), reverse=True)


def test_changed_values_and_names_are_escaped_on_the_page(alice):
    """Markup typed into a field or a user's name shows as text in the timeline."""
    alice.first_name = "<i>Al</i>"
    alice.save(update_fields=["first_name"])
    person = PersonFactory(actor=alice)
    services.person_update(
        actor=alice, person=Person.objects.get(pk=person.pk), data={"notes": "<script>x</script>"}
    )
    web = Client()
    web.force_login(alice)
    html = web.get(f"/people/{person.pk}/").content.decode()
    timeline = html[html.index('class="timeline"') :]
    assert "&lt;script&gt;x&lt;/script&gt;" in timeline and "<script>x" not in timeline
    assert "&lt;i&gt;Al&lt;/i&gt;" in timeline and "<i>Al</i>" not in timeline
