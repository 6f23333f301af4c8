"""People and company pages: scoping, forms, conflicts, trash, escaping, personal data."""

from __future__ import annotations

import io
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from rapport.contacts import services
from rapport.contacts.models import Person
from rapport.core.models import AuditEvent, CustomFieldDefinition, SavedView
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def person(actor, **kwargs) -> Person:
    kwargs.setdefault("emails", [{"address": f"p{Person.all_objects.count()}@example.com"}])
    return PersonFactory(actor=actor, **kwargs)


def form_data(**overrides) -> dict:
    data = {
        "first_name": "Olena",
        "last_name": "Kovalenko",
        "emails-count": "2",
        "emails-0-address": "olena@example.com",
        "emails-0-label": "work",
        "emails-1-address": "olena@home.example",
        "emails-1-label": "home",
        "emails-primary": "0",
        "phones-count": "1",
        "phones-0-number": "044 123 4567",
        "tags": "vip, kyiv",
        "version": "",
    }
    data.update(overrides)
    return data


# --- scoping ---------------------------------------------------------------------------


def test_outsider_never_sees_foreign_person(alice, carol, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the search index updates on commit
        hidden = person(alice, last_name="Hiddenko")
    web = browser(carol)
    assert web.get(f"/people/{hidden.pk}/").status_code == 404
    assert web.get(f"/people/{hidden.pk}/edit/").status_code == 404
    assert web.post(f"/people/{hidden.pk}/delete/").status_code == 404
    assert web.get(f"/people/{hidden.pk}/photo/").status_code == 404
    assert "Hiddenko" not in web.get("/people/").content.decode()
    link = f"/people/{hidden.pk}/"
    assert link not in web.get("/search/?q=Hiddenko").content.decode()
    assert link not in web.get("/search/palette/?q=Hiddenko").content.decode()
    assert link in browser(alice).get("/search/palette/?q=Hiddenko").content.decode()
    web.post("/people/bulk/", {"action": "trash", "ids": [hidden.pk]})
    assert Person.objects.filter(pk=hidden.pk).exists()


def test_teammate_sees_but_may_not_change(alice, bob):
    record = person(alice)
    web = browser(bob)
    page = web.get(f"/people/{record.pk}/")
    assert page.status_code == 200
    assert f"/people/{record.pk}/edit/" not in page.content.decode()
    assert web.get(f"/people/{record.pk}/edit/").status_code == 403
    assert web.post(f"/people/{record.pk}/edit/", form_data()).status_code == 403
    assert web.post(f"/people/{record.pk}/delete/").status_code == 403
    assert Person.objects.filter(pk=record.pk).exists()


def test_viewer_cannot_create(dave):
    web = browser(dave)
    assert web.get("/people/new/").status_code == 403
    assert web.post("/people/new/", form_data()).status_code == 403
    assert not Person.objects.exists()
    assert "/people/new/" not in web.get("/people/").content.decode()


def test_anonymous_is_sent_to_sign_in(client):
    for url in ("/", "/people/", "/people/new/", "/trash/", "/search/?q=a"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


# --- create and edit -------------------------------------------------------------------


def test_create_with_two_emails_is_saved_and_audited(alice):
    response = browser(alice).post("/people/new/", form_data())
    created = Person.objects.get(last_name="Kovalenko")
    assert response.status_code == 302 and response["Location"] == f"/people/{created.pk}/"
    assert [e.address for e in created.emails.all()] == ["olena@example.com", "olena@home.example"]
    assert created.primary_phone == "+380441234567"
    assert sorted(t.name for t in created.tags.all()) == ["kyiv", "vip"]
    assert AuditEvent.objects.filter(
        object_type="person", object_id=created.pk, action="create"
    ).exists()


def test_bad_email_in_second_row_is_shown_beside_it_and_nothing_saved(alice):
    response = browser(alice).post(
        "/people/new/", form_data(**{"emails-1-address": "not-an-email"})
    )
    assert response.status_code == 200
    rows = response.context["form"].rowsets["emails"].rows
    assert rows[1].errors["address"] == ["Enter a valid email address."]
    assert not rows[0].errors
    html = response.content.decode()
    row = re.search(r'name="emails-1-address".*?</div>', html, re.S).group(0)
    assert "Enter a valid email address." in row
    assert 'value="not-an-email"' in html
    assert not Person.objects.exists()


def test_custom_field_error_lands_on_its_field(alice):
    CustomFieldDefinition.objects.create(
        entity="person", slug="shoe", label="Shoe size", kind="number"
    )
    response = browser(alice).post("/people/new/", form_data(cf_shoe="abc"))
    assert response.status_code == 200
    assert response.context["form"].errors["cf_shoe"]
    assert not Person.objects.exists()
    ok = browser(alice).post("/people/new/", form_data(cf_shoe="42"))
    assert ok.status_code == 302
    assert Person.objects.get().custom_fields == {"shoe": 42}


def test_edit_saves_through_the_service(alice):
    record = person(alice, first_name="Old")
    web = browser(alice)
    page = web.get(f"/people/{record.pk}/edit/")
    assert page.status_code == 200
    assert page.context["form"].initial["version"] == record.version
    data = form_data(first_name="New", version=str(record.version))
    assert web.post(f"/people/{record.pk}/edit/", data).status_code == 302
    record.refresh_from_db()
    assert record.first_name == "New"
    assert AuditEvent.objects.filter(object_id=record.pk, action="update").exists()
    history = web.get(f"/people/{record.pk}/").context["history"]
    newest = {c["label"]: (c["old"], c["new"]) for c in history[0]["changes"]}
    assert newest["first name"] == ("Old", "New")
    created = {c["label"]: c["new"] for c in history[-1]["changes"]}
    assert created["owner"] == str(alice) and created["team"] == "Team A"


def test_stale_edit_is_refused_with_both_values(alice, bob, erin):
    record = person(alice, first_name="Original")
    stale_version = record.version
    services.person_update(actor=alice, person=record, data={"first_name": "Theirs"})
    response = browser(alice).post(
        f"/people/{record.pk}/edit/", form_data(first_name="Mine", version=str(stale_version))
    )
    assert response.status_code == 200
    conflicts = response.context["conflicts"]
    first = next(c for c in conflicts if c["label"] == "First name")
    assert first["yours"] == "Mine" and first["current"] == "Theirs"
    assert "Someone else changed this record" in response.content.decode()
    record.refresh_from_db()
    assert record.first_name == "Theirs"


def test_owner_field_only_with_assign_permission(alice, erin):
    assert "owner" not in browser(alice).get("/people/new/").context["form"].fields
    assert "owner" in browser(erin).get("/people/new/").context["form"].fields


# --- delete, trash, restore --------------------------------------------------------------


def test_delete_goes_to_trash_and_restore_keeps_links(alice):
    company = CompanyFactory(actor=alice, name="Keepco")
    record = person(alice, last_name="Trashko", tags=["keep"])
    services.employment_add(actor=alice, person=record, company=company, title="CTO")
    web = browser(alice)
    response = web.post(f"/people/{record.pk}/delete/", follow=True)
    assert response.status_code == 200
    assert "Trashko" not in web.get("/people/").content.decode()
    assert f"/people/{record.pk}/restore/" in response.content.decode()  # the Undo button
    assert web.get(f"/people/{record.pk}/").status_code == 404
    assert "Trashko" in web.get("/trash/").content.decode()
    assert web.post(f"/people/{record.pk}/restore/").status_code == 302
    restored = Person.objects.get(pk=record.pk)
    assert [t.name for t in restored.tags.all()] == ["keep"]
    assert restored.employments.get().company == company
    page = web.get(f"/people/{record.pk}/").content.decode()
    assert "Keepco" in page and "CTO" in page


def test_trash_shows_only_what_the_user_may_restore(alice, carol):
    record = person(alice, last_name="Binned")
    browser(alice).post(f"/people/{record.pk}/delete/")
    assert "Binned" not in browser(carol).get("/trash/").content.decode()
    assert browser(carol).post(f"/people/{record.pk}/restore/").status_code == 404


# --- rendering ---------------------------------------------------------------------------


def test_markup_in_names_renders_as_text(alice):
    record = person(alice, first_name="<script>alert(1)</script>", last_name="<b>Bold</b>")
    web = browser(alice)
    for url in ("/people/", f"/people/{record.pk}/", "/", f"/people/{record.pk}/edit/"):
        html = web.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_personal_fields_hidden_without_permission(alice, erin):
    record = services.person_create(
        actor=erin, data={"first_name": "Priv", "birthday": "1990-05-17", "income_band": "high"}
    )
    hidden = browser(alice).get(f"/people/{record.pk}/")
    assert hidden.status_code == 200
    assert "Birthday" not in hidden.content.decode() and "1990" not in hidden.content.decode()
    assert "birthday" not in browser(alice).get("/people/new/").context["form"].fields
    shown = browser(erin).get(f"/people/{record.pk}/")
    assert "Birthday" in shown.content.decode() and "1990" in shown.content.decode()
    alice_list = browser(alice).get("/people/?columns=name&columns=birthday&ordering=birthday")
    assert [c.key for c in alice_list.context["page"].columns] == ["name"]
    assert "Cannot sort by" in alice_list.content.decode()
    erin_list = browser(erin).get("/people/?columns=name&columns=birthday&ordering=birthday")
    assert [c.key for c in erin_list.context["page"].columns] == ["name", "birthday"]


def test_phones_display_prettily_with_tel_links(alice):
    record = person(alice, phones=[{"number": "+380441234567"}])
    html = browser(alice).get(f"/people/{record.pk}/").content.decode()
    assert 'href="tel:+380441234567"' in html
    assert "+380 44 123 4567" in html


def test_person_page_reads_its_related_rows_in_one_statement(alice):
    """Emails and phones in their order, tags and groups by name, as the prefetches gave
    them, from one statement; the edit form still gets whole rows."""
    record = person(
        alice,
        emails=[
            {"address": "b@example.com", "label": "work"},
            {"address": "a@example.com", "label": "<home>"},
        ],
        phones=[{"number": "+380441234567", "label": "desk"}, {"number": "+48221234567"}],
        tags=["zeta", "alpha", "mid"],
        groups=["Friends", "Business"],
    )
    web = browser(alice)
    web.get(f"/people/{record.pk}/")
    with CaptureQueriesContext(connection) as ctx:
        html = web.get(f"/people/{record.pk}/").content.decode()
    related = [
        q["sql"]
        for q in ctx.captured_queries
        if any(t in q["sql"] for t in ("contacts_emailaddress", "contacts_phonenumber", "core_tag"))
    ]
    assert len(related) == 1
    assert html.index("b@example.com") < html.index("a@example.com")
    assert "&lt;home&gt;" in html and "<home>" not in html
    assert html.index("+380 44 123 4567") < html.index("+48 22 123 45 67")
    badges = re.findall(r'badge badge-accent">.*?</svg>([^<]+)</span>', html)
    assert badges[:3] == ["alpha", "mid", "zeta"]
    assert html.index(">Business<") < html.index(">Friends<")
    assert html.count('class="badge badge-accent">primary') == 1
    form = web.get(f"/people/{record.pk}/edit/").content.decode()
    assert "b@example.com" in form and "a@example.com" in form


# --- lists -------------------------------------------------------------------------------


def test_unknown_filter_and_bad_value_are_shown_not_500(alice):
    web = browser(alice)
    unknown = web.get("/people/?colour=red")
    assert unknown.status_code == 200 and "Unknown filter: colour" in unknown.content.decode()
    bad = web.get("/people/?phone=12")
    assert bad.status_code == 200
    assert bad.context["page"].field_errors["phone"] == ["Enter at least four digits."]
    assert "Enter at least four digits." in bad.content.decode()
    broken = web.get("/people/?cursor=forged")
    assert broken.status_code == 200 and "expired" in broken.content.decode()


def test_keyset_pages_walk_the_whole_list(alice):
    for i in range(55):
        person(alice, last_name=f"Page{i:02d}")
    web = browser(alice)
    first = web.get("/people/?ordering=name")
    page = first.context["page"]
    assert len(page.rows) == 50 and page.next_cursor and not page.has_previous
    second = web.get("/people/", {"ordering": "name", "cursor": page.next_cursor})
    rest = second.context["page"]
    assert [r.last_name for r in rest.rows] == [f"Page{i}" for i in range(50, 55)]
    assert rest.next_cursor is None and rest.has_previous
    assert "First page" in second.content.decode()
    assert first.context["page"].count.value == 55


def test_sorting_by_column_header_descending(alice):
    for name in ("Alpha", "Bravo", "Charlie"):
        person(alice, last_name=name)
    rows = browser(alice).get("/people/?ordering=-name").context["page"].rows
    assert [r.last_name for r in rows] == ["Charlie", "Bravo", "Alpha"]


def test_quick_search_answers_htmx_with_the_results_partial(
    alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        person(alice, last_name="Findme")
        person(alice, last_name="Other")
    response = browser(alice).get(
        "/people/?q=findme", headers={"HX-Request": "true", "HX-Target": "list-results"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "Findme" in html and "Other" not in html


def test_list_query_count_does_not_grow_with_rows(alice):
    company = CompanyFactory(actor=alice)
    web = browser(alice)
    url = "/people/?columns=name&columns=company&columns=tags&columns=phone&columns=owner&columns=team"

    def make(n):
        for _ in range(n):
            record = person(alice, tags=["a", "b"], phones=[{"number": "+380441234567"}])
            services.employment_add(actor=alice, person=record, company=company)

    make(2)
    web.get(url)
    with CaptureQueriesContext(connection) as few:
        web.get(url)
    make(10)
    with CaptureQueriesContext(connection) as many:
        web.get(url)
    assert len(many) == len(few)


def test_detail_query_count_does_not_grow_with_children(alice):
    record = person(alice)
    services.employment_add(actor=alice, person=record, company=CompanyFactory(actor=alice))
    services.consent_record(actor=alice, person=record, channel="post", purpose="letters")
    web = browser(alice)
    web.get(f"/people/{record.pk}/")
    with CaptureQueriesContext(connection) as before:
        web.get(f"/people/{record.pk}/")
    for i in range(4):
        company = CompanyFactory(actor=alice)
        services.employment_add(actor=alice, person=record, company=company, title=f"T{i}")
        services.consent_record(actor=alice, person=record, channel="email", purpose=f"news {i}")
    services.person_update(
        actor=alice,
        person=Person.objects.get(pk=record.pk),
        data={
            "emails": [{"address": f"e{i}@example.com"} for i in range(4)],
            "phones": [{"number": f"+38044123456{i}"} for i in range(4)],
            "tags": ["x", "y", "z"],
        },
    )
    with CaptureQueriesContext(connection) as after:
        web.get(f"/people/{record.pk}/")
    assert len(after) == len(before)


# --- bulk and saved views ------------------------------------------------------------------


def test_bulk_tag_skips_records_the_user_may_not_change(alice, bob, carol):
    mine = person(alice)
    teammates = person(bob)
    foreign = person(carol)
    response = browser(alice).post(
        "/people/bulk/",
        {"action": "tag_add", "tags": "hot", "ids": [mine.pk, teammates.pk, foreign.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "1 record updated." in html and "2 records were skipped" in html
    assert [t.name for t in mine.tags.all()] == ["hot"]
    assert not teammates.tags.exists() and not foreign.tags.exists()


def test_bulk_trash_and_assign(alice, erin, bob):
    a, b = person(alice), person(alice)
    web = browser(erin)
    web.post("/people/bulk/", {"action": "assign", "owner": bob.pk, "ids": [a.pk]})
    a.refresh_from_db()
    assert a.owner == bob
    web.post("/people/bulk/", {"action": "trash", "ids": [a.pk, b.pk]})
    assert not Person.objects.filter(pk__in=[a.pk, b.pk]).exists()
    assert AuditEvent.objects.filter(action="delete", object_id__in=[a.pk, b.pk]).count() == 2


def test_saved_views_private_shared_and_deletable_by_owner(alice, bob):
    web = browser(alice)
    web.post("/people/views/", {"name": "VIPs", "query": "tag=vip&ordering=-name&columns=name"})
    web.post("/people/views/", {"name": "Team list", "shared": "on", "query": "ordering=name"})
    vips = SavedView.objects.get(name="VIPs")
    assert vips.params == {"tag": ["vip"], "ordering": ["-name"]} and vips.columns == ["name"]
    SavedView.objects.create(entity="company", name="Acme only", user=alice, params={})
    page = web.get("/people/").content.decode()
    assert 'href="/people/?tag=vip&amp;ordering=-name&amp;columns=name"' in page
    menu = re.search(r'<div class="menu-panel menu-panel-left w-72">(.*?)</details>', page, re.S)
    assert menu.group(1).index("Team list") < menu.group(1).index("VIPs")  # by name
    assert "Acme only" not in page  # another entity's view
    assert page.count('data-confirm="Delete this saved view?"') == 2  # alice owns both
    bob_page = browser(bob).get("/people/").content.decode()
    assert 'data-confirm="Delete this saved view?"' not in bob_page
    assert "Team list" in bob_page and "VIPs" not in bob_page
    shared = SavedView.objects.get(name="Team list")
    assert browser(bob).post(f"/people/views/{shared.pk}/delete/").status_code == 404
    assert web.post(f"/people/views/{shared.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk=shared.pk).exists()


# --- workflows on the person page ----------------------------------------------------------


def test_employment_and_consent_forms(alice, carol):
    company = CompanyFactory(actor=alice, name="Acme")
    record = person(alice)
    web = browser(alice)
    web.post(f"/people/{record.pk}/employments/", {"company": company.pk, "title": "CEO"})
    employment = record.employments.get()
    assert employment.title == "CEO"
    web.post(f"/people/{record.pk}/employments/{employment.pk}/end/")
    employment.refresh_from_db()
    assert employment.end_date is not None
    web.post(
        f"/people/{record.pk}/consents/",
        {"channel": "email", "purpose": "newsletter", "lawful_basis": "consent"},
    )
    consent = record.consents.get()
    assert consent.active
    web.post(f"/people/{record.pk}/consents/{consent.pk}/withdraw/")
    consent.refresh_from_db()
    assert not consent.active
    # carol may not see the company, so she cannot link anyone to it
    own = person(carol)
    browser(carol).post(f"/people/{own.pk}/employments/", {"company": company.pk})
    assert not own.employments.exists()
    web.post(f"/people/{record.pk}/employments/{employment.pk}/remove/")
    assert not record.employments.exists()


def test_add_forms_load_when_their_section_opens(alice, carol, dave):
    """The person page carries no add forms (their company picker was a quarter of the
    page); opening a section asks for its form, scoped like the page."""
    mine = CompanyFactory(actor=alice, name="Acme")
    CompanyFactory(actor=carol, name="Theirs")
    record = person(alice)
    web = browser(alice)
    page = web.get(f"/people/{record.pk}/").content.decode()
    assert 'name="company"' not in page and 'name="purpose"' not in page
    assert f'hx-get="/people/{record.pk}/employments/" hx-trigger="toggle once"' in page
    assert f'hx-get="/people/{record.pk}/consents/" hx-trigger="toggle once"' in page

    partial = web.get(f"/people/{record.pk}/employments/", HTTP_HX_REQUEST="true")
    form = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in form
    assert f'action="/people/{record.pk}/employments/"' in form
    assert f'<option value="{mine.pk}">Acme</option>' in form and "Theirs" not in form
    assert 'name="csrfmiddlewaretoken"' in form

    consent = web.get(f"/people/{record.pk}/consents/", HTTP_HX_REQUEST="true").content.decode()
    assert 'name="purpose"' in consent and 'name="channel"' in consent

    whole = web.get(f"/people/{record.pk}/consents/").content.decode()  # without JavaScript
    assert "<html" in whole and 'name="purpose"' in whole and f"/people/{record.pk}/" in whole

    # a viewer sees the page but no add sections, and cannot ask for the forms
    viewer = browser(dave)
    assert "toggle once" not in viewer.get(f"/people/{record.pk}/").content.decode()
    assert viewer.get(f"/people/{record.pk}/employments/").status_code == 404
    assert viewer.get(f"/people/{record.pk}/consents/").status_code == 404
    # carol does not see the person at all
    assert browser(carol).get(f"/people/{record.pk}/employments/").status_code == 404


def test_company_page_lists_only_visible_people(alice, carol):
    company = CompanyFactory(actor=carol, name="Sharedco")
    visible = person(carol, last_name="Visiblenko")
    hidden = person(alice, last_name="Secretenko")
    services.employment_add(actor=carol, person=visible, company=company)
    services.employment_add(actor=alice, person=hidden, company=company)
    html = browser(carol).get(f"/companies/{company.pk}/").content.decode()
    assert "Visiblenko" in html and "Secretenko" not in html


def _png() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "face.png"
    return buffer


def test_photo_upload_is_served_only_through_the_checked_view(alice, carol, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    web = browser(alice)
    response = web.post("/people/new/", {**form_data(), "photo": _png()})
    assert response.status_code == 302
    record = Person.objects.get()
    assert record.photo
    photo = web.get(f"/people/{record.pk}/photo/")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert f"/people/{record.pk}/photo/" in web.get(f"/people/{record.pk}/").content.decode()
    assert browser(carol).get(f"/people/{record.pk}/photo/").status_code == 404


# --- CSRF ----------------------------------------------------------------------------------


def test_csrf_is_enforced_on_every_post(alice):
    record = person(alice)
    web = Client(enforce_csrf_checks=True)
    web.force_login(alice)
    for url, data in (
        ("/people/new/", form_data()),
        (f"/people/{record.pk}/edit/", form_data(version=str(record.version))),
        (f"/people/{record.pk}/delete/", {}),
        (f"/people/{record.pk}/restore/", {}),
        ("/people/bulk/", {"action": "trash", "ids": [record.pk]}),
        ("/people/views/", {"name": "x"}),
        (f"/people/{record.pk}/consents/", {"channel": "email", "purpose": "x"}),
        ("/preferences/theme/", {"theme": "dark"}),
        ("/preferences/language/", {"language": "uk"}),
    ):
        assert web.post(url, data).status_code == 403, url
    assert Person.objects.filter(pk=record.pk).exists()
    assert Person.objects.count() == 1
    alice.refresh_from_db()
    assert alice.theme != "dark" and alice.language != "uk"
