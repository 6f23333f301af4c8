"""The single-record write path (benchmark target 9) runs statements compiled once
(`RowStatements`, the tag lookup, the children read) instead of the ORM's per-request
compilation: these tests prove it writes and reads exactly what the ORM would, and that
every guarantee of the path still holds (scope, 404/403/409/412, audit values, search
entry, field-level protection, validation naming the field)."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.contacts.models import ContactGroup, EmailAddress, Person, PhoneNumber
from rapport.contacts.services import person_create, person_update
from rapport.core import search
from rapport.core.api.testing import ApiClient, clear_throttle, fields_of, is_problem
from rapport.core.models import AuditEvent, RowStatements, Tag
from rapport.core.services import lock_for_update, tags_from_names
from rapport.testing import set_columns

pytestmark = pytest.mark.django_db

SEARCH = 3 if connection.vendor == "sqlite" else 1


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_throttle()


def _full_body(i: int = 1) -> dict:
    return {
        "prefix": "Dr",
        "first_name": "Łukasz",
        "middle_name": "Jan",
        "last_name": f"Wiśniewski{i}",
        "suffix": "Jr",
        "emails": [
            {"address": f"lukasz{i}@example.com", "label": "work"},
            {"address": f"LW{i}@Example.org", "primary": True},
        ],
        "phones": [{"number": f"+38044123{i:04d}", "label": "mobile"}, {"number": "+48221234567"}],
        "addresses": [{"label": "home", "city": "Kraków", "country": "PL"}],
        "websites": ["example.com/lw"],
        "social_profiles": [{"network": "linkedin", "handle": "lw"}],
        "language": "pl",
        "time_zone": "Europe/Warsaw",
        "source": "fair",
        "notes": "Met at the fair.",
        "tags": ["vip", "Lead"],
        "groups": ["Friends", "Business"],
    }


def _orm_values(pk: int) -> dict:
    person = Person.all_objects.get(pk=pk)
    return {f.attname: getattr(person, f.attname) for f in Person._meta.concrete_fields}


def _entry(pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT title, subtitle, title_key, sort_key, body FROM core_search_entry "
            "WHERE entity = %s AND object_id = %s",
            ["person", pk],
        )
        return cursor.fetchone()


# --- the statements themselves ------------------------------------------------------------


def test_created_row_reads_back_as_the_orm_reads_it(erin):
    data = {**_full_body(), "birthday": datetime.date(1980, 5, 6), "custom_fields": {}}
    person = person_create(actor=erin, data=data)
    by_row = RowStatements.of(Person).read(person.pk)
    expected = _orm_values(person.pk)
    assert {f.attname: getattr(by_row, f.attname) for f in Person._meta.concrete_fields} == (
        expected
    )
    # What the service holds is what was stored (no value changed on the way in).
    for name, value in expected.items():
        if name != "photo":
            assert getattr(person, name) == value, name
    assert by_row._state.adding is False and by_row._state.db == "default"


def test_update_writes_every_column_as_save_would(erin):
    person = person_create(actor=erin, data=_full_body(2))
    updated = person_update(
        actor=erin,
        person=person,
        data={
            "birthday": datetime.date(1990, 2, 3),
            "gender": "female",
            "custom_fields": {},
            "addresses": [],
            "notes": "",
        },
    )
    stored = _orm_values(person.pk)
    assert stored["birthday"] == datetime.date(1990, 2, 3)
    assert stored["gender"] == "female"
    assert stored["addresses"] == [] and stored["notes"] == ""
    assert stored["version"] == updated.version == 2
    assert stored["updated_at"] == updated.updated_at
    assert stored["created_at"] == person.created_at  # written back unchanged
    assert stored["first_name"] == "Łukasz" and stored["sort_key"] == person.sort_key


def _set_columns(queries) -> set[str]:
    return set_columns(queries, "contacts_person")


@pytest.mark.parametrize(
    ("patch", "written", "kept"),
    [
        ({"source": "expo"}, {"source"}, {"first_name", "sort_key", "owner_id", "created_at"}),
        ({"last_name": "Nowak"}, {"last_name", "sort_key"}, {"first_name", "source"}),
        (
            {"emails": [{"address": "new@example.com"}]},
            {"primary_email"},
            {"last_name", "sort_key", "primary_phone"},
        ),
        ({"birthday": datetime.date(1991, 1, 2)}, {"birthday"}, {"gender", "sort_key"}),
        ({"tags": ["vip"], "notes": "seen"}, {"notes"}, {"first_name", "primary_email"}),
    ],
)
def test_an_update_sets_the_columns_it_changes_and_stores_the_whole_record(
    erin, alice, patch, written, kept
):
    person = person_create(actor=erin, data=_full_body(3))
    with CaptureQueriesContext(connection) as seen:
        updated = person_update(actor=erin, person=person, data=patch)
    columns = _set_columns(seen.captured_queries)
    always = {"updated_at", "version"}
    assert written | always <= columns
    assert not kept & columns, kept & columns
    # Whatever was not set is what the record holds: the row is the instance returned.
    stored = _orm_values(person.pk)
    for name, value in stored.items():
        if name != "photo":
            assert getattr(updated, name) == value, name
    assert stored["version"] == 2


def test_an_update_without_its_read_state_sets_every_column(erin):
    person = person_create(actor=erin, data=_full_body(4))
    statements = RowStatements.of(Person)
    locked = lock_for_update(Person, person.pk)
    locked.source = "by hand"
    with CaptureQueriesContext(connection) as seen:
        statements.update(locked)
    assert _set_columns(seen.captured_queries) == {
        f.column for f in Person._meta.concrete_fields if not f.primary_key
    }
    read = statements.state(locked)
    mutable = {"addresses", "websites", "social_profiles", "custom_fields", "photo"}
    with CaptureQueriesContext(connection) as seen:
        statements.update(locked, since=read)  # only what may have changed in place
    assert _set_columns(seen.captured_queries) == mutable
    locked.addresses.append({"city": "Lviv"})
    with CaptureQueriesContext(connection) as seen:
        statements.update(locked, since=read)
    assert _set_columns(seen.captured_queries) >= {"addresses"}
    assert "first_name" not in _set_columns(seen.captured_queries)
    assert Person.objects.get(pk=person.pk).addresses[-1] == {"city": "Lviv"}


def test_lock_for_update_reads_trash_too_and_refuses_a_missing_id(alice):
    person = person_create(actor=alice, data={"first_name": "Ann"})
    Person.all_objects.filter(pk=person.pk).update(deleted_at=timezone.now())
    assert lock_for_update(Person, person.pk).deleted_at is not None
    assert RowStatements.of(Person).read(person.pk, live=True) is None
    with pytest.raises(Person.DoesNotExist):
        lock_for_update(Person, person.pk + 1000)


def test_audit_record_stores_the_row_with_its_context(alice):
    api = ApiClient(alice)
    response = api.post("/people", {"first_name": "Ann"}, HTTP_X_REQUEST_ID="req-42")
    event = AuditEvent.objects.get(object_type="person", object_id=response.json()["id"])
    assert event.action == "create" and event.actor_id == alice.pk
    assert event.actor_label == alice.username
    assert (event.request_id, event.via, event.ip) == ("req-42", "api", "127.0.0.1")
    assert event.changes["first_name"] == [None, "Ann"]


def test_tag_lookup_is_case_insensitive_and_takes_like_characters_literally():
    exact = Tag.objects.create(name="50%_off")
    Tag.objects.create(name="50abcXoff")
    vip = Tag.objects.create(name="VIP")
    found = tags_from_names(["vip", "50%_off", " new  tag "])
    assert [t.pk for t in found[:2]] == [vip.pk, exact.pk]
    assert found[2].name == "new tag" and Tag.objects.filter(name="new tag").count() == 1
    assert [t.name for t in tags_from_names(["Vip", "VIP"])] == ["VIP"]


def test_photo_is_stored_by_the_update(alice, settings, tmp_path):
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(buffer, format="PNG")
    person = person_create(actor=alice, data={"first_name": "Ann"})
    upload = SimpleUploadedFile("face.png", buffer.getvalue(), content_type="image/png")
    person_update(actor=alice, person=person, data={"photo": upload})
    stored = Person.all_objects.get(pk=person.pk).photo
    assert stored.name.startswith("people/") and stored.name.endswith(".png")
    assert (tmp_path / stored.name).read_bytes() == buffer.getvalue()


# --- the API path -------------------------------------------------------------------------


def test_patch_keeps_what_it_does_not_send_in_order(alice):
    api = ApiClient(alice)
    created = api.post("/people", _full_body(3))
    patched = api.patch(
        f"/people/{created.json()['id']}", {"source": "web"}, HTTP_IF_MATCH=created["ETag"]
    )
    assert patched.status_code == 200, patched.content
    before, after = created.json(), patched.json()
    for key in ("emails", "phones", "tags", "groups", "addresses", "custom_fields"):
        assert after[key] == before[key], key
    assert [e["address"] for e in after["emails"]] == ["lukasz3@example.com", "LW3@Example.org"]
    assert after["emails"][1]["primary"] and not after["emails"][0]["primary"]
    assert after["tags"] == ["Lead", "vip"] and after["groups"] == ["Business", "Friends"]
    assert after == api.get(f"/people/{before['id']}").json()


def test_patch_replaces_children_and_records_old_and_new_values(alice):
    api = ApiClient(alice)
    created = api.post("/people", _full_body(4)).json()
    patched = api.patch(
        f"/people/{created['id']}",
        {
            "emails": [{"address": "only@example.com"}],
            "phones": [],
            "tags": ["vip", "press"],
            "groups": ["Family"],
        },
        HTTP_IF_MATCH='"1"',
    )
    assert patched.status_code == 200 and patched["ETag"] == '"2"'
    pk = created["id"]
    assert list(EmailAddress.objects.filter(person_id=pk).values_list("address", "primary")) == [
        ("only@example.com", True)
    ]
    assert not PhoneNumber.objects.filter(person_id=pk).exists()
    person = Person.all_objects.get(pk=pk)
    assert (person.primary_email, person.primary_phone) == ("only@example.com", "")
    assert sorted(person.tags.values_list("name", flat=True)) == ["press", "vip"]
    assert list(person.groups.values_list("name", flat=True)) == ["Family"]
    assert ContactGroup.objects.filter(name="Friends").exists()  # groups are shared
    event = AuditEvent.objects.get(object_id=pk, object_type="person", action="update")
    assert event.changes["emails"] == [
        ["lukasz4@example.com", "LW4@Example.org"],
        ["only@example.com"],
    ]
    assert event.changes["phones"] == [["+380441230004", "+48221234567"], []]
    assert event.changes["tags"] == [["Lead", "vip"], ["press", "vip"]]
    assert event.changes["groups"] == [["Business", "Friends"], ["Family"]]
    assert patched.json() == api.get(f"/people/{pk}").json()


def test_search_entry_is_the_one_a_rebuild_writes(alice):
    api = ApiClient(alice)
    pk = api.post("/people", _full_body(5)).json()["id"]
    after_create = _entry(pk)
    search.index_ids("person", [pk])
    assert _entry(pk) == after_create
    api.patch(
        f"/people/{pk}",
        {"last_name": "Nowak", "phones": [{"number": "+48225550000"}], "emails": []},
        HTTP_IF_MATCH='"1"',
    )
    after_update = _entry(pk)
    assert "Nowak" in after_update[0]
    search.index_ids("person", [pk])
    assert _entry(pk) == after_update


def test_unchanged_patch_writes_nothing(alice):
    api = ApiClient(alice)
    created = api.post("/people", _full_body(6)).json()
    body = {"first_name": created["first_name"], "tags": ["vip", "Lead"]}
    response = api.patch(f"/people/{created['id']}", body, HTTP_IF_MATCH='"1"')
    assert response.status_code == 200 and response["ETag"] == '"1"'
    assert not AuditEvent.objects.filter(object_id=created["id"], action="update").exists()


def test_stale_if_match_is_412_and_changes_nothing(alice):
    api = ApiClient(alice)
    pk = api.post("/people", {"first_name": "Ann"}).json()["id"]
    assert api.patch(f"/people/{pk}", {"source": "a"}, HTTP_IF_MATCH='"1"').status_code == 200
    stale = api.patch(f"/people/{pk}", {"source": "b", "tags": ["x"]}, HTTP_IF_MATCH='"1"')
    assert is_problem(stale, 412) and stale.json()["current_version"] == 2
    person = Person.all_objects.get(pk=pk)
    assert person.source == "a" and not person.tags.exists()


def test_outsider_gets_404_and_teammate_403_on_writes(alice, bob, carol):
    pk = ApiClient(alice).post("/people", {"first_name": "Ann"}).json()["id"]
    outsider, teammate = ApiClient(carol), ApiClient(bob)
    assert is_problem(outsider.patch(f"/people/{pk}", {"source": "x"}), 404)
    assert is_problem(outsider.delete(f"/people/{pk}"), 404)
    assert is_problem(teammate.patch(f"/people/{pk}", {"source": "x"}), 403)
    assert is_problem(teammate.delete(f"/people/{pk}"), 403)
    assert AuditEvent.objects.filter(action="denied", actor=bob, object_id=pk).count() == 2
    assert Person.objects.get(pk=pk).source == ""


def test_trashed_record_is_404_and_merged_one_names_its_survivor(alice):
    api = ApiClient(alice)
    trashed = api.post("/people", {"first_name": "Ann"}).json()["id"]
    survivor = api.post("/people", {"first_name": "Bo"}).json()["id"]
    merged = api.post("/people", {"first_name": "Bo"}).json()["id"]
    assert api.delete(f"/people/{trashed}").status_code == 204
    Person.all_objects.filter(pk=merged).update(deleted_at=timezone.now(), merged_into=survivor)
    assert is_problem(api.patch(f"/people/{trashed}", {"source": "x"}), 404)
    conflict = api.patch(f"/people/{merged}", {"source": "x"})
    assert is_problem(conflict, 409) and conflict.json()["survivor_id"] == survivor


def test_patch_validates_the_fields_it_sends_naming_them(alice, bob):
    api = ApiClient(alice)
    pk = api.post("/people", {"first_name": "Ann", "emails": [{"address": "a@ex.org"}]}).json()[
        "id"
    ]
    bad = api.patch(f"/people/{pk}", {"emails": [{"address": "nope"}], "websites": ["::"]})
    assert is_problem(bad, 422)
    assert set(fields_of(bad)) == {"emails.0.address", "websites.0"}
    cleared = api.patch(f"/people/{pk}", {"first_name": None, "emails": []})
    assert is_problem(cleared, 422) and fields_of(cleared) == ["first_name"]
    personal = api.patch(f"/people/{pk}", {"birthday": "1990-01-01"})
    assert is_problem(personal, 403) and "birthday" in personal.json()["detail"] + str(
        personal.json().get("errors")
    )
    owner = api.patch(f"/people/{pk}", {"owner": bob.pk})
    assert is_problem(owner, 403) and fields_of(owner) == ["owner"]
    assert Person.objects.get(pk=pk).version == 1


def test_a_create_checks_the_fields_it_sends_and_every_default_that_fails(alice, monkeypatch):
    from django.core.exceptions import ValidationError

    from rapport.contacts.services import person_bulk_create
    from rapport.core import services

    too_long = {"first_name": "A" * 101, "prefix": "P" * 21, "language": "x" * 200}
    for create in (
        lambda data: person_create(actor=alice, data=data),
        lambda data: person_bulk_create(actor=alice, rows=[{"last_name": "Fine"}, data]),
    ):
        with pytest.raises(ValidationError) as caught:
            create({**too_long, "last_name": "Nowak"})
        named = {key.removeprefix("1.") for key in caught.value.message_dict}
        assert {"first_name", "prefix"} <= named
    assert not Person.objects.filter(last_name__in=["Nowak", "Fine"]).exists()
    # Fields the data leaves out hold the defaults, checked once per model; a default
    # that fails its own checks is still reported on every create.
    unchecked = services.unchecked_fields(Person, {"first_name": "A"}, creating=True)
    assert unchecked >= {"middle_name", "notes"} and "first_name" not in unchecked
    field = Person._meta.get_field("middle_name")
    monkeypatch.setattr(field, "blank", False)
    services._invalid_defaults.cache_clear()
    try:
        assert "middle_name" not in services.unchecked_fields(
            Person, {"first_name": "A"}, creating=True
        )
        assert "middle_name" in services.unchecked_fields(
            Person, {"first_name": "A"}, creating=False
        )
        with pytest.raises(ValidationError) as caught:
            person_create(actor=alice, data={"first_name": "Ann"})
        assert "middle_name" in caught.value.message_dict
    finally:
        monkeypatch.undo()
        services._invalid_defaults.cache_clear()
    assert person_create(actor=alice, data={"first_name": "Ann"}).middle_name == ""


# --- what it costs ------------------------------------------------------------------------


def _count(call):
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    return [q["sql"] for q in ctx.captured_queries], response


def test_patch_reads_the_children_in_one_statement_and_writes_only_the_difference(alice):
    for name in ("vip", "lead", "press"):
        Tag.objects.get_or_create(name=name)
    api = ApiClient(alice)
    api.get("/people")  # the token's first use writes last_used_at (once a minute)
    created = api.post("/people", {**_full_body(7), "tags": ["vip", "lead"]}).json()
    statements, response = _count(
        lambda: api.patch(
            f"/people/{created['id']}", {"tags": ["vip", "press"]}, HTTP_IF_MATCH='"1"'
        )
    )
    assert response.status_code == 200, response.content
    # token, authority, visible row, transaction (2), locked row, children, tag lookup, one
    # link removed, one added, row update, audit row, search entry
    assert len(statements) == 12 + SEARCH
    children = [s for s in statements if "UNION ALL" in s and "emailaddress" in s.lower()]
    assert len(children) == 1
    assert not any(
        "emailaddress" in s.lower() and s.startswith(("DELETE", "INSERT")) for s in statements
    )
    link_writes = [
        s for s in statements if "person_tags" in s and s.startswith(("DELETE", "INSERT"))
    ]
    assert len(link_writes) == 2


def test_post_costs_no_more_statements_with_more_children(alice):
    api = ApiClient(alice)
    api.get("/people")
    body = _full_body(9)
    body["emails"] = [{"address": f"m{n}@example.com"} for n in range(6)]
    body["phones"] = [{"number": f"+3804412300{n:02d}"} for n in range(6)]
    body["tags"] = ["a", "b", "c", "d"]
    for name in body["tags"] + ["vip", "Lead"]:
        Tag.objects.get_or_create(name=name)
    small, first = _count(lambda: api.post("/people", {**_full_body(8), "groups": []}))
    large, second = _count(lambda: api.post("/people", {**body, "groups": []}))
    assert first.status_code == second.status_code == 201, second.content
    assert len(small) == len(large)
    assert len(second.json()["emails"]) == 6 and len(second.json()["phones"]) == 6


# --- statements that travel together --------------------------------------------------------


def test_batched_statements_pipeline_on_postgresql_only_and_keep_read_answers(alice):
    from django.db import transaction

    from rapport.core.models import batched_statements

    with transaction.atomic(), batched_statements():
        if connection.vendor == "postgresql":
            from psycopg import pq

            assert connection.connection.pgconn.pipeline_status == pq.PipelineStatus.ON
        tag = Tag.objects.create(name="piped")  # an INSERT whose id is read back
        found = tags_from_names(["PIPED"])  # a read inside the block waits for its answer
    assert tag.pk and found == [tag]
    assert Tag.objects.filter(name="piped").count() == 1


def test_batched_statements_raise_django_errors_and_roll_back(alice):
    from django.db import IntegrityError, transaction

    from rapport.core.models import batched_statements

    Tag.objects.create(name="taken")
    with pytest.raises(IntegrityError), transaction.atomic(), batched_statements():
        RowStatements.of(Tag).insert([Tag(name="fresh")], returning=False)
        RowStatements.of(Tag).insert([Tag(name="TAKEN")], returning=False)  # unique, any case
    assert not Tag.objects.filter(name="fresh").exists()
