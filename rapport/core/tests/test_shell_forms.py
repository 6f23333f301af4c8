"""The shell's language and theme forms are rendered once per language and get this
request's CSRF token and path put in: the same markup the templates write, a token the
CSRF check accepts, and the path escaped."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.template import engines
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def _same_token(html: str) -> str:
    return TOKEN.sub('name="csrfmiddlewaretoken" value="…"', html)


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
@pytest.mark.parametrize(
    ("name", "form_id"),
    [("_language_form.html", ""), ("_language_form.html", "menu"), ("_theme_form.html", "")],
)
def test_the_markup_the_template_writes(rf: RequestFactory, language, name, form_id):
    request = rf.get('/people/?q="<b>"&sort=name')
    with translation.override(language):
        direct = render_to_string(
            name,
            {"form_id": form_id, "ui_languages": settings.LANGUAGES},
            request=request,
        )
        tag = engines["django"].from_string("{% load rapport_ui %}{% shell_form name form_id %}")
        shell = tag.render({"name": name, "form_id": form_id}, request)
    assert _same_token(shell) == _same_token(direct)
    assert TOKEN.search(shell)
    if name == "_language_form.html":
        assert 'value="/people/?q=%22%3Cb%3E%22&amp;sort=name"' in shell
        assert f'lang="{language}" selected' in shell


def test_a_page_token_passes_the_csrf_check(alice):
    web = Client(enforce_csrf_checks=True)
    web.force_login(alice)
    html = web.get("/people/").content.decode()
    form = re.search(r'<form method="post" action="/preferences/language/".*?</form>', html, re.S)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0)).group(1)
    answer = web.post(
        "/preferences/language/",
        {"csrfmiddlewaretoken": token, "language": "pl", "next": "/people/"},
    )
    assert answer.status_code == 302
    refused = web.post(
        "/preferences/language/", {"csrfmiddlewaretoken": "x" * 64, "language": "uk"}
    )
    assert refused.status_code == 403


def test_a_page_masks_its_token_once(alice):
    """Every form on a page carries the same masked token, the one the page's own
    `{% csrf_token %}` and HTMX header carry: the secret is masked once per request."""
    web = Client()
    web.force_login(alice)
    html = web.get("/people/").content.decode()
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
    header = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    assert tokens == {header}
    assert len(re.findall(r'name="csrfmiddlewaretoken"', html)) >= 3
