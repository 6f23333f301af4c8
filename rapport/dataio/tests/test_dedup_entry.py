"""The on-entry check: warn before saving a likely duplicate; "Save anyway" saves."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.contacts.models import Company, Person
from rapport.dataio.dedup import candidates
from rapport.dataio.dedup.services import duplicate_dismiss
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(**overrides) -> dict:
    data = {
        "first_name": "Oleksandr",
        "last_name": "Shevchenko",
        "emails-count": "1",
        "emails-0-address": "sasha@example.com",
        "emails-primary": "0",
        "phones-count": "1",
        "phones-0-number": "",
        "version": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def existing(alice):
    return PersonFactory(
        actor=alice,
        first_name="Олександр",
        last_name="Шевченко",
        emails=[{"address": "Sasha@Example.com"}],
        phones=[{"number": "+380 50 123 4567"}],
    )


def test_create_warns_about_a_likely_duplicate_and_saves_nothing(alice, existing):
    response = browser(alice).post("/people/new/", form_data())
    assert response.status_code == 200
    [match] = response.context["duplicates"]
    assert match.obj == existing and "same email" in match.reason_texts
    html = response.content.decode()
    assert 'name="confirm_duplicates"' in html and f"/people/{existing.pk}/" in html
    assert Person.objects.count() == 1


def test_save_anyway_creates_the_record(alice, existing):
    response = browser(alice).post("/people/new/", form_data(confirm_duplicates="1"))
    assert response.status_code == 302
    assert Person.objects.count() == 2


def test_a_reformatted_phone_in_other_script_is_found(alice, existing):
    data = form_data(**{"emails-0-address": "", "phones-0-number": "050-123-45-67"})
    response = browser(alice).post("/people/new/", data)
    [match] = response.context["duplicates"]
    assert {"code": "phone"} in match.reasons


def test_editing_a_record_does_not_flag_itself(alice, existing):
    web = browser(alice)
    data = form_data(
        first_name="Олександр",
        last_name="Шевченко",
        version=str(existing.version),
        **{"emails-0-address": "sasha@example.com", "phones-0-number": "+380501234567"},
    )
    response = web.post(f"/people/{existing.pk}/edit/", data)
    assert response.status_code == 302


def test_editing_into_a_duplicate_warns_with_a_merge_link_target(alice, existing):
    other = PersonFactory(actor=alice, first_name="Olga", last_name="Bondar")
    data = form_data(version=str(other.version), first_name="Olga", last_name="Bondar")
    response = browser(alice).post(f"/people/{other.pk}/edit/", data)
    assert response.status_code == 200
    [match] = response.context["duplicates"]
    assert match.obj == existing
    other.refresh_from_db()
    assert other.primary_email != "sasha@example.com"


def test_a_dismissed_pair_is_not_proposed_on_edit(alice, existing):
    other = PersonFactory(actor=alice, first_name="Olga", last_name="Bondar")
    duplicate_dismiss(actor=alice, entity="person", left_id=existing.pk, right_id=other.pk)
    data = form_data(version=str(other.version), first_name="Olga", last_name="Bondar")
    assert browser(alice).post(f"/people/{other.pk}/edit/", data).status_code == 302


def test_records_the_user_may_not_view_are_never_proposed(carol, existing):
    response = browser(carol).post("/people/new/", form_data())
    assert response.status_code == 302  # saved: team A's record stays invisible


def test_company_with_same_domain_warns(alice):
    CompanyFactory(actor=alice, name="Romashka LLC", domains=["romashka.example"])
    data = {"name": "ТОВ Ромашка", "domains": "https://www.romashka.example/", "phones-count": "0"}
    data["addresses-count"] = "0"
    response = browser(alice).post("/companies/new/", data)
    assert response.status_code == 200
    [match] = response.context["duplicates"]
    assert {"code": "domain"} in match.reasons
    assert Company.objects.count() == 1


def test_similar_name_at_the_same_company_is_proposed(alice):
    company = CompanyFactory(actor=alice, name="Acme")
    person = PersonFactory(actor=alice, first_name="William", last_name="Gates", emails=[])
    Person.objects.filter(pk=person.pk).update(company=company)
    matches = candidates.likely_duplicates(
        "person", alice, {"first_name": "Bill", "last_name": "Gates", "company": company.pk}
    )
    assert [m.obj.pk for m in matches] == [person.pk]
    assert [r["code"] for r in matches[0].reasons] == ["company", "name"]


def test_the_check_costs_a_few_indexed_queries_whatever_the_matches(alice, existing):
    fresh = {"first_name": "Zoe", "last_name": "Quill", "emails": [{"address": "z@q.example"}]}
    with CaptureQueriesContext(connection) as queries:
        assert candidates.likely_duplicates("person", alice, fresh) == []
    assert len(queries) == 1  # no likely duplicate: one indexed UNION, nothing else
    for i in range(6):
        PersonFactory(
            actor=alice,
            first_name="Sasha",
            last_name="Shevchenko",
            emails=[{"address": f"s{i}@example.com"}],
            phones=[{"number": "+380501234567"}],
        )
    data = {
        "first_name": "Oleksandr",
        "last_name": "Shevchenko",
        "emails": [{"address": "sasha@example.com"}],
        "phones": [{"number": "+380501234567"}],
    }
    candidates.likely_duplicates("person", alice, data)  # warm the permission cache
    with CaptureQueriesContext(connection) as queries:
        matches = candidates.likely_duplicates("person", alice, data, exclude_pk=existing.pk)
    assert len(matches) == candidates.MAX_SHOWN
    assert len(queries) <= 5  # candidate ids, records, emails, phones, dismissals
