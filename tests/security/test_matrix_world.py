"""The shared world really holds what the matrix assumes."""

from __future__ import annotations

import pytest

from rapport.core import permissions

from .conftest import PERSONA_NAMES, entities

pytestmark = pytest.mark.django_db


def test_world_has_one_record_per_entity_and_owner(world):
    for entity in entities():
        for name in PERSONA_NAMES:
            obj = world.record(entity.key, name)
            user = world.users[name]
            assert obj.owner_id == user.pk and obj.team_id == user.primary_team_id
            assert entity.model.objects.filter(pk=obj.pk).exists()


def test_world_spans_teams_so_visibility_differs(world):
    carol = world.users["carol"]
    for entity in entities():
        visible = [
            o
            for o in world.records_of(entity.key)
            if permissions.allows(carol, entity.key, "view", o)
        ]
        assert 0 < len(visible) < len(PERSONA_NAMES)


def test_api_as_and_page_as_act_as_the_persona(world, api_as, page_as):
    entity = entities()[0]
    obj = world.record(entity.key, "carol")
    assert api_as(world.users["alice"]).get(f"/{entity.url_base}/{obj.pk}").status_code == 404
    assert page_as(world.users["carol"]).get(f"/{entity.url_base}/{obj.pk}/").status_code == 200
