"""People and company services: validation names the field, writes are audited,
trash and restore keep every link, stale versions are refused."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from rapport.contacts import services
from rapport.contacts.models import Company, Consent, Employment, Person
from rapport.core import services as core_services
from rapport.core.exceptions import ConflictError, FieldPermissionDenied, PermissionDenied
from rapport.core.models import AuditEvent, CustomFieldDefinition
from rapport.testing import set_columns
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_phones_in_any_format_are_stored_e164(alice):
    person = services.person_create(
        actor=alice,
        data={
            "first_name": "Ann",
            "phones": [{"number": "067 123-45-67"}, {"number": "+48 601 234 567"}],
        },
    )
    assert [p.number for p in person.phones.all()] == ["+380671234567", "+48601234567"]
    assert person.primary_phone == "+380671234567"


def test_invalid_email_error_names_the_row(alice):
    with pytest.raises(ValidationError) as exc:
        services.person_create(
            actor=alice,
            data={
                "first_name": "Ann",
                "emails": [{"address": "a@x.org"}, {"address": "not-an-email"}],
            },
        )
    assert "emails.1.address" in exc.value.message_dict
    assert Person.objects.count() == 0


def test_person_needs_a_name_or_email(alice):
    with pytest.raises(ValidationError) as exc:
        services.person_create(actor=alice, data={"first_name": "", "last_name": ""})
    assert "first_name" in exc.value.message_dict


def test_every_write_leaves_an_audit_row(alice):
    person = PersonFactory(actor=alice, first_name="Ann", last_name="Lee")
    services.person_update(actor=alice, person=person, data={"last_name": "Li"}, expected_version=1)
    core_services.trash(actor=alice, obj=person)
    core_services.restore(actor=alice, obj=Person.all_objects.get(pk=person.pk))
    actions = list(
        AuditEvent.objects.filter(object_type="person", object_id=person.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete", "restore"]
    update = AuditEvent.objects.get(object_type="person", object_id=person.pk, action="update")
    assert update.changes == {"last_name": ["Lee", "Li"]}


def test_stale_version_is_refused_and_nothing_changes(alice):
    person = PersonFactory(actor=alice, last_name="Lee")
    services.person_update(actor=alice, person=person, data={"last_name": "Li"}, expected_version=1)
    with pytest.raises(ConflictError):
        services.person_update(
            actor=alice, person=person, data={"last_name": "Lo"}, expected_version=1
        )
    assert Person.objects.get(pk=person.pk).last_name == "Li"


def test_teammate_cannot_change_and_denial_is_audited(alice, bob):
    person = PersonFactory(actor=alice)
    with pytest.raises(PermissionDenied):
        services.person_update(actor=bob, person=person, data={"last_name": "X"})
    assert AuditEvent.objects.filter(action="denied", actor=bob, object_id=person.pk).exists()


def test_rep_cannot_set_personal_data_or_assign(alice, bob):
    with pytest.raises(FieldPermissionDenied) as exc:
        services.person_create(
            actor=alice, data={"first_name": "A", "birthday": datetime.date(1990, 1, 1)}
        )
    assert exc.value.field == "birthday"
    with pytest.raises(FieldPermissionDenied) as exc:
        services.person_create(actor=alice, data={"first_name": "A", "owner": bob})
    assert exc.value.field == "owner"


def test_manager_assigns_within_team(erin, bob):
    person = services.person_create(actor=erin, data={"first_name": "A", "owner": bob})
    assert person.owner == bob and person.team == erin.primary_team


def test_trash_and_restore_keep_links(alice):
    company = CompanyFactory(actor=alice, name="Acme")
    person = PersonFactory(actor=alice, tags=["vip"], groups=["Friends"])
    services.employment_add(actor=alice, person=person, company=company, title="CTO")
    services.consent_record(actor=alice, person=person, channel="email", purpose="newsletter")
    core_services.trash(actor=alice, obj=person)
    assert not Person.objects.filter(pk=person.pk).exists()
    core_services.restore(actor=alice, obj=Person.all_objects.get(pk=person.pk))
    restored = Person.objects.get(pk=person.pk)
    assert [t.name for t in restored.tags.all()] == ["vip"]
    assert [g.name for g in restored.groups.all()] == ["Friends"]
    assert Employment.objects.filter(person=restored, company=company, title="CTO").exists()
    assert Consent.objects.filter(person=restored, channel="email").count() == 1
    assert restored.company == company and restored.job_title == "CTO"


def test_current_employer_follows_employments(alice):
    old = CompanyFactory(actor=alice, name="Old Co")
    new = CompanyFactory(actor=alice, name="New Co")
    person = PersonFactory(actor=alice)
    first = services.employment_add(
        actor=alice, person=person, company=old, start_date=datetime.date(2015, 1, 1)
    )
    services.employment_add(
        actor=alice, person=person, company=new, start_date=datetime.date(2020, 1, 1)
    )
    person.refresh_from_db()
    assert person.company == new
    services.employment_end(
        actor=alice,
        employment=Employment.objects.get(company=new),
        end_date=datetime.date(2021, 1, 1),
    )
    person.refresh_from_db()
    assert person.company == old
    assert first.current


def test_consent_rows_are_kept(alice):
    person = PersonFactory(actor=alice)
    first = services.consent_record(actor=alice, person=person, channel="sms", purpose="offers")
    services.consent_withdraw(actor=alice, consent=first)
    services.consent_record(actor=alice, person=person, channel="sms", purpose="offers")
    rows = list(Consent.objects.filter(person=person).order_by("id"))
    assert len(rows) == 2 and rows[0].withdrawn_at is not None and rows[1].active


def test_custom_fields_are_validated(alice):
    CustomFieldDefinition.objects.create(
        entity="person", slug="tier", label="Tier", kind="choice", choices=["gold", "silver"]
    )
    CustomFieldDefinition.objects.create(
        entity="person", slug="score", label="Score", kind="number"
    )
    with pytest.raises(ValidationError) as exc:
        services.person_create(
            actor=alice, data={"first_name": "A", "custom_fields": {"tier": "bronze", "score": "x"}}
        )
    assert set(exc.value.message_dict) == {"custom_fields.tier", "custom_fields.score"}
    person = services.person_create(
        actor=alice, data={"first_name": "A", "custom_fields": {"tier": "gold", "score": "42"}}
    )
    assert person.custom_fields == {"tier": "gold", "score": 42}


def test_company_domains_are_normalised_and_revenue_needs_currency(alice):
    company = services.company_create(
        actor=alice, data={"name": "Acme", "domains": ["https://www.Acme.COM/about", "acme.com"]}
    )
    assert company.domains == ["acme.com"] and company.primary_domain == "acme.com"
    with pytest.raises(ValidationError) as exc:
        services.company_create(actor=alice, data={"name": "B", "annual_revenue": "100"})
    assert "revenue_currency" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.company_update(actor=alice, company=company, data={"parent": company})
    assert "parent" in exc.value.message_dict
    assert Company.objects.count() == 1


def test_sort_key_is_folded_across_scripts(alice):
    person = services.person_create(actor=alice, data={"first_name": "Łukasz", "last_name": "Żółć"})
    assert person.sort_key == "zolc lukasz"
    person = services.person_create(
        actor=alice, data={"first_name": "Олександр", "last_name": "Шевченко"}
    )
    assert person.sort_key == "shevchenko oleksandr"


def test_a_company_update_sets_the_columns_it_changes_and_stores_the_whole_record(alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    company = services.company_create(
        actor=alice,
        data={"name": "Acme", "industry": "Tools", "domains": ["acme.example"], "size": "10-49"},
    )
    with CaptureQueriesContext(connection) as seen:
        updated = services.company_update(
            actor=alice, company=company, data={"industry": "Hardware", "legal_name": "Acme Ltd"}
        )
    columns = set_columns(seen.captured_queries, "contacts_company")
    assert {"industry", "legal_name", "updated_at", "version"} <= columns
    assert not {"name", "sort_key", "owner_id", "team_id", "created_at", "size"} & columns
    stored = Company.objects.get(pk=company.pk)
    for field in Company._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(updated, field.attname), field.name
    assert (stored.industry, stored.legal_name, stored.version) == ("Hardware", "Acme Ltd", 2)
    assert stored.name == "Acme" and stored.domains == ["acme.example"]
