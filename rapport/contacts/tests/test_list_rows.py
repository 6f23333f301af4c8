"""The people list reads values, not model instances: every column still shows what the
record holds, escaped, and only the columns shown cost queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.contacts import services
from rapport.core import services as core_services
from rapport.testing.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_column_shows_the_record_escaped(alice):
    company = CompanyFactory(actor=alice, name="Acme <Tools> & Co")
    record = services.person_create(
        actor=alice,
        data={
            "first_name": "Łukasz",
            "last_name": "<script>x</script>",
            "job_title": "CTO",
            "emails": [{"address": "lukasz@example.com"}],
            "phones": [{"number": "+380441234567"}],
            "tags": ["vip", "<b>bold</b>"],
        },
    )
    services.employment_add(actor=alice, person=record, company=company, title="CTO")
    columns = "name,company,email,phone,job_title,tags,owner,team,created_at"
    html = browser(alice).get(f"/people/?columns={columns}").content.decode()
    row = re.search(r'<tr><td class="col-select">.*?</tr>', html, re.S).group(0)
    assert f'value="{record.pk}"' in row
    assert f'href="/people/{record.pk}/"' in row
    assert "Łukasz &lt;script&gt;x&lt;/script&gt;" in row and "<script>x" not in html
    assert "Acme &lt;Tools&gt; &amp; Co" in row
    assert '<a href="mailto:lukasz@example.com">lukasz@example.com</a>' in row
    assert "+380 44 123 4567" in row
    assert '<span class="badge">&lt;b&gt;bold&lt;/b&gt;</span><span class="badge">vip</span>' in row
    assert str(alice.get_full_name() or alice.username) in row
    assert alice.primary_team.name in row


def test_the_company_name_is_read_for_the_rows_shown_not_joined(alice):
    """PostgreSQL planned a sorted page of a few thousand rows (a text filter's matches)
    as a hash join over every company: there the name is asked for each row shown
    instead. Either way a company in the trash still names its people's row."""
    kept = CompanyFactory(actor=alice, name="Kept Ltd")
    binned = CompanyFactory(actor=alice, name="Binned Ltd")
    for name, company in (("Ann", kept), ("Bob", binned), ("Cy", None)):
        person = services.person_create(actor=alice, data={"first_name": name})
        if company is not None:
            services.employment_add(actor=alice, person=person, company=company)
    core_services.trash(actor=alice, obj=binned)
    web = browser(alice)
    with CaptureQueriesContext(connection) as queries:
        html = web.get("/people/?columns=name,company&ordering=name").content.decode()
    rows = re.findall(r'<tr><td class="col-select">.*?</tr>', html, re.S)
    assert ["Kept Ltd" in r for r in rows] == [True, False, False]
    assert ["Binned Ltd" in r for r in rows] == [False, True, False]
    (page,) = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "contacts_person"' in q["sql"]
        and "ORDER BY" in q["sql"]
        and "COUNT(" not in q["sql"].upper()
    ]
    if connection.vendor == "sqlite":  # joined row by row: cheaper there
        assert 'LEFT OUTER JOIN "contacts_company"' in page
        return
    assert 'JOIN "contacts_company"' not in page
    subquery = 'FROM "contacts_company" "U0" WHERE "U0"."id" = ("contacts_person"."company_id")'
    assert subquery in page, page


def test_tags_cost_a_query_only_when_their_column_is_shown(alice):
    services.person_create(actor=alice, data={"first_name": "Ann", "tags": ["vip"]})
    web = browser(alice)
    web.get("/people/?columns=name")
    with CaptureQueriesContext(connection) as without:
        web.get("/people/?columns=name")
    with CaptureQueriesContext(connection) as with_tags:
        web.get("/people/?columns=name,tags")
    assert not any("core_tag" in q["sql"] for q in without.captured_queries)
    assert sum("core_tag" in q["sql"] for q in with_tags.captured_queries) == 1
    assert len(with_tags) == len(without) + 1


def test_filter_panel_keeps_every_value_escaped_and_names_the_bad_one(alice):
    page = browser(alice).get(
        "/people/", {"tag": '"><script>x</script>', "created_after": "not a date"}
    )
    html = page.content.decode()
    panel = re.search(r'<div class="filter-panel">(.*?)</div>\s*<div class="mt-3', html, re.S)
    fields = dict(
        re.findall(
            r'<input type="text" id="filter-[^"]+" name="([^"]+)" value="([^"]*)"', panel.group(1)
        )
    )
    assert "q" not in fields  # the search box sits above the panel
    assert fields["tag"] == "&quot;&gt;&lt;script&gt;x&lt;/script&gt;"
    assert fields["created_after"] == "not a date"
    invalid = re.search(r'<div class="field field-invalid">(.*?)</div>', panel.group(1), re.S)
    assert 'name="created_after"' in invalid.group(1)
    assert '<p class="field-error">' in invalid.group(1)
    assert "<script>x</script>" not in panel.group(1)
    labels = re.findall(r'<label class="field-label" for="filter-([^"]+)">', panel.group(1))
    assert labels == list(fields)  # every input has its label


def _panel_names(html: str) -> list[str]:
    panel = re.search(r'<div class="filter-panel">(.*?)</div>\s*<div class="mt-3', html, re.S)
    return re.findall(r'<input type="text" id="filter-[^"]+" name="([^"]+)"', panel.group(1))


def test_filter_panel_shows_every_filter_whichever_the_query_names(alice):
    """The list builds only the filters its query names; the panel still offers all of
    them, custom fields included, and a custom-field filter narrows the rows."""
    from rapport.contacts.filters import PersonFilterSet
    from rapport.core.models import CustomFieldDefinition

    CustomFieldDefinition.objects.create(
        entity="person", slug="score", label="Score <b>", kind="number"
    )
    services.person_create(
        actor=alice, data={"first_name": "Highscore", "custom_fields": {"score": 9}}
    )
    services.person_create(
        actor=alice, data={"first_name": "Lowscore", "custom_fields": {"score": 1}}
    )
    web = browser(alice)
    everything = [n for n in PersonFilterSet.base_filters if n != "q"] + ["cf_score"]
    plain = web.get("/people/").content.decode()
    assert _panel_names(plain) == everything
    assert "Highscore" in plain and "Lowscore" in plain
    narrowed = web.get("/people/", {"cf_score": "9", "owner": "me"}).content.decode()
    assert _panel_names(narrowed) == everything
    assert "Highscore" in narrowed and "Lowscore" not in narrowed
    assert "Score &lt;b&gt;" in narrowed and "Score <b>" not in narrowed
    bad = web.get("/people/", {"cf_score": "many"})
    assert bad.status_code == 200 and "Lowscore" not in bad.content.decode()
    assert "cf_score" in bad.context["page"].field_errors


def _headers(html: str) -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
    return re.findall(r'<th scope="col">(.*?)</th>', head, re.S)


def test_sort_links_keep_the_query_and_flip_the_direction(alice):
    services.person_create(actor=alice, data={"first_name": "Ann"})
    web = browser(alice)
    html = web.get("/people/", {"columns": "name,tags,created_at", "q": "<a&b>"}).content.decode()
    name, tags, created = _headers(html)
    # The default order (name, ascending) is the active one; its link asks for descending.
    assert 'class="sort-link sort-active"' in name and "<svg" in name
    href = re.search(r'href="([^"]+)"', name).group(1)
    assert href == "/people/?columns=name%2Ctags%2Ccreated_at&amp;q=%3Ca%26b%3E&amp;ordering=-name"
    assert tags == "Tags"  # no index behind it: no link
    assert 'class="sort-link"' in created and "ordering=created_at" in created
    assert "<svg" not in created
    flipped = web.get(href.replace("&amp;", "&")).content.decode()
    name = _headers(flipped)[0]
    assert 'class="sort-link sort-active"' in name and "ordering=name" in name
    assert "ordering=-name" not in name
    assert "<a&b>" not in flipped and "&lt;a&amp;b&gt;" in flipped


def test_column_picker_ticks_the_shown_columns(alice):
    html = browser(alice).get("/people/", {"columns": "name,tags"}).content.decode()
    boxes = re.findall(r'name="columns" value="([^"]+)"( checked)?>', html)
    ticked = [key for key, checked in boxes if checked]
    assert ticked == ["name", "tags"]
    assert {"company", "email", "created_at"} <= {key for key, _ in boxes}
    assert "birthday" not in {key for key, _ in boxes}  # personal: alice may not see it
