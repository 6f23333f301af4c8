"""The record page's history in one statement gives what `audit.history` gives."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
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
    assert rows == presenters.timeline(expected, Person, person)
    assert presenters.timeline_html(rows) == presenters.timeline_html(
        presenters.timeline(expected, Person, person)
    )


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
