"""IDOR: records reached by id from another team, by guessed ids, by ids of trashed and
merged records and of other entities, on every entity route (walked from the URL
resolver) and on the API, with the same answer a missing record gets."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from rapport.core import services as core_services
from rapport.core.api.schemas import MAX_ID
from rapport.core.api.testing import is_problem

from .attacks import SURFACES, api, api_url, browser, entities, entity_ids, html_url, make

pytestmark = pytest.mark.django_db

GUESSES = ["0", "-1", "00", "1e3", "abc", "1;DROP", str(MAX_ID), str(MAX_ID + 1), str(2**70)]


def _entity_routes(entity):
    """Every pattern under the entity's URL namespace that takes the record's pk."""
    resolver = get_resolver()

    def walk(patterns, namespace, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(
                    pattern.url_patterns,
                    pattern.namespace or namespace,
                    prefix + str(pattern.pattern),
                )
            elif isinstance(pattern, URLPattern) and namespace == entity.url_base:
                route = prefix + str(pattern.pattern)
                if "<int:pk>" in route:
                    yield route

    return list(walk(resolver.url_patterns, None, "/"))


def _fill(route: str, pk) -> str:
    import re

    return re.sub(r"<int:[a-z_]+>", "1", route.replace("<int:pk>", str(pk), 1))


def _unchanged(obj) -> bool:
    fresh = type(obj).all_objects.get(pk=obj.pk)
    return fresh.version == obj.version and fresh.deleted_at == obj.deleted_at


@pytest.mark.parametrize("key", entity_ids())
def test_idor_by_id_every_entity_route_answers_404_to_an_outsider(key, alice, carol):
    """Carol (team B) tries every route of Alice's record, read and write: 404 as if it
    did not exist, and nothing changes."""
    entity = next(e for e in entities() if e.key == key)
    obj = make(entity, alice)
    client = browser(carol)
    routes = _entity_routes(entity)
    assert any("/edit/" in route for route in routes), routes
    for route in routes:
        url = _fill(route, obj.pk)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in (404, 405), (method, url, response.status_code)
    assert _unchanged(obj)


@pytest.mark.parametrize("key", entity_ids())
def test_idor_by_id_api_answers_404_like_a_missing_record(key, alice, carol):
    entity = next(e for e in entities() if e.key == key)
    obj = make(entity, alice)
    missing = type(obj).all_objects.order_by("-pk").first().pk + 1000
    client = api(carol)
    for pk in (obj.pk, missing):
        for response in (
            client.get(api_url(entity, pk)),
            client.patch(api_url(entity, pk), {}),
            client.delete(api_url(entity, pk)),
            client.post(api_url(entity, pk, "restore")),
        ):
            assert is_problem(response, 404), (pk, response.status_code)
    foreign, absent = client.get(api_url(entity, obj.pk)), client.get(api_url(entity, missing))
    strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
    assert strip(foreign) == strip(absent)  # nothing tells a foreign id from a missing one
    assert _unchanged(obj)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("key", entity_ids())
def test_idor_by_guessed_ids_never_errors_or_leaks(surface, key, alice, carol):
    """Sequential neighbours, zero, negative, non-numeric and huge ids: 404 (or a 4xx the
    router gives an id that is not a number), never 500, never someone else's record."""
    entity = next(e for e in entities() if e.key == key)
    obj = make(entity, alice)
    guesses = [*GUESSES, str(obj.pk), str(obj.pk + 1), str(obj.pk - 1)]
    if surface == "html":
        client = browser(carol)
        urls = [html_url(entity, "list") + f"{guess}/" for guess in guesses]
        urls += [html_url(entity, "list") + f"{guess}/edit/" for guess in guesses]
    else:
        client = api(carol).client
        urls = [api_url(entity, guess) for guess in guesses]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert str(obj).encode() not in response.content


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("key", entity_ids())
def test_idor_by_id_trashed_record_cannot_be_read_or_restored_by_others(
    surface, key, alice, bob, carol
):
    """Ids of records in the trash: an outsider and a teammate without the delete right
    cannot read or restore them."""
    entity = next(e for e in entities() if e.key == key)
    obj = make(entity, alice)
    core_services.trash(actor=alice, obj=obj)
    # Carol cannot see it at all (404); Bob sees his team's trash but may not restore
    # another rep's record (403, the answer for "visible but not allowed").
    for user, refused in ((carol, 404), (bob, 403)):
        if surface == "html":
            client = browser(user)
            assert client.get(html_url(entity, "detail", obj.pk)).status_code == 404
            assert client.post(html_url(entity, "restore", obj.pk)).status_code == refused
        else:
            client = api(user)
            assert is_problem(client.get(api_url(entity, obj.pk)), 404)
            assert is_problem(client.post(api_url(entity, obj.pk, "restore")), refused)
    assert type(obj).all_objects.get(pk=obj.pk).deleted_at is not None


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("key", entity_ids())
def test_idor_by_id_merged_record_does_not_lead_an_outsider_to_the_survivor(
    surface, key, alice, carol
):
    from rapport.dataio.merging import record_merge

    entity = next(e for e in entities() if e.key == key)
    survivor, merged = make(entity, alice), make(entity, alice)
    record_merge(actor=alice, entity=entity.key, survivor=survivor, merged=merged)
    if surface == "html":
        response = browser(carol).get(html_url(entity, "detail", merged.pk))
        assert response.status_code == 404
    else:
        response = api(carol).get(api_url(entity, merged.pk))
        assert is_problem(response, 404)
    assert str(survivor.pk) not in response.get("Location", "")
    # Alice herself is sent on to the survivor: the tombstone id is not a dead end.
    own = browser(alice).get(html_url(entity, "detail", merged.pk))
    assert own.status_code == 308 and f"/{survivor.pk}/" in own["Location"]


@pytest.mark.parametrize("surface", SURFACES)
def test_idor_by_id_of_another_entity_never_shows_that_record(surface, alice, carol):
    """An id of one entity's record on another entity's route answers for that other
    entity's row with the same id (or 404), never with the first record."""
    kinds = entities()
    for source in kinds:
        obj = make(source, carol, text=f"Secret {source.key} zq_secret")
        for target in kinds:
            if target is source:
                continue
            if surface == "html":
                response = browser(alice).get(html_url(target, "detail", obj.pk))
            else:
                response = api(alice).client.get(api_url(target, obj.pk))
            assert b"zq_secret" not in response.content
            assert response.status_code in (200, 404)
            visible = target.model.objects.restrict(alice, "view").filter(pk=obj.pk).exists()
            assert (response.status_code == 200) == visible


def test_idor_by_id_child_rows_of_another_record_cannot_be_reached(alice, carol):
    """Employment and consent ids of Carol's person, posted under Alice's own person (whose
    routes she may use): 404, and Carol's rows stay as they were."""
    from rapport.contacts.models import Consent, Employment
    from rapport.contacts.services import relations
    from rapport.testing.factories import CompanyFactory, PersonFactory

    mine = PersonFactory(actor=alice)
    theirs = PersonFactory(actor=carol)
    job = relations.employment_add(
        actor=carol, person=theirs, company=CompanyFactory(actor=carol), title="CFO"
    )
    consent = relations.consent_record(
        actor=carol, person=theirs, channel="email", purpose="newsletter"
    )
    client = browser(alice)
    for url in (
        f"/people/{mine.pk}/employments/{job.pk}/end/",
        f"/people/{mine.pk}/employments/{job.pk}/remove/",
        f"/people/{mine.pk}/consents/{consent.pk}/withdraw/",
    ):
        assert client.post(url).status_code == 404, url
    assert Employment.objects.get(pk=job.pk).end_date is None
    assert Consent.objects.get(pk=consent.pk).withdrawn_at is None


@pytest.mark.parametrize("surface", SURFACES)
def test_idor_by_reference_to_an_invisible_record_is_refused(surface, alice, carol):
    """Linking to another team's record by id (an employer, a parent company) is refused
    like a missing id: no link, no name leaked."""
    from rapport.contacts.models import Company, Employment
    from rapport.testing.factories import CompanyFactory, PersonFactory

    hidden = CompanyFactory(actor=carol, name="Hidden Holdings zq_hidden")
    if surface == "html":
        mine = PersonFactory(actor=alice)
        response = browser(alice).post(
            f"/people/{mine.pk}/employments/", {"company": hidden.pk, "title": "Spy"}
        )
        assert response.status_code == 302
        assert not Employment.objects.filter(person=mine).exists()
        assert b"zq_hidden" not in browser(alice).get(f"/people/{mine.pk}/").content
    else:
        own = CompanyFactory(actor=alice)
        response = api(alice).patch(f"/companies/{own.pk}", {"parent": hidden.pk})
        assert is_problem(response, 422) and b"zq_hidden" not in response.content
        assert Company.objects.get(pk=own.pk).parent_id is None


def test_idor_by_id_saved_view_of_another_user_cannot_be_deleted(alice, bob):
    from rapport.core.models import SavedView

    for entity in entities():
        browser(alice).post(
            html_url(entity, "save_view"), {"name": "Mine", "shared": "on", "query": "q=x"}
        )
        view = SavedView.objects.get(entity=entity.key, user=alice)
        response = browser(bob).post(html_url(entity, "delete_view", view.pk))
        assert response.status_code == 404
        assert SavedView.objects.filter(pk=view.pk).exists()


def test_idor_by_id_administration_routes_answer_404_to_non_administrators(alice, erin, team_b):
    """Every /admin/ route of the URL map, for a rep (404 everywhere) and for a manager on
    another team's pages (404): the administration area does not exist for them."""
    from .attacks import concrete, ui_routes

    routes = [route for route, _cb in ui_routes() if route.startswith("/admin/")]
    assert len(routes) > 10
    rep = browser(alice)
    for route in routes:
        url = concrete(route, alice.pk)
        for method in ("get", "post"):
            response = getattr(rep, method)(url)
            assert response.status_code in (404, 405), (method, url, response.status_code)
    manager = browser(erin)
    for url in (f"/admin/teams/{team_b.pk}/", f"/admin/teams/{team_b.pk}/members/"):
        assert manager.get(url).status_code in (404, 405)
        assert manager.post(url, {"user": erin.pk}).status_code == 404


def test_idor_by_id_audit_history_of_a_foreign_record_is_404(alice, carol):
    """The history API is a side door to a record: same answer as the record itself."""
    for entity in entities():
        obj = make(entity, alice)
        params = {"object_type": entity.key, "object_id": obj.pk}
        assert api(alice).get("/audit", params).status_code == 200
        assert is_problem(api(carol).get("/audit", params), 404)
        for guess in ("-1", "0", "abc", str(2**70), f"{obj.pk} OR 1=1"):
            response = api(carol).get("/audit", {"object_type": entity.key, "object_id": guess})
            assert response.status_code in (400, 404), (guess, response.status_code)


@pytest.mark.parametrize("surface", SURFACES)
def test_idor_personal_data_does_not_leak_through_history(surface, erin, bob):
    """A manager records a birthday and income band; a rep of the same team sees the
    record and its history, but never those values (field permission), on the page or
    in the audit API."""
    from rapport.contacts.services import person_update
    from rapport.testing.factories import PersonFactory

    person = PersonFactory(actor=erin, first_name="Hist", last_name="Ory")
    person = person_update(
        actor=erin,
        person=person,
        data={"birthday": "1977-07-17", "income_band": "high"},
        expected_version=person.version,
    )
    if surface == "html":
        response = browser(bob).get(f"/people/{person.pk}/")
    else:
        response = api(bob).get("/audit", {"object_type": "person", "object_id": person.pk})
    assert response.status_code == 200
    assert b"1977" not in response.content
    own = browser(erin).get(f"/people/{person.pk}/")
    assert b"1977" in own.content  # the values are there for whoever may see them
