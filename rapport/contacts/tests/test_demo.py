"""`rapport demo` and the bulk services it loads through."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from rapport.accounts.models import RoleAssignment, Team, User
from rapport.contacts import services
from rapport.contacts.models import Company, Consent, EmailAddress, Employment, Person
from rapport.core import search
from rapport.core.models import AuditEvent, CustomFieldDefinition
from rapport.dataio.models import DuplicateCluster
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(django_capture_on_commit_callbacks, capsys):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", people=60, companies=12)
    return capsys.readouterr().out


def test_demo_loads_people_companies_teams_and_role_users(demo):
    assert "60 people, 12 companies" in demo
    assert Person.objects.count() == 60
    assert Company.objects.count() == 12
    assert set(Team.objects.values_list("name", flat=True)) >= {"Kyiv", "Warsaw", "London"}
    roles = set(RoleAssignment.objects.values_list("role__name", flat=True))
    assert roles == {"admin", "manager", "rep", "viewer"}
    for username in ("admin", "manager", "rep", "viewer"):
        assert f"  {username} " in demo and User.objects.get(username=username).check_password(
            "rapport-demo"
        )
    owners = set(Person.objects.values_list("owner__username", flat=True))
    assert len(owners) >= 4  # ownership is spread over several users


def test_demo_data_is_realistic_and_went_through_the_rules(demo):
    people = list(Person.objects.all())
    assert all(p.primary_phone.startswith("+") for p in people)
    assert EmailAddress.objects.filter(person__in=people).count() >= 60
    assert Employment.objects.exists() and Person.objects.filter(company__isnull=False).exists()
    assert Consent.objects.exists()
    assert CustomFieldDefinition.objects.filter(entity="person").count() == 3
    assert Person.objects.exclude(custom_fields={}).exists()
    scripts = {"latin": 0, "cyrillic": 0}
    for p in people:
        scripts[
            "cyrillic" if any("\u0400" <= ch <= "\u04ff" for ch in p.last_name) else "latin"
        ] += 1
    assert scripts["latin"] and scripts["cyrillic"]
    created = AuditEvent.objects.filter(action="create", object_type="person").count()
    assert created == 60
    assert search.backend().counts() == {"person": 60, "company": 12}
    # a planted near-duplicate (Latin spelling, same email and phone) is proposed
    cluster = DuplicateCluster.objects.get(entity="person")
    assert len(cluster.member_ids) == 2


def test_demo_is_scoped_and_searchable_across_scripts(demo):
    rep = User.objects.get(username="rep")
    london = Person.objects.filter(team__name="London").first()
    kyiv = Person.objects.filter(team__name="Kyiv").exclude(last_name="").first()
    hits = {h.id for h in search.search(rep, kyiv.last_name)}
    assert kyiv.pk in hits
    assert london.pk not in {h.id for h in search.search(rep, london.last_name)}
    admin = User.objects.get(username="admin")
    assert london.pk in {h.id for h in search.search(admin, london.primary_email)}


def test_demo_is_idempotent(demo, capsys):
    before = (Person.objects.count(), Company.objects.count(), AuditEvent.objects.count())
    call_command("demo", people=60, companies=12)
    out = capsys.readouterr().out
    assert "already loaded" in out and "rapport-demo" in out
    assert (Person.objects.count(), Company.objects.count(), AuditEvent.objects.count()) == before


def test_bulk_create_validates_every_row_and_writes_nothing_on_error(alice):
    rows = [
        {"first_name": "Ok", "emails": [{"address": "ok@example.com"}]},
        {"first_name": "Bad", "emails": [{"address": "not-an-email"}]},
        {"phones": [{"number": "12"}]},
    ]
    with pytest.raises(ValidationError) as caught:
        services.person_bulk_create(actor=alice, rows=rows)
    errors = caught.value.message_dict
    assert "1.emails.0.address" in errors
    assert "2.phones.0.number" in errors
    assert not Person.objects.exists()


def test_bulk_paths_keep_permissions(alice, bob, dave):
    with pytest.raises(PermissionDenied):
        services.person_bulk_create(actor=dave, rows=[{"first_name": "Nope"}])
    person = PersonFactory(actor=alice)
    company = services.company_bulk_create(actor=alice, rows=[{"name": "Acme"}])[0]
    with pytest.raises(PermissionDenied):
        services.employment_bulk_add(actor=bob, links=[{"person": person, "company": company}])
    services.employment_bulk_add(actor=alice, links=[{"person": person, "company": company}])
    person.refresh_from_db()
    assert person.company_id == company.pk
    assert AuditEvent.objects.filter(
        action="update", object_type="person", object_id=person.pk
    ).exists()


def test_bulk_create_defaults_owner_and_audits_each(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        people = services.person_bulk_create(
            actor=alice,
            rows=[
                {"first_name": "Мирослава", "last_name": "Гнатюк", "tags": ["VIP", "vip"]},
                {"first_name": "Zofia", "last_name": "Łęcka", "groups": ["Friends"]},
            ],
        )
    assert {p.owner_id for p in people} == {alice.pk}
    assert {p.team_id for p in people} == {alice.primary_team_id}
    assert list(people[0].tags.values_list("name", flat=True)) == ["VIP"]
    event = AuditEvent.objects.get(action="create", object_type="person", object_id=people[0].pk)
    assert event.changes["tags"] == [None, ["VIP"]]
    assert [h.id for h in search.search(alice, "myroslava")] == [people[0].pk]
    assert [h.id for h in search.search(alice, "lecka")] == [people[1].pk]
