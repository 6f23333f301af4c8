"""Erasure leaves no trace of the person in any table or index, keeps what is not
personal, suppresses the channels for later imports and forms, and is for administrators
only, confirmed, audited without personal values."""

from __future__ import annotations

import json
import os

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client

from rapport.contacts import services
from rapport.contacts.models import Consent, EmailAddress, Employment, Person, PhoneNumber
from rapport.core import audit, search
from rapport.core.api.testing import ApiClient, clear_throttle, fields_of, is_problem
from rapport.core.exceptions import PermissionDenied, ValidationError
from rapport.core.models import AuditEvent
from rapport.dataio import privacy, suppression
from rapport.dataio.models import ImportRow, Merge, Suppression
from rapport.dataio.privacy_erase import person_erase
from rapport.dataio.tests.test_privacy import (
    EMAIL,
    EMAIL_2,
    OLD_EMAIL,
    PHONE,
    TRACES,
    make_subject,
)
from rapport.testing.factories import CompanyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(admin, alice, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        return make_subject(admin, alice)


def erase(admin, person, callbacks, reason="Asked by Zebediah Quuxworth on 2 May"):
    with callbacks(execute=True):  # the search index and the photo go on commit
        return person_erase(actor=admin, person=person, reason=reason)


def _texts(value) -> list[str]:
    """Every way a stored value can be read: as text, as bytes, as unescaped JSON."""
    if value is None or isinstance(value, int | float):
        return []
    if isinstance(value, memoryview | bytes | bytearray):
        raw = bytes(value)
        return [raw.decode("utf-8", "ignore"), raw.decode("latin-1")]
    text = str(value)
    forms = [text]
    try:
        forms.append(json.dumps(json.loads(text), ensure_ascii=False))
    except (ValueError, TypeError):
        pass
    return forms


def traces_in_database(needles: list[str]) -> list[tuple[str, str]]:
    """(table, needle) for every needle found in any column of any table, by raw SQL."""
    found = []
    lowered = [n.casefold() for n in needles]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    for text in _texts(value):
                        folded = text.casefold()
                        found += [(table, n) for n in lowered if n in folded]
    return sorted(set(found))


def test_erasure_leaves_no_trace_in_any_table(subject, admin, django_capture_on_commit_callbacks):
    assert ("contacts_person", "quuxworth") in traces_in_database(TRACES)  # the scan sees
    erase(admin, subject.person, django_capture_on_commit_callbacks)
    assert traces_in_database(TRACES) == []


def _fts_blocks() -> bytes:
    """SQLite's raw FTS5 index segments (empty elsewhere): deleted documents' trigrams
    stay in them until the segments are merged."""
    if connection.vendor != "sqlite":
        return b""
    with connection.cursor() as cursor:
        cursor.execute("SELECT block FROM core_search_fts_data")
        return b"".join(bytes(row[0]) for row in cursor.fetchall() if row[0] is not None)


@pytest.fixture
def committed(transactional_db):
    """A database whose writes really commit: the built-in roles come back (an earlier
    transactional test's flush removed them) and the search tables, which a flush does
    not know about, are emptied afterwards."""
    from rapport.accounts.models import Role
    from rapport.accounts.roles import ensure_builtin_roles

    ensure_builtin_roles(Role)
    yield
    search.backend().delete_all()


@pytest.mark.django_db(transaction=True)  # FTS5 writes its segments on a real commit
def test_search_index_forgets_the_person(
    committed, subject, admin, django_capture_on_commit_callbacks
):
    assert [h.id for h in search.search(admin, "Quuxworth")] == [subject.person.pk]
    # "xw" (of "quuxworth") occurs in no other indexed text: a trigram suffix of it in
    # the raw segments can only come from the person.
    assert (b"xw" in _fts_blocks()) is (connection.vendor == "sqlite")
    erase(admin, subject.person, django_capture_on_commit_callbacks)
    for text in ("Quuxworth", "Zebediah", EMAIL, "0671234567"):
        assert search.search(admin, text) == []
    assert [h.id for h in search.search(admin, "Kovalenko")] == [subject.other.pk]
    assert b"xw" not in _fts_blocks()


def test_what_is_not_personal_stays(subject, admin, django_capture_on_commit_callbacks):
    person = subject.person
    consent_before = Consent.objects.get(person=person)
    moved_email = EmailAddress.objects.get(address=OLD_EMAIL).pk
    erased = erase(admin, person, django_capture_on_commit_callbacks)
    assert erased.pk == person.pk and str(erased) == f"Erased person #{person.pk}"
    assert (erased.owner_id, erased.team_id, erased.company_id) == (
        person.owner_id,
        person.team_id,
        subject.company.pk,
    )
    assert not erased.photo and not os.listdir(os.path.dirname(person.photo.path))
    assert erased.birthday is None and erased.custom_fields == {} and erased.notes == ""
    assert not EmailAddress.objects.filter(person__in=[person, subject.tombstone]).exists()
    assert not PhoneNumber.objects.filter(person=person).exists()
    assert not erased.tags.exists() and not erased.groups.exists()
    employment = Employment.objects.get(person=person)
    assert (employment.company_id, employment.title) == (subject.company.pk, "")
    consent = Consent.objects.get(person=person)
    assert (consent.channel, consent.given_at, consent.source) == (
        "email",
        consent_before.given_at,
        "",
    )
    assert consent.purpose == "Newsletter for [erased]"
    tombstone = Person.all_objects.get(pk=subject.tombstone.pk)
    assert tombstone.merged_into == person.pk and tombstone.first_name == ""
    # The other person and the company are untouched, with their history.
    other = Person.objects.get(pk=subject.other.pk)
    assert (other.first_name, other.last_name) == ("Olena", "Kovalenko")
    assert ImportRow.objects.get(job=subject.job, number=3).values == ["Olena", "Kovalenko"]
    assert not default_storage.exists(subject.job.file.name)  # the source file held them
    subject.job.refresh_from_db()
    assert subject.job.status == "done" and not subject.job.file
    company_event = AuditEvent.objects.get(object_type="company", changes__has_key="contact")
    assert company_event.changes["contact"] == ["", "[erased] <[erased]>"]
    # The history keeps which fields changed and who changed them, not the values.
    own = AuditEvent.objects.filter(object_type="person", object_id=person.pk, action="update")
    assert all(e.actor_id == admin.pk for e in own)
    assert any(e.changes.get("notes") == ["[erased]", "[erased]"] for e in own)
    merge = Merge.objects.get()
    emails = merge.moved["contacts.emailaddress.person"]
    assert merge.merged_before["last_name"] == "[erased]" and emails["ids"] == [moved_email]
    assert emails["dropped"][0]["address"] == "[erased]"


def test_erase_row_is_audited_without_personal_values(
    subject, admin, django_capture_on_commit_callbacks
):
    erase(admin, subject.person, django_capture_on_commit_callbacks)
    event = AuditEvent.objects.get(action="erase", object_id=subject.person.pk)
    assert event.actor_id == admin.pk and event.object_repr == f"Erased person #{subject.person.pk}"
    assert event.extra["reason"] == "Asked by [erased] on 2 May"
    assert event.extra["records"] == [subject.person.pk, subject.tombstone.pk]
    text = json.dumps([event.changes, event.extra, event.object_repr]).casefold()
    assert not [t for t in TRACES if t.casefold() in text]


def test_erased_channels_are_suppressed_and_new_people_with_them_refused(
    subject, admin, alice, django_capture_on_commit_callbacks
):
    erase(admin, subject.person, django_capture_on_commit_callbacks)
    assert Suppression.objects.count() == 5  # three emails, two phones, hashes only
    assert suppression.suppressed_digests("email", [EMAIL.upper(), "new@example.com"]) == {
        EMAIL.upper()
    }
    with pytest.raises(ValidationError) as refused:
        services.person_create(
            actor=alice,
            data={
                "first_name": "Zed",
                "emails": [{"address": "fresh@example.com"}, {"address": EMAIL_2.upper()}],
                "phones": [{"number": "067 123 45 67"}],
            },
        )
    assert set(refused.value.message_dict) == {"emails.1.address", "phones.0.number"}
    assert "erased" in refused.value.message_dict["emails.1.address"][0]
    assert not Person.objects.filter(first_name="Zed").exists()
    services.person_create(actor=alice, data={"first_name": "Zed"})  # others still may


def test_api_create_reports_a_suppressed_email_on_the_field(
    subject, admin, alice, django_capture_on_commit_callbacks
):
    erase(admin, subject.person, django_capture_on_commit_callbacks)
    clear_throttle()
    response = ApiClient(alice).post("/people", {"first_name": "Z", "emails": [{"address": EMAIL}]})
    assert is_problem(response, 422) and fields_of(response) == ["emails.0.address"]


def test_only_administrators_may_erase_and_refusals_are_audited(subject, erin, alice):
    for user in (erin, alice):
        with pytest.raises(PermissionDenied):
            person_erase(actor=user, person=subject.person, reason="asked")
    assert Person.objects.get(pk=subject.person.pk).last_name == "Quuxworth"
    denied = AuditEvent.objects.filter(action="denied", object_id=subject.person.pk)
    assert {e.actor_id for e in denied} == {erin.pk, alice.pk}
    assert privacy.may_erase(subject.person.owner, subject.person) is False


def test_a_reason_is_required(subject, admin):
    with pytest.raises(ValidationError) as refused:
        person_erase(actor=admin, person=subject.person, reason="   ")
    assert list(refused.value.message_dict) == ["reason"]
    assert Person.objects.get(pk=subject.person.pk).first_name == "Zebediah"


# --- pages and API -------------------------------------------------------------------------


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_page_confirms_then_erases_and_returns_to_the_record(
    subject, admin, django_capture_on_commit_callbacks
):
    url = f"/data/privacy/person/{subject.person.pk}/erase/"
    web = browser(admin)
    page = web.get(url)
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    wrong = web.post(url, {"reason": "asked", "confirm": "0"})
    assert wrong.status_code == 200 and b"to confirm" in wrong.content
    assert Person.objects.get(pk=subject.person.pk).first_name == "Zebediah"
    with django_capture_on_commit_callbacks(execute=True):
        done = web.post(url, {"reason": "asked", "confirm": str(subject.person.pk)}, follow=True)
    assert done.redirect_chain[-1][0] == f"/people/{subject.person.pk}/"
    body = done.content.decode()
    assert f"Erased person #{subject.person.pk}" in body and "Quuxworth" not in body


def test_page_refuses_outsiders_and_non_administrators(subject, carol, erin):
    url = f"/data/privacy/person/{subject.person.pk}/erase/"
    assert browser(carol).get(url).status_code == 404
    assert browser(erin).get(url).status_code == 403
    assert browser(erin).post(url, {"reason": "x", "confirm": "1"}).status_code == 403


def test_api_erase(subject, admin, carol, erin, django_capture_on_commit_callbacks):
    clear_throttle()
    path = f"/privacy/people/{subject.person.pk}/erase"
    assert is_problem(ApiClient(carol).post(path, {"reason": "x", "confirm": "1"}), 404)
    assert is_problem(ApiClient(erin).post(path, {"reason": "x", "confirm": "1"}), 403)
    client = ApiClient(admin)
    unconfirmed = client.post(path, {"reason": "asked", "confirm": "0"})
    assert is_problem(unconfirmed, 422) and fields_of(unconfirmed) == ["confirm"]
    unknown = client.post(path, {"reason": "asked", "confirm": subject.person.pk, "x": 1})
    assert is_problem(unknown, 422) and fields_of(unknown) == ["x"]
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path, {"reason": "asked", "confirm": subject.person.pk})
    assert done.status_code == 200, done.content
    assert done.json() == {
        "id": subject.person.pk,
        "erased": True,
        "name": f"Erased person #{subject.person.pk}",
    }
    assert Suppression.objects.filter(digest=suppression.digest("phone", PHONE)).exists()


def test_a_later_import_of_the_erased_person_is_rejected_and_reported(
    subject, admin, alice, django_capture_on_commit_callbacks, settings, tmp_path
):
    from rapport.dataio.tests.importhelpers import assert_counts_add_up, import_rows, outcomes

    erase(admin, subject.person, django_capture_on_commit_callbacks)
    rows = [
        ["First name", "Last name", "Email", "Phone"],
        ["Zebediah", "Quuxworth", EMAIL.upper(), ""],
        ["Zeb", "Q", "", "067 123 45 67"],
        ["Nadia", "Fresh", "nadia@example.com", ""],
    ]
    with django_capture_on_commit_callbacks(execute=True):
        job = import_rows(alice, rows)
    assert outcomes(job) == [(1, "rejected"), (2, "rejected"), (3, "created")]
    assert all("erased" in row.reason for row in job.rows.filter(outcome="rejected"))
    assert_counts_add_up(job, 3)
    assert not Person.objects.filter(last_name="Quuxworth").exists()


def test_a_merge_of_the_erased_person_can_no_longer_be_undone(
    subject, admin, django_capture_on_commit_callbacks
):
    from rapport.dataio.merge_undo import MergeUndoRefused, merge_undo

    erase(admin, subject.person, django_capture_on_commit_callbacks)
    with pytest.raises(MergeUndoRefused):
        merge_undo(actor=admin, merge=Merge.objects.get())
    assert Person.all_objects.get(pk=subject.tombstone.pk).merged_into == subject.person.pk


def test_cyrillic_names_and_many_addresses_are_found_in_other_records(
    admin, alice, django_capture_on_commit_callbacks
):
    emails = [f"oleksandr.{i}@example.ua" for i in range(60)]  # more than one LIKE batch
    with django_capture_on_commit_callbacks(execute=True):
        person = services.person_create(
            actor=admin,
            data={
                "first_name": "Олександр",
                "last_name": "Шевченко",
                "emails": [{"address": e} for e in emails],
            },
        )
        company = CompanyFactory(actor=alice, name="Київстар", domains=["kyivstar.example"])
    for changes in ({"note": ["", "дзвонив ОЛЕКСАНДР ШЕВЧЕНКО"]}, {"cc": ["", emails[59]]}):
        audit.record(audit.Action.UPDATE, actor=admin, obj=company, changes=changes)
    erase(admin, person, django_capture_on_commit_callbacks, reason="Запит від Олександр Шевченко")
    assert traces_in_database(["Олександр", "Шевченко", "oleksandr shevchenko", emails[59]]) == []
    event = AuditEvent.objects.get(object_type="company", changes__has_key="note")
    assert event.changes == {"note": ["", "дзвонив [erased]"]}


def test_a_person_in_the_trash_can_still_be_exported_and_erased(
    subject, admin, carol, django_capture_on_commit_callbacks
):
    from rapport.core.services import trash

    trash(actor=admin, obj=subject.person)
    clear_throttle()
    base = f"/privacy/people/{subject.person.pk}"
    assert ApiClient(admin).get(f"{base}/export").json()["person"]["last_name"] == "Quuxworth"
    assert is_problem(ApiClient(carol).get(f"{base}/export"), 404)
    assert is_problem(ApiClient(admin).get(f"/privacy/people/{subject.tombstone.pk}/export"), 404)
    url = f"/data/privacy/person/{subject.person.pk}/erase/"
    with django_capture_on_commit_callbacks(execute=True):
        done = browser(admin).post(url, {"reason": "asked", "confirm": str(subject.person.pk)})
    assert done.status_code == 302 and done["Location"] == "/trash/"
    erased = Person.all_objects.get(pk=subject.person.pk)
    assert erased.first_name == "" and erased.deleted_at is not None


def test_duplicate_proposals_with_the_person_are_dropped(
    subject, admin, django_capture_on_commit_callbacks
):
    from rapport.dataio.models import DuplicateCluster, DuplicatePair, DuplicateScan

    scan = DuplicateScan.objects.create(entity="person", status="done")
    members = sorted([subject.person.pk, subject.other.pk])
    mine = DuplicateCluster.objects.create(
        scan=scan, entity="person", score=0.9, member_ids=members
    )
    DuplicatePair.objects.create(
        cluster=mine, entity="person", left_id=members[0], right_id=members[1], score=0.9
    )
    unrelated = DuplicateCluster.objects.create(
        scan=scan, entity="person", score=0.8, member_ids=[998, 999]
    )
    DuplicatePair.objects.create(
        cluster=unrelated, entity="person", left_id=998, right_id=999, score=0.8
    )
    erase(admin, subject.person, django_capture_on_commit_callbacks)
    assert list(DuplicateCluster.objects.values_list("pk", flat=True)) == [unrelated.pk]


def test_records_of_other_entities_pointing_at_the_person_are_scrubbed_and_versioned(
    subject, admin, carol, erin, monkeypatch, django_capture_on_commit_callbacks
):
    # No later entity (deals, activities) points at people yet: let companies stand in,
    # reached through their employments.
    from rapport.contacts.models import Company

    monkeypatch.setattr(privacy, "related_relations", lambda: [(Company, "employments__person")])
    with django_capture_on_commit_callbacks(execute=True):
        foreign = CompanyFactory(actor=carol, name="Quuxworth Holdings", domains=["qh.example"])
        services.employment_add(actor=admin, person=subject.person, company=foreign)
    doc = privacy.subject_export(actor=erin, person=subject.person)
    assert [c["name"] for c in doc["related"]["contacts.company"]] == ["Acme Widgets"]
    assert doc["related_not_shown"] == {"contacts.company": 1}  # team B: not erin's to see
    versions = {c.pk: c.version for c in Company.objects.all()}
    erase(admin, subject.person, django_capture_on_commit_callbacks)
    foreign.refresh_from_db()
    assert foreign.name == "[erased] Holdings" and foreign.version == versions[foreign.pk] + 1
    acme = Company.objects.get(pk=subject.company.pk)
    assert acme.name == "Acme Widgets" and acme.version == versions[acme.pk]
    assert search.search(admin, "Holdings")[0].title == "[erased] Holdings"


def test_stored_api_answers_showing_the_person_are_forgotten(
    admin, alice, django_capture_on_commit_callbacks
):
    from rapport.core.models import IdempotencyRecord

    clear_throttle()
    client = ApiClient(admin)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/people",
            {"first_name": "Йосип", "last_name": "Пшеничний", "emails": [{"address": "yp@ex.ua"}]},
            HTTP_IDEMPOTENCY_KEY="create-yp",
        )
        ApiClient(alice).post("/people", {"first_name": "Kept"}, HTTP_IDEMPOTENCY_KEY="other")
    person = Person.objects.get(pk=created.json()["id"])
    path = f"/privacy/people/{person.pk}/erase"
    body = {"reason": "asked", "confirm": person.pk}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(path, body, HTTP_IDEMPOTENCY_KEY="erase-yp")
    replay = client.post(path, body, HTTP_IDEMPOTENCY_KEY="erase-yp")
    assert first.status_code == replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    assert traces_in_database(["Пшеничний", "yp@ex.ua"]) == []
    assert IdempotencyRecord.objects.filter(key="other").exists()
    assert AuditEvent.objects.filter(action="erase", object_id=person.pk).count() == 1
