"""CSRF: every route of the UI URL map (walked from the resolver, so new modules are
covered) refuses a POST without the token — plain forms and HTMX requests alike — and
the API refuses unsafe methods on a session without the CSRF header, while a Bearer
token needs none."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from rapport.core.api.testing import is_problem

from .attacks import (
    api,
    api_url,
    browser,
    concrete,
    entities,
    make,
    plant,
    text_fields,
    text_value,
    ui_routes,
)

pytestmark = pytest.mark.django_db


# Routes that take POSTs from other sites on purpose; each needs a reason. (None today.)
CSRF_EXEMPT_ALLOWED: dict[str, str] = {}


def test_csrf_no_ui_view_is_exempt():
    exempt = [
        route
        for route, callback in ui_routes()
        if getattr(callback, "csrf_exempt", False) and route not in CSRF_EXEMPT_ALLOWED
    ]
    assert exempt == []


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_csrf_every_state_changing_route_refuses_a_post_without_token(htmx, alice, admin):
    """Signed in (as the administrator, so no permission check answers first) and as
    nobody: a POST without the CSRF token is 403 on every route, and changes nothing."""
    person = make(entities()[0], alice)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(admin)
    signed_in.get("/")  # a CSRF cookie exists: only the token in the form is missing
    anonymous = Client(enforce_csrf_checks=True)
    checked = 0
    for route, _callback in ui_routes():
        url = concrete(route, person.pk)
        if url is None or url == "/healthz":
            continue
        for client in (signed_in, anonymous):
            response = client.post(url, {"name": "x", "action": "trash"}, **headers)
            assert response.status_code == 403, (url, response.status_code)
        checked += 1
    assert checked > 40  # the walk really reached the whole URL map
    fresh = type(person).all_objects.get(pk=person.pk)
    assert fresh.version == person.version and fresh.deleted_at is None


def test_csrf_forms_carry_the_token_and_work_with_it(alice):
    """The other half: a real form post with the token from the page goes through."""
    entity = entities()[0]
    obj = make(entity, alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get(f"/{entity.url_base}/{obj.pk}/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token, "the record page has a form with the CSRF token"
    response = client.post(
        f"/{entity.url_base}/{obj.pk}/delete/", {"csrfmiddlewaretoken": token.group(1).decode()}
    )
    assert response.status_code == 302
    assert type(obj).all_objects.get(pk=obj.pk).deleted_at is not None


def _session_api(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _body(entity, actor) -> dict:
    accepted = plant(entity, actor).accepted
    return {name: text_value(text_fields(entity)[name], "Csrf Probe") for name in accepted}


def test_csrf_api_with_a_session_needs_the_header(alice):
    for entity in entities():
        obj = make(entity, alice)
        client = _session_api(alice)
        before = entity.model.all_objects.count()
        attempts = [
            client.post(api_url(entity), _body(entity, alice), content_type="application/json"),
            client.patch(api_url(entity, obj.pk), {}, content_type="application/merge-patch+json"),
            client.delete(api_url(entity, obj.pk)),
            client.post(api_url(entity, obj.pk, "restore")),
            client.post("/api/v1/duplicates/scan", {"entity": entity.key}, "application/json"),
        ]
        for response in attempts:
            assert is_problem(response, 403), (response.status_code, response.content[:200])
            assert "CSRF" in response.json()["detail"]
        assert entity.model.all_objects.count() == before + 1  # only _body's own record
        assert type(obj).all_objects.get(pk=obj.pk).deleted_at is None
        # A safe method needs no token; with the token the same write goes through.
        assert client.get(api_url(entity, obj.pk)).status_code == 200
        client.get("/")
        token = client.cookies[settings.CSRF_COOKIE_NAME].value
        response = client.delete(api_url(entity, obj.pk), HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 204


def test_csrf_not_needed_with_a_bearer_token_and_a_bad_token_is_401(alice):
    for entity in entities():
        client = api(alice)
        response = client.post(api_url(entity), _body(entity, alice))
        assert response.status_code == 201
        # A forged request riding on a session cookie but naming a bad token is refused.
        forged = _session_api(alice)
        response = forged.post(
            api_url(entity),
            _body(entity, alice),
            content_type="application/json",
            HTTP_AUTHORIZATION="Bearer rpt_forged",
        )
        assert is_problem(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_csrf_cookie_and_session_cookie_flags(alice):
    """SameSite=Lax and HttpOnly on the session cookie limit what a forged page can do."""
    client = browser()
    client.post("/accounts/login/", {"login": "alice", "password": "correct-horse-battery"})
    morsel = client.cookies[settings.SESSION_COOKIE_NAME]
    assert morsel["httponly"] and morsel["samesite"] == "Lax"
    assert settings.CSRF_COOKIE_SAMESITE == "Lax"
