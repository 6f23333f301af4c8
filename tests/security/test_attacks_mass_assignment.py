"""Mass assignment: fields a client must never set (ownership without the assign right,
ids, versions, audit stamps, trash and merge markers, roles and staff flags) sent on
create and change, through the API (422/403 naming the field) and the HTML forms
(ignored or refused) — and the database proves nothing was applied."""

from __future__ import annotations

import datetime

import pytest

from rapport.accounts.models import RoleAssignment, User
from rapport.core.api.testing import fields_of, is_problem

from .attacks import (
    SURFACES,
    api,
    api_url,
    browser,
    entities,
    entity_ids,
    form_text_body,
    html_url,
    make,
    plant,
    post_form,
    text_fields,
    text_value,
)

pytestmark = pytest.mark.django_db

FORBIDDEN = [
    "id",
    "version",
    "created_at",
    "updated_at",
    "deleted_at",
    "created_by",
    "updated_by",
    "merged_into",
    "sort_key",
    "role",
    "roles",
    "is_staff",
    "is_superuser",
]


def _value(name: str, victim: User, other):
    return {
        "id": other.pk + 10_000,
        "version": 99,
        "created_at": "2001-01-01T00:00:00Z",
        "updated_at": "2001-01-01T00:00:00Z",
        "deleted_at": "2001-01-01T00:00:00Z",
        "created_by": victim.pk,
        "updated_by": victim.pk,
        "merged_into": other.pk,
        "sort_key": "aaaa",
        "role": "admin",
        "roles": ["admin"],
        "is_staff": True,
        "is_superuser": True,
    }[name]


def _entity(key):
    return next(e for e in entities() if e.key == key)


def _api_body(entity, actor) -> dict:
    """A create body the entity accepts (its free-text fields that the service kept)."""
    accepted = plant(entity, actor).accepted
    fields = text_fields(entity)
    return {name: text_value(fields[name], "Mass Probe") for name in accepted}


def _snapshot(obj) -> dict:
    fresh = type(obj).all_objects.get(pk=obj.pk)
    return {
        f.attname: getattr(fresh, f.attname)
        for f in type(obj)._meta.concrete_fields
        if f.attname not in {"updated_at"}
    }


@pytest.mark.parametrize("key", entity_ids())
def test_mass_assignment_api_create_refuses_read_only_and_privilege_fields(key, alice, carol):
    entity = _entity(key)
    other = make(entity, carol)
    body = _api_body(entity, alice)
    client = api(alice)
    before = entity.model.all_objects.count()
    for field in FORBIDDEN:
        response = client.post(api_url(entity), {**body, field: _value(field, carol, other)})
        assert is_problem(response, 422), (field, response.content)
        assert field in fields_of(response), field
    assert entity.model.all_objects.count() == before


@pytest.mark.parametrize("key", entity_ids())
def test_mass_assignment_api_patch_refuses_read_only_and_privilege_fields(key, alice, carol):
    entity = _entity(key)
    obj, other = make(entity, alice), make(entity, carol)
    before = _snapshot(obj)
    client = api(alice)
    for field in FORBIDDEN:
        response = client.patch(api_url(entity, obj.pk), {field: _value(field, carol, other)})
        assert is_problem(response, 422), (field, response.content)
        assert field in fields_of(response), field
    assert _snapshot(obj) == before
    assert not User.objects.filter(is_staff=True).exists()


@pytest.mark.parametrize("method", ["post", "patch"])
@pytest.mark.parametrize("key", entity_ids())
def test_mass_assignment_of_owner_and_team_without_assign_right_is_403(
    key, method, alice, bob, team_b
):
    """A rep may not hand records to someone else or to another team (no assign right)."""
    entity = _entity(key)
    obj = make(entity, alice)
    before = _snapshot(obj)
    client = api(alice)
    for field, value in (("owner", bob.pk), ("team", team_b.pk)):
        count = entity.model.all_objects.count()
        if method == "post":
            response = client.post(api_url(entity), {**_api_body(entity, alice), field: value})
            count += 1  # _api_body planted one record through the service
        else:
            response = client.patch(api_url(entity, obj.pk), {field: value})
        assert is_problem(response, 403), response.content
        assert fields_of(response) == [field]
        assert entity.model.all_objects.count() == count
    assert _snapshot(obj) == before


def _extras(victim, other, team) -> dict:
    values = {name: str(_value(name, victim, other)) for name in FORBIDDEN}
    return {**values, "owner": str(victim.pk), "team": str(team.pk), "version": "1"}


@pytest.mark.parametrize("key", entity_ids())
def test_mass_assignment_form_create_ignores_fields_it_does_not_offer(key, alice, carol, team_b):
    """The create form of a rep: posted owner/team/id/flags are not applied."""
    entity = _entity(key)
    other = make(entity, carol)
    client = browser(alice)
    body = {**form_text_body(entity, alice, "Form Probe"), **_extras(carol, other, team_b)}
    response, _kept = post_form(client, html_url(entity, "create"), body)
    assert response.status_code == 302, response.content[:2000]
    obj = entity.model.all_objects.order_by("-pk").first()
    assert obj.pk != other.pk + 10_000
    assert (obj.owner_id, obj.team_id) == (alice.pk, alice.memberships.first().team_id)
    assert obj.version == 1 and obj.deleted_at is None and obj.merged_into is None
    assert obj.created_by_id == alice.pk
    alice.refresh_from_db()
    assert not alice.is_staff and not alice.is_superuser


@pytest.mark.parametrize("key", entity_ids())
def test_mass_assignment_form_edit_never_applies_owner_team_or_markers(key, alice, carol, team_b):
    entity = _entity(key)
    obj, other = make(entity, alice), make(entity, carol)
    client = browser(alice)
    body = {**form_text_body(entity, alice, "Edited Probe"), **_extras(carol, other, team_b)}
    response, _kept = post_form(client, html_url(entity, "edit", obj.pk), body)
    fresh = type(obj).all_objects.get(pk=obj.pk)
    assert response.status_code in (200, 302, 403)
    assert (fresh.owner_id, fresh.team_id) == (obj.owner_id, obj.team_id)
    assert fresh.deleted_at is None and fresh.merged_into is None
    assert fresh.created_by_id == alice.pk and fresh.created_at == obj.created_at


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("key", entity_ids())
def test_mass_assignment_bulk_assign_by_a_rep_changes_nothing(surface, key, alice, carol, team_b):
    """Bulk "assign" (and the API's owner field) from a rep: skipped, never applied, also
    on records of another team named by id."""
    entity = _entity(key)
    mine, theirs = make(entity, alice), make(entity, carol)
    snapshots = {o.pk: _snapshot(o) for o in (mine, theirs)}
    if surface == "html":
        browser(alice).post(
            html_url(entity, "bulk"),
            {"action": "assign", "ids": [mine.pk, theirs.pk], "owner": carol.pk, "team": team_b.pk},
        )
    else:
        client = api(alice)
        for obj in (mine, theirs):
            response = client.patch(api_url(entity, obj.pk), {"owner": carol.pk})
            assert response.status_code in (403, 404)
    for obj in (mine, theirs):
        assert _snapshot(obj) == snapshots[obj.pk]


def test_mass_assignment_profile_form_cannot_raise_privileges(alice):
    """My profile takes language, zone and formats: staff flags, roles, username and
    password hashes posted alongside are ignored."""
    client = browser(alice)
    before = (alice.username, alice.password, alice.email)
    client.post(
        "/me/",
        {
            "language": "en",
            "time_zone": "UTC",
            "is_staff": "on",
            "is_superuser": "on",
            "role": "admin",
            "username": "root",
            "password": "x",
            "email": "evil@example.com",
            "is_active": "on",
            "last_login": "2001-01-01",
        },
    )
    alice.refresh_from_db()
    assert not alice.is_staff and not alice.is_superuser
    assert (alice.username, alice.password, alice.email) == before
    assert not RoleAssignment.objects.filter(user=alice, role__name="admin").exists()


def test_mass_assignment_manager_cannot_grant_herself_a_role(erin, team_a):
    """Managers grant roles within their team, never to themselves (CONTRACTS.md)."""
    from rapport.accounts.models import Role

    client = browser(erin)
    admin_role = Role.objects.get(name="admin")
    before = RoleAssignment.objects.filter(user=erin).count()
    response = client.post(
        f"/admin/teams/{team_a.pk}/roles/", {"user": erin.pk, "role": admin_role.pk}
    )
    assert response.status_code in (403, 422)
    assert RoleAssignment.objects.filter(user=erin).count() == before
    response = client.post(f"/admin/users/{erin.pk}/roles/", {"role": admin_role.pk})
    assert response.status_code == 404  # the user admin pages are for administrators
    assert RoleAssignment.objects.filter(user=erin).count() == before


def test_mass_assignment_of_deleted_at_cannot_revive_or_hide_through_restore(alice):
    """`deleted_at` comes only from delete/restore: a PATCH naming it is a 422 even with
    null, so a client cannot bypass the trash's audit trail."""
    for entity in entities():
        obj = make(entity, alice)
        response = api(alice).patch(api_url(entity, obj.pk), {"deleted_at": None})
        assert is_problem(response, 422) and "deleted_at" in fields_of(response)
        stamp = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC).isoformat()
        response = api(alice).patch(api_url(entity, obj.pk), {"deleted_at": stamp})
        assert is_problem(response, 422)
        assert type(obj).all_objects.get(pk=obj.pk).deleted_at is None


IMPORT_FORBIDDEN = ["owner", "team", "id", "version", "deleted_at", "created_by", "merged_into"]


@pytest.mark.parametrize("surface", SURFACES)
def test_mass_assignment_through_an_import_file(surface, alice, bob, carol, team_b):
    """An import is another door to the create service: a file's Owner/Team/ID/Version
    columns are not targets (API: 422 naming the mapping entry), and whatever the wizard
    maps by itself, every imported record belongs to the importer."""
    from rapport.contacts.models import Person
    from rapport.dataio.tests.importhelpers import csv_bytes, run, upload

    header = ["First name", "Last name", "Owner", "Team", "ID", "Version", "Deleted at"]
    values = ["Imp", "Orter", str(bob.pk), str(team_b.pk), "999999", "42", "2001-01-01"]
    second = [*values[:1], "Second", *values[2:4], "999998", *values[5:]]
    job = upload(alice, csv_bytes([header, values, second]))
    if surface == "api":
        client = api(alice)
        for target in IMPORT_FORBIDDEN:
            mapping = [{"column": 0, "target": "first_name"}, {"column": 2, "target": target}]
            response = client.put(f"/imports/{job.pk}/mapping", {"mapping": mapping})
            assert is_problem(response, 422), (target, response.content)
            assert "mapping.1.target" in fields_of(response), target
    job = run(alice, job)
    assert job.created_count == 2, job.error
    for person in Person.objects.filter(first_name="Imp"):
        assert (person.owner_id, person.team_id) == (alice.pk, alice.memberships.first().team_id)
        assert (
            person.pk not in (999998, 999999) and person.version == 1 and person.deleted_at is None
        )
        assert person.created_by_id == alice.pk
