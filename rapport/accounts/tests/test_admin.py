"""The administration area: who gets in, users, teams, role grants, custom fields, audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from rapport.accounts.models import Role, RoleAssignment, Team, User, UserFieldGrant
from rapport.contacts.services import person_create
from rapport.core.models import AuditEvent, CustomFieldDefinition
from rapport.testing.factories import PASSWORD


def client_for(user, *, csrf=False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


ADMIN_PAGES = [
    "accounts:admin_home",
    "accounts:users",
    "accounts:teams",
    "accounts:custom_fields",
    "accounts:audit",
]


# --- who gets in ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_rep_gets_404_on_the_admin_area(alice, name):
    assert client_for(alice).get(reverse(name)).status_code == 404


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_sees_every_admin_page(admin, name):
    assert client_for(admin).get(reverse(name)).status_code == 200


def test_rep_gets_404_on_team_and_user_pages(alice, team_a, bob):
    client = client_for(alice)
    assert client.get(reverse("accounts:team", args=[team_a.pk])).status_code == 404
    assert client.get(reverse("accounts:user", args=[bob.pk])).status_code == 404
    response = client.post(reverse("accounts:team_role_grant", args=[team_a.pk]), {})
    assert response.status_code == 404


def test_manager_sees_only_her_teams(erin, team_a, team_b):
    client = client_for(erin)
    assert client.get(reverse("accounts:admin_home")).status_code == 200
    teams = client.get(reverse("accounts:teams"))
    assert list(teams.context["teams"]) == [team_a]
    assert client.get(reverse("accounts:team", args=[team_a.pk])).status_code == 200
    assert client.get(reverse("accounts:team", args=[team_b.pk])).status_code == 404
    for name in ("accounts:users", "accounts:custom_fields", "accounts:audit"):
        assert client.get(reverse(name)).status_code == 404, name


# --- role grants ---------------------------------------------------------------------------


def test_manager_grants_bob_a_role_on_her_team(erin, bob, team_a):
    viewer = Role.objects.get(name="viewer")
    response = client_for(erin).post(
        reverse("accounts:team_role_grant", args=[team_a.pk]), {"user": bob.pk, "role": viewer.pk}
    )
    assert response.status_code == 302
    assert RoleAssignment.objects.filter(user=bob, role=viewer, team=team_a).exists()
    event = AuditEvent.objects.get(action="role_change", object_id=bob.pk)
    assert event.actor == erin and event.changes["role"] == [None, "viewer"]
    page = client_for(erin).get(reverse("accounts:team", args=[team_a.pk])).content.decode()
    assert "Viewer" in page


def test_manager_cannot_grant_herself_admin(erin, team_a):
    admin_role = Role.objects.get(name="admin")
    response = client_for(erin).post(
        reverse("accounts:team_role_grant", args=[team_a.pk]),
        {"user": erin.pk, "role": admin_role.pk},
    )
    assert response.status_code == 403
    assert "You may not grant" in response.content.decode()
    assert not RoleAssignment.objects.filter(user=erin, role=admin_role).exists()
    assert AuditEvent.objects.filter(action="denied", actor=erin).exists()


def test_manager_cannot_grant_beyond_her_rights(erin, bob, team_a):
    admin_role = Role.objects.get(name="admin")
    response = client_for(erin).post(
        reverse("accounts:team_role_grant", args=[team_a.pk]),
        {"user": bob.pk, "role": admin_role.pk},
    )
    assert response.status_code == 403
    assert not RoleAssignment.objects.filter(user=bob, role=admin_role).exists()


def test_manager_cannot_grant_on_another_team(erin, carol, team_b):
    rep = Role.objects.get(name="rep")
    response = client_for(erin).post(
        reverse("accounts:team_role_grant", args=[team_b.pk]), {"user": carol.pk, "role": rep.pk}
    )
    assert response.status_code == 404
    assert RoleAssignment.objects.filter(team=team_b).count() == 1  # carol's own rep role


def test_manager_revokes_inside_her_team_but_not_elsewhere(erin, bob, carol, team_a):
    bobs = RoleAssignment.objects.get(user=bob, team=team_a)
    carols = RoleAssignment.objects.get(user=carol)
    client = client_for(erin)
    assert client.post(reverse("accounts:assignment_revoke", args=[carols.pk])).status_code == 404
    assert client.post(reverse("accounts:assignment_revoke", args=[bobs.pk])).status_code == 302
    assert not RoleAssignment.objects.filter(pk=bobs.pk).exists()
    assert RoleAssignment.objects.filter(pk=carols.pk).exists()
    assert AuditEvent.objects.get(action="role_change").changes["role"] == ["rep", None]


# --- users, teams, field grants ----------------------------------------------------------


def test_admin_creates_a_user_through_the_service(admin, team_b):
    rep = Role.objects.get(name="rep")
    response = client_for(admin).post(
        reverse("accounts:users"),
        {
            "username": "frank",
            "email": "frank@example.com",
            "password": "long-enough-Pa55word",
            "team": team_b.pk,
            "role": rep.pk,
        },
    )
    assert response.status_code == 302
    frank = User.objects.get(username="frank")
    assert frank.check_password("long-enough-Pa55word")
    assert frank.primary_team == team_b
    assert RoleAssignment.objects.filter(user=frank, role=rep, team=team_b).exists()
    assert AuditEvent.objects.filter(action="create", object_type="user", actor=admin).exists()
    assert (
        Client()
        .post("/accounts/login/", {"login": "frank", "password": "long-enough-Pa55word"})
        .status_code
        == 302
    )


def test_user_create_shows_service_errors(admin, alice):
    response = client_for(admin).post(
        reverse("accounts:users"), {"username": "ALICE", "password": "long-enough-Pa55word"}
    )
    assert response.status_code == 422
    assert "username" in response.context["form"].errors
    weak = client_for(admin).post(
        reverse("accounts:users"), {"username": "gina", "password": "123"}
    )
    assert weak.status_code == 422 and not User.objects.filter(username="gina").exists()


def test_admin_deactivates_a_user_who_then_cannot_sign_in(admin, bob):
    client = client_for(admin)
    response = client.post(reverse("accounts:user_set_active", args=[bob.pk]), {"active": "0"})
    assert response.status_code == 302
    bob.refresh_from_db()
    assert not bob.is_active
    assert AuditEvent.objects.get(action="update", object_id=bob.pk).changes == {
        "is_active": [True, False]
    }
    login = Client().post("/accounts/login/", {"login": "bob", "password": PASSWORD})
    assert "_auth_user_id" not in login.wsgi_request.session


def test_admin_cannot_deactivate_herself(admin):
    response = client_for(admin).post(
        reverse("accounts:user_set_active", args=[admin.pk]), {"active": "0"}
    )
    assert response.status_code == 422
    admin.refresh_from_db()
    assert admin.is_active


def test_admin_creates_team_and_adds_member(admin, carol):
    client = client_for(admin)
    response = client.post(reverse("accounts:teams"), {"name": "  Team   C "})
    team = Team.objects.get(name="Team C")
    assert response.status_code == 302
    assert client.post(reverse("accounts:teams"), {"name": "team c"}).status_code == 422
    client.post(reverse("accounts:team_member_add", args=[team.pk]), {"user": carol.pk})
    assert carol.memberships.filter(team=team).exists()
    assert AuditEvent.objects.filter(object_type="team", object_id=team.pk).count() == 2


def test_manager_cannot_create_teams(erin):
    response = client_for(erin).post(reverse("accounts:teams"), {"name": "Shadow"})
    assert response.status_code == 404
    assert not Team.objects.filter(name="Shadow").exists()


def test_admin_grants_and_revokes_personal_data(admin, bob):
    client = client_for(admin)
    client.post(
        reverse("accounts:user_field_grant", args=[bob.pk]), {"permission": "personal_data"}
    )
    grant = UserFieldGrant.objects.get(user=bob, permission="personal_data")
    client.post(reverse("accounts:user_field_revoke", args=[bob.pk, grant.pk]))
    assert not UserFieldGrant.objects.filter(user=bob).exists()
    changes = list(
        AuditEvent.objects.filter(action="role_change", object_id=bob.pk)
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert changes == [
        {"field_permission": [None, "personal_data"]},
        {"field_permission": ["personal_data", None]},
    ]


# --- custom fields -------------------------------------------------------------------------


def test_admin_creates_a_choice_field_that_then_validates_values(admin, alice):
    response = client_for(admin).post(
        reverse("accounts:custom_fields"),
        {
            "entity": "person",
            "label": "Shirt size",
            "kind": "choice",
            "choices": "S\nM\nL\nM",
            "position": 0,
        },
    )
    assert response.status_code == 302
    definition = CustomFieldDefinition.objects.get(entity="person", slug="shirt_size")
    assert definition.choices == ["S", "M", "L"]
    assert AuditEvent.objects.filter(action="create", object_type="custom_field").exists()

    with pytest.raises(ValidationError) as caught:
        person_create(
            actor=alice,
            data={"first_name": "Ann", "last_name": "Lee", "custom_fields": {"shirt_size": "XXL"}},
        )
    assert "custom_fields.shirt_size" in caught.value.message_dict
    person = person_create(
        actor=alice,
        data={"first_name": "Ann", "last_name": "Lee", "custom_fields": {"shirt_size": "M"}},
    )
    assert person.custom_fields == {"shirt_size": "M"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"entity": "person", "label": "Tier", "kind": "choice", "choices": ""}, "choices"),
        ({"entity": "nothing", "label": "Tier", "kind": "text"}, "entity"),
        ({"entity": "person", "label": "Tier", "kind": "text", "slug": "Not a slug!"}, "slug"),
    ],
)
def test_custom_field_validation_errors_show_next_to_the_field(admin, data, field):
    response = client_for(admin).post(reverse("accounts:custom_fields"), data)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not CustomFieldDefinition.objects.exists()


def test_custom_field_slug_is_unique_per_entity(admin):
    client = client_for(admin)
    data = {"label": "Tier", "kind": "text", "slug": "tier"}
    assert (
        client.post(reverse("accounts:custom_fields"), {**data, "entity": "person"}).status_code
        == 302
    )
    again = client.post(reverse("accounts:custom_fields"), {**data, "entity": "person"})
    assert again.status_code == 422 and "slug" in again.context["form"].errors
    other = client.post(reverse("accounts:custom_fields"), {**data, "entity": "company"})
    assert other.status_code == 302
    assert CustomFieldDefinition.objects.filter(slug="tier").count() == 2


def test_custom_field_edit_and_delete(admin):
    client = client_for(admin)
    client.post(
        reverse("accounts:custom_fields"),
        {"entity": "person", "label": "Tier", "kind": "choice", "choices": "gold"},
    )
    definition = CustomFieldDefinition.objects.get()
    url = reverse("accounts:custom_field", args=[definition.pk])
    response = client.post(
        url,
        {
            "entity": "company",
            "slug": "hacked",
            "label": "Tier",
            "kind": "choice",
            "choices": "gold\nsilver",
            "required": "on",
        },
    )
    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.entity, definition.slug) == ("person", "tier")  # never change
    assert definition.choices == ["gold", "silver"] and definition.required
    update = AuditEvent.objects.get(action="update", object_type="custom_field")
    assert update.changes["choices"] == [["gold"], ["gold", "silver"]]
    client.post(reverse("accounts:custom_field_delete", args=[definition.pk]))
    assert not CustomFieldDefinition.objects.exists()
    assert AuditEvent.objects.filter(action="delete", object_type="custom_field").exists()


# --- CSRF ----------------------------------------------------------------------------------


def test_admin_posts_need_csrf(admin, bob, team_a):
    client = client_for(admin, csrf=True)
    rep = Role.objects.get(name="rep")
    posts = [
        (reverse("accounts:users"), {"username": "zed", "password": "long-enough-Pa55word"}),
        (reverse("accounts:teams"), {"name": "Team Z"}),
        (reverse("accounts:team_role_grant", args=[team_a.pk]), {"user": bob.pk, "role": rep.pk}),
        (reverse("accounts:user_set_active", args=[bob.pk]), {"active": "0"}),
        (reverse("accounts:custom_fields"), {"entity": "person", "label": "Z", "kind": "text"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    bob.refresh_from_db()
    assert bob.is_active
    assert not User.objects.filter(username="zed").exists()
    assert not Team.objects.filter(name="Team Z").exists()
    assert not CustomFieldDefinition.objects.exists()
