"""Subject access export: complete for the subject, nothing about anyone else, and only
for those allowed (outsider 404, viewer and rep 403, denials audited)."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from rapport.contacts import services
from rapport.contacts.models import Company, Consent, EmailAddress, Employment, Person, PhoneNumber
from rapport.core import audit
from rapport.core.api.testing import ApiClient, clear_throttle, is_problem
from rapport.core.customfield_services import customfield_create
from rapport.core.exceptions import PermissionDenied
from rapport.core.models import AuditEvent
from rapport.dataio import privacy
from rapport.dataio.merging import record_merge
from rapport.dataio.models import ImportJob, ImportRow
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db

EMAIL = "zeb.quux@example.org"
EMAIL_2 = "zq@home.example"
OLD_EMAIL = "zeb.old@example.net"
FORMER_EMAIL = "zebby1979@mail.example"  # held once, replaced since
PHONE = "+380671234567"
PHONE_2 = "+48601234567"
NOTES = "Allergic to peanuts; met him at the Vorskla fair"
# What must vanish on erasure, wherever it was copied to.
TRACES = [
    "Zebediah",
    "Quuxworth",
    "Orrinsky",
    EMAIL,
    EMAIL_2,
    OLD_EMAIL,
    FORMER_EMAIL,
    "671234567",
    "601234567",
    "peanuts",
    "Vorskla",
    "Wombat Lane",
    "zquuxworth",
    "Zebby",
]


@dataclass
class Subject:
    person: Person
    tombstone: Person
    other: Person
    company: Company
    job: ImportJob


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(buffer, "PNG")
    return SimpleUploadedFile("face.png", buffer.getvalue(), content_type="image/png")


def make_subject(admin, alice) -> Subject:
    """A person with everything Rapport can hold about someone, copies included."""
    customfield_create(
        actor=admin,
        data={"entity": "person", "slug": "nickname", "label": "Nickname", "kind": "text"},
    )
    company = CompanyFactory(actor=alice, name="Acme Widgets")
    person = services.person_create(
        actor=admin,
        data={
            "prefix": "Dr",
            "first_name": "Zebediah",
            "middle_name": "Orrinsky",
            "last_name": "Quuxworth",
            "emails": [{"address": EMAIL, "label": "work"}, {"address": EMAIL_2}],
            "phones": [{"number": PHONE}, {"number": PHONE_2}],
            "addresses": [{"street": "17 Wombat Lane", "city": "Kyiv"}],
            "websites": ["https://zquuxworth.example"],
            "social_profiles": [{"network": "linkedin", "handle": "zquuxworth"}],
            "birthday": "1980-04-05",
            "gender": "male",
            "notes": NOTES,
            "tags": ["vip"],
            "groups": ["Golfers"],
            "custom_fields": {"nickname": "Zebby"},
            "photo": _png(),
            "owner": alice,
        },
    )
    services.person_update(
        actor=admin,
        person=person,
        data={"notes": NOTES + " (again)", "emails": [{"address": FORMER_EMAIL}]},
    )
    services.person_update(
        actor=admin,
        person=person,
        data={"notes": NOTES, "emails": [{"address": EMAIL}, {"address": EMAIL_2}]},
    )
    services.employment_add(
        actor=admin, person=person, company=company, title="Head of Quuxworth Labs"
    )
    services.consent_record(
        actor=admin,
        person=person,
        channel="email",
        purpose="Newsletter for Zebediah",
        source="Signed up as zeb.quux@example.org",
    )
    tombstone = services.person_create(
        actor=admin,
        data={
            "first_name": "Zeb",
            "last_name": "Quuxworth",
            "emails": [{"address": OLD_EMAIL}, {"address": EMAIL_2}],  # one is a duplicate
        },
    )
    record_merge(actor=admin, entity="person", survivor=person, merged=tombstone)
    other = PersonFactory(actor=alice, first_name="Olena", last_name="Kovalenko")
    job = ImportJob.objects.create(
        user=admin,
        entity="person",
        file=default_storage.save("imports/people.csv", ContentFile(b"Zebediah,Quuxworth\n")),
        filename="people.csv",
        format="csv",
        status=ImportJob.Status.DONE,
    )
    ImportRow.objects.create(
        job=job, number=1, outcome="created", values=["Zebediah", EMAIL], object_id=person.pk
    )
    ImportRow.objects.create(
        job=job,
        number=2,
        outcome="rejected",
        reason="invalid phone",
        values=["Zeb Quuxworth", EMAIL, "not a phone"],
    )
    ImportRow.objects.create(
        job=job, number=3, outcome="created", values=["Olena", "Kovalenko"], object_id=other.pk
    )
    audit.record(
        audit.Action.UPDATE,
        actor=admin,
        obj=company,
        changes={"contact": ["", f"Zebediah Quuxworth <{EMAIL}>"]},
    )
    audit.record(audit.Action.UPDATE, actor=admin, obj=company, changes={"cc": ["", FORMER_EMAIL]})
    return Subject(person, tombstone, other, company, job)


@pytest.fixture
def subject(admin, alice, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        return make_subject(admin, alice)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the document -----------------------------------------------------------------------


def test_export_holds_every_row_about_the_subject(subject, admin):
    doc = privacy.subject_export(actor=admin, person=subject.person)
    person = subject.person
    assert doc["format_version"] == privacy.FORMAT_VERSION and doc["generated_at"]
    assert doc["subject"] == {"type": "person", "id": person.pk}
    record = doc["person"]
    assert (record["first_name"], record["middle_name"], record["last_name"]) == (
        "Zebediah",
        "Orrinsky",
        "Quuxworth",
    )
    assert record["birthday"] == "1980-04-05" and record["gender"] == "male"
    assert record["notes"] == NOTES and record["photo"].startswith("people/")
    assert record["photo_file"]["content_type"] == "image/png"
    assert base64.b64decode(record["photo_file"]["base64"]).startswith(b"\x89PNG")
    assert [e["address"] for e in record["emails"]] == [EMAIL, EMAIL_2, OLD_EMAIL]
    assert [p["number"] for p in record["phones"]] == [PHONE, PHONE_2]
    assert record["addresses"][0]["street"] == "17 Wombat Lane"
    assert record["social_profiles"][0]["handle"] == "zquuxworth"
    assert doc["tags"] == ["vip"] and doc["groups"] == ["Golfers"]
    assert doc["custom_fields"] == [{"key": "nickname", "label": "Nickname", "value": "Zebby"}]
    assert [(e["company_name"], e["title"]) for e in doc["employments"]] == [
        ("Acme Widgets", "Head of Quuxworth Labs")
    ]
    assert [(c["purpose"], c["source"]) for c in doc["consents"]] == [
        ("Newsletter for Zebediah", f"Signed up as {EMAIL}")
    ]
    assert [m["id"] for m in doc["merged_records"]] == [subject.tombstone.pk]
    assert doc["merged_records"][0]["merged_into"] == person.pk
    assert [(m["survivor_id"], m["merged_id"]) for m in doc["merges"]] == [
        (person.pk, subject.tombstone.pk)
    ]
    assert [(r["file"], r["row"], r["values"]) for r in doc["imports"]] == [
        ("people.csv", 1, ["Zebediah", EMAIL])
    ]
    actions = [(h["record"], h["action"]) for h in doc["history"]]
    assert actions.count((person.pk, "update")) == 4 and (person.pk, "merge") in actions
    assert actions.count((person.pk, "create")) == 2  # the merge re-pointed the tombstone's
    assert any(h["changes"].get("notes") for h in doc["history"])


def test_export_holds_nothing_about_anyone_else(subject, admin):
    text = json.dumps(privacy.subject_export(actor=admin, person=subject.person))
    for trace in ("Olena", "Kovalenko", subject.other.primary_email, "Acme Widgets Ltd"):
        assert trace not in text
    assert f'"record": {subject.other.pk}' not in text


def test_rows_of_other_models_pointing_at_the_person_are_found_generically(
    subject, admin, monkeypatch
):
    # No later module (activities, relations) exists yet: treat consents as one of them.
    monkeypatch.setattr(privacy, "OWN_CHILDREN", (EmailAddress, PhoneNumber, Employment))
    assert (Consent, "person") in list(privacy.related_relations())
    doc = privacy.subject_export(actor=admin, person=subject.person)
    assert [row["purpose"] for row in doc["related"]["contacts.consent"]] == [
        "Newsletter for Zebediah"
    ]


def test_export_is_audited(subject, admin):
    privacy.subject_export(actor=admin, person=subject.person)
    event = AuditEvent.objects.filter(action="subject_export").get()
    assert (event.object_type, event.object_id, event.actor_id) == (
        "person",
        subject.person.pk,
        admin.pk,
    )


# --- who may -------------------------------------------------------------------------------


def test_manager_with_personal_data_may_export_but_rep_and_viewer_may_not(subject, erin, bob, dave):
    assert privacy.may_export_subject(erin, subject.person)
    for user in (bob, dave):
        assert not privacy.may_export_subject(user, subject.person)
        with pytest.raises(PermissionDenied):
            privacy.subject_export(actor=user, person=subject.person)
    denied = AuditEvent.objects.filter(action="denied", object_id=subject.person.pk)
    assert {e.actor_id for e in denied} == {bob.pk, dave.pk}
    assert not AuditEvent.objects.filter(action="subject_export").exists()


def test_page_download_is_a_json_attachment(subject, admin):
    response = browser(admin).get(f"/data/privacy/person/{subject.person.pk}/export.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == (
        f'attachment; filename="person-{subject.person.pk}-data.json"'
    )
    assert json.loads(response.content)["person"]["last_name"] == "Quuxworth"


def test_page_outsider_gets_404_and_viewer_403(subject, carol, dave):
    url = f"/data/privacy/person/{subject.person.pk}/export.json"
    assert browser(carol).get(url).status_code == 404
    assert browser(dave).get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the sign-in page


def test_record_page_offers_the_actions_only_to_those_allowed(subject, admin, erin, dave):
    url = f"/people/{subject.person.pk}/"
    export = f"/data/privacy/person/{subject.person.pk}/export.json"
    erase = f"/data/privacy/person/{subject.person.pk}/erase/"
    page = browser(admin).get(url).content.decode()
    assert export in page and erase in page
    page = browser(erin).get(url).content.decode()
    assert export in page and erase not in page
    page = browser(dave).get(url).content.decode()
    assert export not in page and erase not in page
    company_page = browser(admin).get(f"/companies/{subject.company.pk}/").content.decode()
    assert "/data/privacy/" not in company_page


def test_api_export_and_its_refusals(subject, admin, carol, dave):
    clear_throttle()
    path = f"/privacy/people/{subject.person.pk}/export"
    response = ApiClient(admin).get(path)
    assert response.status_code == 200, response.content
    assert response.json()["person"]["emails"][0]["address"] == EMAIL
    assert is_problem(ApiClient(carol).get(path), 404)
    assert is_problem(ApiClient(dave).get(path), 403)
    assert is_problem(ApiClient(admin).get("/privacy/people/999999999/export"), 404)


def test_api_endpoints_are_in_openapi(admin):
    clear_throttle()
    schema = ApiClient(admin).get("/openapi.json").json()
    export = schema["paths"]["/api/v1/privacy/people/{id}/export"]["get"]
    erase = schema["paths"]["/api/v1/privacy/people/{id}/erase"]["post"]
    assert {"200", "403", "404"} <= set(export["responses"])
    assert {"200", "403", "404", "422"} <= set(erase["responses"])
    assert "application/problem+json" in erase["responses"]["403"]["content"]
    assert "requestBody" in erase
