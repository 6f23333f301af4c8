"""Property tests over generated records: scoping follows the role definitions, and
keyset pages cover every row exactly once in the order the ordering promises."""

from __future__ import annotations

import datetime
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.accounts.models import RoleAssignment
from rapport.contacts.models import Person
from rapport.core import keyset, permissions

pytestmark = pytest.mark.django_db

# Database-backed examples are costly: a few in every run, many under `make test-deep`.
PROPERTY_SETTINGS = settings(
    max_examples=300 if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def expected_from_roles(user, action: str, owner_id: int | None, team_id: int | None) -> bool:
    """What the role definitions say, computed straight from the Role rows."""
    member_teams = set(user.memberships.values_list("team_id", flat=True))
    for assignment in RoleAssignment.objects.filter(user=user).select_related("role"):
        spec = assignment.role.permissions
        scopes = [spec.get("person", {}).get(action), spec.get("*", {}).get(action)]
        teams = {assignment.team_id} if assignment.team_id else member_teams
        for scope in scopes:
            if scope == "all":
                return True
            if scope == "team" and team_id in teams:
                return True
            if scope == "own" and owner_id == user.pk:
                return True
    return False


@PROPERTY_SETTINGS
@given(data=st.data())
def test_scope_matches_role_definitions_for_generated_records(personas, data):
    users = [
        personas.alice,
        personas.bob,
        personas.carol,
        personas.dave,
        personas.erin,
        personas.admin,
    ]
    teams = [personas.team_a.pk, personas.team_b.pk, None]
    Person.all_objects.all().delete()
    rows = data.draw(
        st.lists(
            st.tuples(st.sampled_from(users + [None]), st.sampled_from(teams)),
            min_size=1,
            max_size=12,
        )
    )
    people = Person.objects.bulk_create(
        Person(first_name=f"p{i}", sort_key=f"p{i}", owner=owner, team_id=team)
        for i, (owner, team) in enumerate(rows)
    )
    for user in users:
        permissions.forget(user)
        for action in permissions.ACTIONS:
            by_query = set(Person.objects.restrict(user, action).values_list("pk", flat=True))
            by_python = {p.pk for p in people if permissions.allows(user, "person", action, p)}
            by_roles = {
                p.pk for p in people if expected_from_roles(user, action, p.owner_id, p.team_id)
            }
            assert by_query == by_python == by_roles, (user.username, action)


def python_order(rows: list[Person], ordering: keyset.Ordering) -> list[int]:
    """The order an ordering promises: fields in turn, NULLs last in both directions."""
    result = list(rows)
    for name, desc in reversed(ordering.fields):
        present = [r for r in result if getattr(r, name) is not None]
        missing = [r for r in result if getattr(r, name) is None]
        present.sort(key=lambda r, n=name: getattr(r, n), reverse=desc)
        result = present + missing
    return [r.pk for r in result]


ORDERINGS = {
    "name": ["sort_key", "id"],
    "birthday": ["birthday", "id"],
    "email": ["primary_email", "id"],
}


@PROPERTY_SETTINGS
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["ann", "bob", "bo b", "zoe", "a-z", ""]),
            st.one_of(st.none(), st.dates(datetime.date(1990, 1, 1), datetime.date(1990, 1, 5))),
        ),
        min_size=0,
        max_size=15,
    ),
    ordering_key=st.sampled_from(["name", "-name", "birthday", "-birthday", "email", "-email"]),
    limit=st.integers(min_value=1, max_value=4),
)
def test_keyset_pages_cover_every_row_once_in_order(db, rows, ordering_key, limit):
    Person.all_objects.all().delete()
    created = Person.objects.bulk_create(
        Person(sort_key=key, first_name=key or "x", birthday=day, primary_email=key)
        for key, day in rows
    )
    ordering = keyset.parse_ordering(ordering_key, ORDERINGS, "name")
    seen: list[int] = []
    cursor = None
    for _ in range(len(created) + 2):
        page = keyset.paginate(
            Person.objects.all(), ordering=ordering, filters={}, cursor=cursor, limit=limit
        )
        seen.extend(p.pk for p in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    fresh = list(Person.objects.all())
    assert seen == python_order(fresh, ordering)
