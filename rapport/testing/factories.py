"""Factories and personas for tests (and the benchmark loader)."""

from __future__ import annotations

from dataclasses import dataclass

import factory

from rapport.accounts import services as account_services
from rapport.accounts.models import Team, User
from rapport.contacts import services as contact_services
from rapport.contacts.models import Company, Person

PASSWORD = "correct-horse-battery"  # test-only persona password


@dataclass
class Personas:
    team_a: Team
    team_b: Team
    alice: User
    bob: User
    carol: User
    dave: User
    erin: User
    admin: User


def make_personas() -> Personas:
    # A transactional test flushes the database afterwards, taking the built-in roles the
    # data migration made; put them back so every test starts from the same roles.
    from rapport.accounts.models import Role
    from rapport.accounts.roles import ensure_builtin_roles

    if not Role.objects.filter(builtin=True).exists():
        ensure_builtin_roles(Role)

    def user(name, teams, roles, admin=False):
        return account_services.user_create(
            username=name,
            password=PASSWORD,
            email=f"{name}@example.com",
            first_name=name.title(),
            teams=teams,
            roles=roles,
            admin=admin,
            validate=False,
        )

    alice = user("alice", ["Team A"], ["rep"])
    bob = user("bob", ["Team A"], ["rep"])
    carol = user("carol", ["Team B"], ["rep"])
    dave = user("dave", ["Team A"], ["viewer"])
    erin = user("erin", ["Team A"], ["manager"])
    admin = user("admin", ["Team A"], [], admin=True)
    return Personas(
        team_a=Team.objects.get(name="Team A"),
        team_b=Team.objects.get(name="Team B"),
        alice=alice,
        bob=bob,
        carol=carol,
        dave=dave,
        erin=erin,
        admin=admin,
    )


class PersonFactory(factory.Factory):
    """Builds a person through the service: `PersonFactory(actor=alice, last_name=...)`."""

    class Meta:
        model = Person

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    emails = factory.LazyAttribute(
        lambda o: [
            {"address": f"{o.first_name}.{o.last_name}@example.com".lower(), "label": "work"}
        ]
    )

    @classmethod
    def _create(cls, model_class, *args, actor, **kwargs):
        return contact_services.person_create(actor=actor, data=kwargs)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        kwargs.pop("actor", None)
        return kwargs


class CompanyFactory(factory.Factory):
    class Meta:
        model = Company

    name = factory.Faker("company")
    domains = factory.LazyAttribute(
        lambda o: ["".join(ch for ch in o.name.lower() if ch.isalnum())[:20] + ".example"]
    )

    @classmethod
    def _create(cls, model_class, *args, actor, **kwargs):
        return contact_services.company_create(actor=actor, data=kwargs)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        kwargs.pop("actor", None)
        return kwargs
