"""Row scope: restrict() and allows() agree, and the built-in roles mean what they say."""

import pytest

from rapport.contacts.models import Person
from rapport.core import permissions
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_outsider_cannot_view_foreign_team_person(alice, carol):
    person = PersonFactory(actor=alice)
    assert not Person.objects.restrict(carol, "view").filter(pk=person.pk).exists()
    assert not permissions.allows(carol, "person", "view", person)


def test_teammate_sees_but_cannot_change(alice, bob):
    person = PersonFactory(actor=alice)
    assert Person.objects.restrict(bob, "view").filter(pk=person.pk).exists()
    assert not Person.objects.restrict(bob, "change").filter(pk=person.pk).exists()
    assert permissions.allows(alice, "person", "change", person)


def test_viewer_changes_nothing(alice, dave):
    person = PersonFactory(actor=alice)
    assert Person.objects.restrict(dave, "view").filter(pk=person.pk).exists()
    for action in ("add", "change", "delete", "export", "assign"):
        assert not permissions.can(dave, "person", action)


def test_manager_has_team_scope_and_admin_everything(alice, carol, erin, admin):
    mine = PersonFactory(actor=alice)
    theirs = PersonFactory(actor=carol)
    visible = set(Person.objects.restrict(erin, "change").values_list("pk", flat=True))
    assert mine.pk in visible and theirs.pk not in visible
    assert set(Person.objects.restrict(admin, "delete").values_list("pk", flat=True)) >= {
        mine.pk,
        theirs.pk,
    }


def test_restrict_and_allows_agree_for_every_persona(personas):
    people = [PersonFactory(actor=u) for u in (personas.alice, personas.carol, personas.erin)]
    for user in vars(personas).values():
        if not hasattr(user, "username"):
            continue
        for action in permissions.ACTIONS:
            by_query = set(Person.objects.restrict(user, action).values_list("pk", flat=True))
            by_python = {p.pk for p in people if permissions.allows(user, "person", action, p)}
            assert by_query == by_python, (user.username, action)
