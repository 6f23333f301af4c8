"""Role grants: managers grant within their own teams and rights, never to themselves."""

import pytest

from rapport.accounts import services
from rapport.accounts.models import Role, RoleAssignment
from rapport.contacts.models import Person
from rapport.core.exceptions import PermissionDenied
from rapport.core.models import AuditEvent
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_manager_grants_role_to_teammate_and_it_takes_effect(erin, bob, alice, team_a):
    person = PersonFactory(actor=alice)
    assert not Person.objects.restrict(bob, "change").filter(pk=person.pk).exists()
    services.role_grant(actor=erin, user=bob, role=Role.objects.get(name="manager"), team=team_a)
    assert Person.objects.restrict(bob, "change").filter(pk=person.pk).exists()
    assert AuditEvent.objects.filter(action="role_change", actor=erin, object_id=bob.pk).exists()


def test_manager_cannot_grant_herself_admin(erin):
    with pytest.raises(PermissionDenied):
        services.role_grant(actor=erin, user=erin, role=Role.objects.get(name="admin"), team=None)
    assert not RoleAssignment.objects.filter(user=erin, role__name="admin").exists()
    assert AuditEvent.objects.filter(action="denied", actor=erin).exists()


def test_manager_cannot_grant_outside_her_team_or_beyond_her_rights(erin, bob, carol, team_b):
    with pytest.raises(PermissionDenied):
        services.role_grant(actor=erin, user=carol, role=Role.objects.get(name="rep"), team=team_b)
    with pytest.raises(PermissionDenied):
        services.role_grant(actor=erin, user=bob, role=Role.objects.get(name="admin"), team=None)


def test_rep_cannot_grant(alice, bob, team_a):
    with pytest.raises(PermissionDenied):
        services.role_grant(
            actor=alice, user=bob, role=Role.objects.get(name="viewer"), team=team_a
        )


def test_manager_revokes_within_team(erin, bob, team_a):
    assignment = RoleAssignment.objects.get(user=bob, role__name="rep")
    services.role_revoke(actor=erin, assignment=assignment)
    assert not RoleAssignment.objects.filter(user=bob).exists()
    assert not Person.objects.restrict(bob, "view").exists()


def test_revoked_token_no_longer_authenticates(alice):
    token, raw = services.token_create(user=alice, name="cli")
    assert services.token_authenticate(raw) == alice
    assert token.digest != raw and raw not in token.digest
    services.token_revoke(actor=alice, token=token)
    assert services.token_authenticate(raw) is None


def test_refused_admin_actions_leave_their_denial_rows(alice, bob):
    from rapport.accounts import admin_services
    from rapport.accounts.models import Team
    from rapport.core import customfield_services
    from rapport.core.models import CustomFieldDefinition

    with pytest.raises(PermissionDenied):
        admin_services.team_create(actor=alice, name="Rogue team")
    with pytest.raises(PermissionDenied):
        customfield_services.customfield_create(
            actor=alice, data={"entity": "person", "label": "Tier", "kind": "text"}
        )
    assert not Team.objects.filter(name="Rogue team").exists()
    assert not CustomFieldDefinition.objects.exists()
    denied = AuditEvent.objects.filter(action="denied", actor=alice)
    assert set(denied.values_list("object_type", flat=True)) == {"team", "custom_field"}
