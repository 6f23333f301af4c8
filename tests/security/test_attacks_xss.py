"""Stored and reflected XSS: payloads in every free-text field of every registered entity
(the fields come from the write schema and the model's text columns), rendered on the
detail, list, edit, search, palette, history, trash, duplicates, merge and import report
pages — always escaped, `javascript:` never an href. The API returns the same text as
JSON data (never HTML, never sniffed)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from rapport.core import services as core_services
from rapport.dataio.tests.importhelpers import import_rows

from .attacks import (
    api,
    api_url,
    browser,
    entities,
    entity_ids,
    html_url,
    model_text_fields,
    plant,
    text_fields,
)

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    '"><i onmouseover=3>',  # short enough for 20-character fields (prefix, suffix)
    "{{constructor.constructor('alert(4)')()}}",
    "</textarea><script>alert(5)</script>",
    "'-alert(6)-'<svg/onload=alert(7)>",
]
JS_URLS = [
    "javascript:alert(8)",
    "JaVaScRiPt:alert(9)",
    " javascript:alert(10)",
    "javascript://example.com/%0aalert(11)",
    "java\tscript:alert(12)",
    "data:text/html,<script>alert(13)</script>",
]
JS_HREF = re.compile(
    rb"""(href|src|action|formaction)\s*=\s*["']?\s*(javascript|data|vbscript):""", re.I
)


def _entity(key):
    return next(e for e in entities() if e.key == key)


def assert_inert(body: bytes, payload: str, where: str) -> None:
    """The payload is not markup: its raw form (with live angle brackets or a quote that
    closes an attribute) never appears, and no javascript: URL is an href."""
    raw = payload.encode()
    if any(ch in payload for ch in '<>"'):
        assert raw not in body, f"raw payload on {where}"
    assert not JS_HREF.search(body), f"script URL on {where}"


def _shared(entity, n: int) -> dict:
    """Values that make planted records with the same `n` duplicates (email, domain)."""
    fields = text_fields(entity)
    data = {}
    if "emails" in fields:
        data["emails"] = [{"address": f"xss{n}@example.com"}]
    if "domains" in fields:
        data["domains"] = [f"xss{n}.example"]
    return data


@pytest.fixture
def planted(alice, django_capture_on_commit_callbacks):
    """For every entity and payload, one record of Alice's carrying the payload in each
    free-text field its service accepts (search index written on commit)."""
    result = {}
    with django_capture_on_commit_callbacks(execute=True):
        for entity in entities():
            for n, payload in enumerate(PAYLOADS):
                result[(entity.key, payload)] = plant(
                    entity, alice, payload, **_shared(entity, n // 2)
                )
    return result


def test_stored_xss_every_free_text_field_is_attacked(planted):
    """The generated field list is real: every model text column the write schema offers
    carries each payload (or was refused by validation, which stores nothing)."""
    for entity in entities():
        columns = set(model_text_fields(entity)) & set(text_fields(entity))
        assert columns, entity.key
        for payload in PAYLOADS:
            record = planted[(entity.key, payload)]
            covered = set(record.accepted) | set(record.refused) | set(_shared(entity, 0))
            assert columns <= covered | {"tags", "groups"}, columns - covered
            assert record.accepted, (entity.key, payload)


@pytest.mark.parametrize("key", entity_ids())
def test_stored_xss_escaped_on_record_list_edit_and_history(planted, key, alice, bob):
    """Detail (with its history) and edit per payload, as the owner and a teammate; the
    list with every column shows all payloads at once."""
    entity = _entity(key)
    owner, teammate = browser(alice), browser(bob)
    columns = ",".join(c.key for c in entity.columns)
    listing = owner.get(html_url(entity, "list") + "?columns=" + columns)
    assert listing.status_code == 200
    for payload in PAYLOADS:
        obj = planted[(key, payload)].obj
        assert_inert(listing.content, payload, "list")
        for where, client, url in (
            ("detail", owner, html_url(entity, "detail", obj.pk)),
            ("detail as teammate", teammate, html_url(entity, "detail", obj.pk)),
            ("edit", owner, html_url(entity, "edit", obj.pk)),
        ):
            response = client.get(url)
            assert response.status_code == 200, where
            assert_inert(response.content, payload, where)
            if where == "detail":
                assert escape(payload) in response.content.decode()  # shown, as text


def test_stored_xss_escaped_on_search_palette_trash_and_audit(planted, alice, admin):
    client = browser(alice)
    pages = {url: client.get(url, {"q": "alert"}) for url in ("/search/", "/search/palette/")}
    for record in planted.values():
        core_services.trash(actor=alice, obj=record.obj)
    pages["/trash/"] = client.get("/trash/")
    pages["/admin/audit/"] = browser(admin).get("/admin/audit/")
    for url, response in pages.items():
        assert response.status_code == 200, url
        assert b"alert" in response.content, url  # the records are really listed there
        for payload in PAYLOADS:
            assert_inert(response.content, payload, url)
    for payload in PAYLOADS:
        assert escape(payload).encode() in pages["/trash/"].content


def test_stored_xss_escaped_on_duplicates_and_merge_pages(
    planted, alice, admin, django_capture_on_commit_callbacks
):
    from rapport.dataio.dedup import services as dedup

    client = browser(alice)
    for entity in entities():
        if entity.key not in dedup.ENTITIES:
            continue
        with django_capture_on_commit_callbacks(execute=True):
            dedup.duplicate_scan_start(actor=admin, entity=entity.key)
        response = client.get(reverse("dataio:duplicate_list"), {"entity": entity.key})
        assert response.status_code == 200
        # Payloads come in pairs sharing an email or domain: the page proposes them.
        assert any(escape(p).encode() in response.content for p in PAYLOADS), entity.key
        for payload in PAYLOADS:
            assert_inert(response.content, payload, f"{entity.key} duplicates")
        first, second = (planted[(entity.key, p)].obj for p in PAYLOADS[:2])
        response = client.get(reverse("dataio:merge", args=[entity.key, first.pk, second.pk]))
        assert response.status_code == 200
        for payload in PAYLOADS[:2]:
            assert_inert(response.content, payload, f"{entity.key} merge")


def test_stored_xss_escaped_on_import_report(alice):
    """File headers and cells come straight from the uploaded file."""
    rows = [["First name", "Last name", "Notes", PAYLOADS[0]]]
    rows += [[p, p, p, p] for p in PAYLOADS]
    rows += [[PAYLOADS[1], "", "", ""], ["", "", PAYLOADS[4], PAYLOADS[2]]]  # rejected rows
    job = import_rows(alice, rows)
    client = browser(alice)
    for url in (
        reverse("dataio:import_detail", args=[job.pk]),
        reverse("dataio:import_list"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        for payload in PAYLOADS:
            assert_inert(response.content, payload, url)


@pytest.mark.parametrize("key", entity_ids())
def test_stored_xss_javascript_urls_are_refused_or_never_links(key, alice):
    """Websites and social profile URLs: a script URL is refused by the service (API 422,
    form error) and never rendered as a link, whatever its spelling."""
    entity = _entity(key)
    fields = text_fields(entity)
    url_fields = [name for name in ("websites", "social_profiles") if name in fields]
    assert url_fields or entity.key not in {"person", "company"}
    client = api(alice)
    for url in JS_URLS:
        for name in url_fields:
            value = [url] if name == "websites" else [{"network": "other", "url": url}]
            response = client.post(api_url(entity), {"name": "Js", "first_name": "Js", name: value})
            assert response.status_code in (422,), (name, url, response.content)
    for page_url in (html_url(entity, "list"),):
        assert not JS_HREF.search(browser(alice).get(page_url).content)


@pytest.mark.parametrize("key", entity_ids())
def test_stored_xss_api_returns_payloads_as_json_data_only(planted, key, alice):
    """The API surface: the text comes back verbatim as JSON with nosniff, so no browser
    treats it as a page."""
    entity = _entity(key)
    client = api(alice)
    for payload in PAYLOADS:
        record = planted[(key, payload)]
        response = client.get(api_url(entity, record.obj.pk))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert response["X-Content-Type-Options"] == "nosniff"
        body = response.json()
        field = next(f for f in record.accepted if isinstance(body.get(f), str))
        assert body[field] == payload


@pytest.mark.parametrize("payload", PAYLOADS[:3])
def test_reflected_xss_in_query_parameters_and_paths_is_escaped(payload, alice):
    client = browser(alice)
    for entity in entities():
        for params in ({"q": payload}, {payload: "1"}, {"ordering": payload}):
            response = client.get(html_url(entity, "list"), params)
            assert response.status_code == 200
            assert_inert(response.content, payload, f"{entity.key} list {params}")
    for url in ("/search/", "/search/palette/"):
        assert_inert(client.get(url, {"q": payload}).content, payload, url)
    response = client.get("/people/" + payload + "/")
    assert response.status_code == 404
    assert_inert(response.content, payload, "404 page")
    response = api(alice).get("/people", {payload: "1"})
    assert response.status_code == 400 and response["Content-Type"].startswith(
        "application/problem+json"
    )
