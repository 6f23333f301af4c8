"""Shared fixtures of the security suite: personas, one record of every registered
entity owned by each persona, and clients that act as a persona.

Everything is derived from the entity registry, so a module that registers an entity
(and a factory for it) is in the suite without editing this file. Helpers other test
files use are plain functions here (`api_as`, `page_as`, `make_record`); import them
with `from .conftest import api_as, page_as` inside this package.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import factory
import pytest
from django.apps import apps
from django.db.models import Model
from django.test import Client

from rapport.accounts import services as account_services
from rapport.accounts.models import Role, RoleAssignment
from rapport.core.api.testing import ApiClient, clear_throttle
from rapport.core.registry import Entity, registry
from rapport.testing.factories import PASSWORD, Personas

# Personas of different teams and roles (root conftest): the order is the matrix's order.
PERSONA_NAMES = ("alice", "bob", "carol", "dave", "erin", "admin")

# Modules that may hold factory-boy factories for registered entities; an app adding an
# entity adds its factory to one of these (`rapport/<app>/factories.py` is picked up).
FACTORY_MODULES = ("rapport.testing.factories",)


def entities() -> list[type[Entity]]:
    """Every registered entity, in a stable order (parametrisation ids depend on it)."""
    return sorted(registry, key=lambda entity: entity.key)


def entity_keys() -> list[str]:
    return [entity.key for entity in entities()]


def _factory_modules():
    names = list(FACTORY_MODULES)
    for config in apps.get_app_configs():
        if config.name.startswith("rapport."):
            names.append(f"{config.name}.factories")
    for name in names:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but something it imports does not
                raise


def factory_for(entity: type[Entity]) -> type[factory.Factory]:
    """The factory-boy factory building `entity`'s model (found by its Meta.model)."""
    for module in _factory_modules():
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, factory.Factory)
                and getattr(value._meta, "model", None) is entity.model
            ):
                return value
    raise LookupError(
        f"no factory builds {entity.model.__name__} (entity {entity.key!r}): add one to "
        f"rapport/testing/factories.py so the security suite can make its records"
    )


def sample_data(entity: type[Entity], **overrides: Any) -> dict[str, Any]:
    """A create payload the entity's service accepts (the factory's `build()`)."""
    data = dict(factory_for(entity).build())
    data.update(overrides)
    return data


def make_record(entity: type[Entity], *, owner, actor, team=None, **overrides: Any) -> Model:
    """Create one record through `Entity.create()`, owned by `owner` in `team` (default:
    the owner's primary team). `actor` needs the assign permission when owner != actor."""
    team = team if team is not None else owner.primary_team
    data = sample_data(entity, owner=owner, team=team, **overrides)
    return entity.create(actor=actor, data=data)


# A role an administrator could configure by mistake: writes on the team's records but
# view of one's own only. What it cannot view must not exist for its holder on any door.
ODD_ROLE = {
    "*": {
        "view": "own",
        "add": "own",
        "change": "team",
        "delete": "team",
        "export": "team",
        "assign": "team",
    }
}


def make_odd_persona(username: str = "frank"):
    """A team A user holding ODD_ROLE on team A."""
    role, _created = Role.objects.get_or_create(
        name="security-odd", defaults={"label": "Odd", "permissions": ODD_ROLE}
    )
    user = account_services.user_create(
        username=username, password=PASSWORD, teams=["Team A"], validate=False
    )
    RoleAssignment.objects.create(user=user, role=role, team=user.primary_team)
    return user


def api_as(user) -> ApiClient:
    """An API client signed with a fresh personal token of `user`."""
    return ApiClient(user)


def page_as(user) -> Client:
    """A browser-like client logged in as `user` (session cookie, CSRF not enforced)."""
    client = Client()
    client.force_login(user)
    return client


@dataclass
class World:
    """Personas and, for every entity, one record owned by each persona."""

    personas: Personas
    users: dict[str, Any]
    records: dict[tuple[str, str], Model] = field(default_factory=dict)

    def record(self, entity_key: str, owner_name: str) -> Model:
        return self.records[(entity_key, owner_name)]

    def records_of(self, entity_key: str) -> list[Model]:
        return [obj for (key, _owner), obj in self.records.items() if key == entity_key]

    def fresh(self, entity_key: str, owner_name: str) -> Model:
        """The record as stored now (after a test changed it)."""
        obj = self.record(entity_key, owner_name)
        return type(obj).all_objects.get(pk=obj.pk)


def build_world(personas: Personas) -> World:
    users = {name: getattr(personas, name) for name in PERSONA_NAMES}
    world = World(personas=personas, users=users)
    for entity in entities():
        for name, user in users.items():
            world.records[(entity.key, name)] = make_record(
                entity, owner=user, actor=personas.admin
            )
    return world


@pytest.fixture
def world(personas, django_capture_on_commit_callbacks) -> World:
    """Personas + one record per (entity, owner persona), search-indexed (on-commit
    callbacks run), with rate-limit history cleared."""
    clear_throttle()
    with django_capture_on_commit_callbacks(execute=True):
        result = build_world(personas)
    return result


@pytest.fixture(name="api_as")
def _api_as_fixture():
    return api_as


@pytest.fixture(name="page_as")
def _page_as_fixture():
    return page_as
