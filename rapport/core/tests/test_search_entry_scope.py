"""Search entries carry their record's team and owner (decision 0040).

Search tests the scope on that copy first (from the title indexes, before reading an
entry or a record) and asks the record itself only about matching entries. So the copy
must follow every change of owner or team, and a stale copy must never show a record
the user may not view.
"""

from importlib import import_module

import pytest
from django.db import connection

from rapport.contacts.models import Company, Person
from rapport.core import search
from rapport.core.checks import search_problems
from rapport.core.searchbackends.base import ENTRY_TABLE
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db

migration = import_module("rapport.core.migrations.0005_search_entry_scope")


def copy_of(entity: str, pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT team_id, owner_id FROM {ENTRY_TABLE} WHERE entity = %s AND object_id = %s",  # noqa: S608
            [entity, pk],
        )
        return tuple(cursor.fetchone())


def set_copy(entity: str, pk: int, team_id, owner_id) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ENTRY_TABLE} SET team_id = %s, owner_id = %s "  # noqa: S608
            "WHERE entity = %s AND object_id = %s",
            [team_id, owner_id, entity, pk],
        )


def found(user, text, entity="person") -> set[int]:
    return {hit.id for hit in search.search(user, text, limit=50) if hit.entity == entity}


def test_entries_copy_team_and_owner_when_created(alice, carol, team_a, team_b, commit):
    person = commit(PersonFactory, actor=alice, first_name="Wiktor", last_name="Zielony")
    company = commit(CompanyFactory, actor=carol, name="Zielony Garden")
    assert copy_of("person", person.pk) == (team_a.pk, alice.pk)
    assert copy_of("company", company.pk) == (team_b.pk, carol.pk)


def test_reassigning_moves_the_copy_and_the_hits(alice, carol, admin, team_b, commit):
    from rapport.contacts.services import company_update, person_update

    person = commit(PersonFactory, actor=alice, first_name="Wiktor", last_name="Zielony")
    company = commit(CompanyFactory, actor=alice, name="Zielony Garden")
    assert found(alice, "zielony") == {person.pk} and found(carol, "zielony") == set()
    commit(person_update, actor=admin, person=person, data={"owner": carol, "team": team_b})
    commit(company_update, actor=admin, company=company, data={"owner": carol, "team": team_b})
    assert copy_of("person", person.pk) == (team_b.pk, carol.pk)
    assert copy_of("company", company.pk) == (team_b.pk, carol.pk)
    assert found(carol, "zielony") == {person.pk}
    assert found(carol, "zielony", "company") == {company.pk}
    assert found(alice, "zielony") == set()
    assert found(alice, "zielony", "company") == set()


def test_a_stale_copy_never_shows_a_record_out_of_scope(alice, carol, team_a, commit):
    """The record decides: a copy claiming alice's team does not show carol's record."""
    hers = commit(PersonFactory, actor=carol, first_name="Wiktor", last_name="Zielony")
    set_copy("person", hers.pk, team_a.pk, alice.pk)
    assert found(alice, "zielony") == set()
    assert found(alice, "wik") == set()
    assert found(carol, "zielony") == set()  # hidden from her until the entry is rewritten
    search.index_object(Person.objects.get(pk=hers.pk))
    assert found(carol, "zielony") == {hers.pk}


def test_the_check_reports_stale_copies_and_a_reindex_mends_them(alice, team_b, commit):
    person = commit(PersonFactory, actor=alice, first_name="Wiktor", last_name="Zielony")
    assert search_problems() == []
    set_copy("person", person.pk, team_b.pk, None)
    (warning,) = search_problems()
    assert warning.id == "rapport.W007" and "1 entries for people" in warning.msg
    assert search.stale_copies() == {"person": 1}
    search.rebuild()
    assert search_problems() == []


class _Editor:
    """What the migration's forwards() uses of a schema editor."""

    connection = connection

    def execute(self, sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def test_the_upgrade_fills_the_copies_of_existing_entries(alice, carol, commit):
    people = [
        commit(PersonFactory, actor=user, first_name="Wiktor", last_name=f"Zielony{n}")
        for n, user in enumerate([alice, carol, alice])
    ]
    company = commit(CompanyFactory, actor=carol, name="Zielony Garden")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {ENTRY_TABLE} SET team_id = NULL, owner_id = NULL")  # noqa: S608
    assert found(alice, "zielony") == set()  # what an upgrade without the fill would do
    migration.forwards(None, _Editor())
    for person in people:
        stored = Person.objects.get(pk=person.pk)
        assert copy_of("person", person.pk) == (stored.team_id, stored.owner_id)
    stored = Company.objects.get(pk=company.pk)
    assert copy_of("company", company.pk) == (stored.team_id, stored.owner_id)
    assert found(alice, "zielony") == {people[0].pk, people[2].pk}
    assert search_problems() == []
