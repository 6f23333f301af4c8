"""The generated permission matrix: registry entities × personas × actions × doors.

One test per (entity, group of actions); inside it every acting persona tries each
action on its own, a teammate's and another team's record (every persona's record under
the deep profile) through the pages and the API, and every answer is compared with what
the role definitions promise (`matrix.expected`). A failure lists every wrong answer.
"""

from __future__ import annotations

import pytest

from . import matrix
from .conftest import entities, make_odd_persona

pytestmark = pytest.mark.django_db

ENTITY_KEYS = [entity.key for entity in entities()]


@pytest.fixture
def world(world):
    """The shared world plus `frank`, holding the odd role (conftest.ODD_ROLE) on team A:
    writes on the team's records, view of his own only."""
    world.users["frank"] = make_odd_persona()
    return world


def _entity(key: str):
    return next(e for e in entities() if e.key == key)


def _run(world, entity_key: str, actions: tuple[str, ...]) -> list[str]:
    entity = _entity(entity_key)
    records = world.records_of(entity_key)
    wrong: list[str] = []
    for user in matrix.actors(world.users):
        targets = matrix.targets_for(user, records)
        for action in actions:
            if action == "bulk_assign":
                observations = matrix.probe_bulk_assign(
                    user, entity, targets, assignee=world.personas.bob
                )
            else:
                observations = matrix.PROBES[action](user, entity, targets)
            wrong += matrix.mismatches(user, entity, action, observations)
    return wrong


@pytest.mark.parametrize("entity_key", ENTITY_KEYS)
def test_idor_by_id_matrix_view(world, entity_key):
    """IDOR by id: detail page and API GET answer 404 for records the user may not view."""
    assert _run(world, entity_key, ("view",)) == []


@pytest.mark.parametrize("entity_key", ENTITY_KEYS)
def test_idor_by_id_matrix_change_delete_restore(world, entity_key):
    """Edit (GET and POST), API PATCH, delete and restore through pages and API: 404 when
    the record is not visible, 403 when visible but not allowed, and nothing changes."""
    assert _run(world, entity_key, ("change", "delete", "restore")) == []


@pytest.mark.parametrize("entity_key", ENTITY_KEYS)
def test_side_path_matrix_list_search_export(world, entity_key):
    """Lists (all pages, UI and API), search page and palette, CSV exports (UI and API)
    hold exactly the records the roles let the user view (and export)."""
    assert _run(world, entity_key, ("list", "search", "export")) == []


@pytest.mark.parametrize("entity_key", ENTITY_KEYS)
def test_side_path_matrix_bulk_actions(world, entity_key):
    """Bulk tag, assign and trash touch only records the user may view and act on; the
    rest are skipped, never touched."""
    assert _run(world, entity_key, ("bulk_tag", "bulk_assign", "bulk_trash")) == []


@pytest.mark.parametrize("entity_key", ENTITY_KEYS)
def test_matrix_create_follows_add_permission(world, entity_key):
    entity = _entity(entity_key)
    wrong = []
    for user in matrix.actors(world.users):
        wrong += matrix.probe_create(user, entity)
    assert wrong == []


def test_matrix_covers_every_action_of_the_issue():
    """view, list, search, export, bulk, create, change, delete, restore: each has a probe
    and an expectation."""
    assert set(matrix.MATRIX_ACTIONS) == set(matrix.PROBES) | {"create", "bulk_assign"}
    assert set(matrix.MATRIX_ACTIONS) - {"create"} == set(matrix.NEEDS)
