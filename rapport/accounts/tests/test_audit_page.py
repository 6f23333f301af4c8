"""The administration audit page: filters, newest first, keyset pages, hidden personal data."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.accounts.models import Role, RoleAssignment, User
from rapport.contacts.services import person_create
from rapport.core import audit
from rapport.core.models import AuditEvent
from rapport.testing.factories import PASSWORD


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def auditor(personas):
    """Administers everything but holds no personal_data field permission."""
    role = Role.objects.create(
        name="auditor",
        label="Auditor",
        permissions={"*": {"view": "all"}},
        field_permissions=[],
        can_grant_roles=True,
    )
    user = User.objects.create_user("auditor", password=PASSWORD)
    RoleAssignment.objects.create(user=user, role=role, team=None)
    return user


def test_audit_page_filters(admin, alice, bob):
    audit.record(audit.Action.EXPORT, actor=alice, object_type="person", object_id=7)
    audit.record(audit.Action.EXPORT, actor=bob, object_type="person", object_id=8)
    audit.record(audit.Action.UPDATE, actor=alice, object_type="company", object_id=7)
    old = audit.record(audit.Action.UPDATE, actor=alice, object_type="person", object_id=7)
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - datetime.timedelta(days=10))
    client = client_for(admin)

    def ids(**params):
        response = client.get(reverse("accounts:audit"), params)
        assert response.status_code == 200
        return [e.pk for e in response.context["page"].items]

    assert len(ids(actor="alice", object_type="person")) == 2
    assert len(ids(actor="alice", action="export")) == 1
    assert len(ids(object_type="person", object_id=7)) == 2
    since = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    assert len(ids(object_type="person", object_id=7, since=since)) == 1
    until = (timezone.localdate() - datetime.timedelta(days=5)).isoformat()
    assert ids(until=until) == [old.pk]
    assert client.get(reverse("accounts:audit"), {"actor": "nobody"}).status_code == 400


def test_audit_page_is_newest_first_and_keyset_paginated(admin):
    for i in range(60):
        audit.record(audit.Action.EXPORT, actor=admin, object_type="person", object_id=i)
    client = client_for(admin)
    first = client.get(reverse("accounts:audit"), {"action": "export"}).context["page"]
    assert len(first.items) == 50 and first.next_cursor
    assert [e.object_id for e in first.items[:3]] == [59, 58, 57]
    second = client.get(
        reverse("accounts:audit"), {"action": "export", "cursor": first.next_cursor}
    ).context["page"]
    assert [e.object_id for e in second.items] == list(range(9, -1, -1))
    assert second.next_cursor is None
    tampered = client.get(
        reverse("accounts:audit"), {"action": "login", "cursor": first.next_cursor}
    )
    assert tampered.status_code == 400


def test_audit_page_hides_personal_values_without_the_permission(admin, alice, auditor):
    person = person_create(
        actor=admin, data={"first_name": "Ann", "last_name": "Lee", "birthday": "1971-04-23"}
    )
    params = {"object_type": "person", "object_id": person.pk}
    seen_by_admin = client_for(admin).get(reverse("accounts:audit"), params)
    assert "1971-04-23" in seen_by_admin.content.decode()
    seen_by_auditor = client_for(auditor).get(reverse("accounts:audit"), params)
    assert seen_by_auditor.status_code == 200
    body = seen_by_auditor.content.decode()
    assert "1971-04-23" not in body and "Ann" in body and "birthday" not in body


def test_audit_page_escapes_user_text(admin):
    audit.record(
        audit.Action.UPDATE,
        actor=admin,
        object_type="note",
        object_repr="<script>x</script>",
        changes={"title": ["<b>old</b>", "<img src=x>"]},
    )
    body = client_for(admin).get(reverse("accounts:audit")).content.decode()
    assert "<script>x</script>" not in body and "<img src=x>" not in body
    assert "&lt;script&gt;" in body
