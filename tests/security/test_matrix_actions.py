"""The generated permission matrix: registry entities × personas × actions × doors.

One test per (entity, action); inside it every persona acts on every persona's record
through the pages and the API, and every answer is compared with what the role
definitions promise (`matrix.expected`). A failure lists every wrong answer at once.
"""

from __future__ import annotations

import pytest

from . import matrix
from .conftest import entities

pytestmark = pytest.mark.django_db

PER_RECORD = [a for a in matrix.MATRIX_ACTIONS if a in matrix.PROBES]


def _cases(actions):
    return [
        pytest.param(entity.key, action, id=f"{entity.key}-{action}")
        for entity in entities()
        for action in actions
    ]


def _run(world, entity_key: str, action: str, **extra) -> list[str]:
    entity = next(e for e in entities() if e.key == entity_key)
    records = world.records_of(entity_key)
    wrong: list[str] = []
    for user in matrix.actors(world.users):
        targets = matrix.targets_for(user, records)
        observations = (
            matrix.PROBES[action](user, entity, targets, **extra)
            if not extra
            else (matrix.probe_bulk_assign(user, entity, targets, **extra))
        )
        wrong += matrix.mismatches(user, entity, action, observations)
    return wrong


@pytest.mark.parametrize(("entity_key", "action"), _cases(["view"]))
def test_idor_by_id_matrix_view(world, entity_key, action):
    """IDOR by id: detail page and API GET answer 404 for records the user may not view."""
    assert _run(world, entity_key, action) == []


@pytest.mark.parametrize(("entity_key", "action"), _cases(["change", "delete", "restore"]))
def test_idor_by_id_matrix_writes(world, entity_key, action):
    """Edit, delete and restore through pages and API follow view-404 / action-403."""
    assert _run(world, entity_key, action) == []


@pytest.mark.parametrize(("entity_key", "action"), _cases(["list", "search", "export"]))
def test_side_path_matrix_collections(world, entity_key, action):
    """Lists (all pages), search page and palette, CSV exports hold exactly the records
    the roles let the user view (and export)."""
    assert _run(world, entity_key, action) == []


@pytest.mark.parametrize(("entity_key", "action"), _cases(["bulk_tag", "bulk_trash"]))
def test_side_path_matrix_bulk_actions(world, entity_key, action):
    """Bulk actions touch only records the user may view and act on; the rest are skipped."""
    assert _run(world, entity_key, action) == []


@pytest.mark.parametrize(("entity_key", "action"), _cases(["bulk_assign"]))
def test_side_path_matrix_bulk_assign(world, entity_key, action):
    assignee = world.personas.bob
    assert _run(world, entity_key, action, assignee=assignee) == []


@pytest.mark.parametrize("entity_key", [e.key for e in entities()])
def test_matrix_create_follows_add_permission(world, entity_key):
    entity = next(e for e in entities() if e.key == entity_key)
    wrong = []
    for user in world.users.values():
        wrong += matrix.probe_create(user, entity)
    assert wrong == []


def test_matrix_covers_every_action_of_the_issue():
    """view, list, search, export, bulk, create, change, delete, restore: each has a probe."""
    assert set(matrix.MATRIX_ACTIONS) == set(matrix.PROBES) | {"create", "bulk_assign"}
