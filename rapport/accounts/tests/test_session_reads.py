"""Each request's session and user come from statements compiled once (decision 0038)
and mean what Django's own reads meant: an expired or unknown session is no session,
an inactive user is signed out."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    web = Client()
    web.force_login(user)
    return web


def is_signed_in(web: Client) -> bool:
    return web.get("/people/").status_code == 200


def test_a_live_session_signs_in_with_one_read_each(alice):
    web = signed_in(alice)
    assert is_signed_in(web)
    with CaptureQueriesContext(connection) as queries:
        assert is_signed_in(web)
    sessions = [q for q in queries.captured_queries if "django_session" in q["sql"]]
    users = [q for q in queries.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert len(sessions) == 1 and len(users) == 1


def test_an_expired_session_is_no_session(alice):
    web = signed_in(alice)
    key = web.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = web.get("/people/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_unknown_session_key_is_no_session(alice):
    web = signed_in(alice)
    Session.objects.all().delete()
    assert not is_signed_in(web)
    web.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32  # never issued
    assert not is_signed_in(web)


def test_an_inactive_user_is_signed_out(alice, bob):
    web_a, web_b = signed_in(alice), signed_in(bob)
    assert is_signed_in(web_a) and is_signed_in(web_b)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert not is_signed_in(web_a)
    assert is_signed_in(web_b)  # another user's plan is the same statement, its own row
