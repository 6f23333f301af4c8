"""Filter and ordering key injection: keys that traverse relations to secrets
(`owner__password…`), Django `_connector`/`_negated` keys, `values`/`annotate`-style
keys and SQL in values — on list pages, the list API, exports and saved views. The
answer is a 400 (API) or a message (pages), never a 500, never a leak: in particular a
prefix of the password hash must not change what a list returns (no oracle)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.core.api.testing import fields_of, is_problem
from rapport.core.models import SavedView
from rapport.dataio.tests.export_helpers import grant_export

from .attacks import SURFACES, api, api_url, browser, entities, entity_ids, html_url, make

pytestmark = pytest.mark.django_db

SECRET_KEYS = [
    "owner__password",
    "owner__password__startswith",
    "owner__password__regex",
    "created_by__email",
    "created_by__password__startswith",
    "owner__is_superuser",
    "team__memberships__user__password",
    "updated_by__username__contains",
]
DJANGO_KEYS = ["_connector", "_negated", "_children", "pk__in", "id__gt", "deleted_at__isnull"]
QUERYSET_KEYS = ["values", "annotate", "extra", "select", "where", "raw", "order_by", "__class__"]
BAD_ORDERINGS = [
    "owner__password",
    "-owner__password",
    "created_by__email",
    "name,owner__password",
    "?",
    "sort_key",
    "pk; DROP TABLE contacts_person",
    "(SELECT password FROM accounts_user)",
    "--",
    "owner__username__password",
]
SQL_VALUES = ["' OR 1=1 --", '" OR ""="', "1); DROP TABLE contacts_person; --", "%' --", "\\"]


def _entity(key):
    return next(e for e in entities() if e.key == key)


def _hash_prefix(user) -> str:
    return user.password[:6]


def _list(surface, entity, user, params):
    if surface == "html":
        return browser(user).get(html_url(entity, "list"), params)
    return api(user).get(api_url(entity), params)


def _ids(surface, entity, response) -> set[int]:
    if surface == "html":
        return {obj.pk for obj in response.context["page"].rows}
    return {item["id"] for item in response.json()["items"]}


def _refused(surface, response, keys) -> None:
    """API: 400 problem naming every key. Page: 200 naming them, no error page."""
    if surface == "api":
        assert is_problem(response, 400), (response.status_code, response.content[:300])
        assert set(keys) <= set(fields_of(response)), fields_of(response)
    else:
        assert response.status_code == 200, response.status_code
        message = " ".join(response.context["page"].errors)
        assert all(key in message for key in keys), message


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("key", entity_ids())
def test_filter_key_injection_secret_relations_are_refused(surface, key, alice, carol):
    entity = _entity(key)
    make(entity, alice)
    keys = SECRET_KEYS + DJANGO_KEYS + QUERYSET_KEYS
    for params in [{name: "x" for name in keys}, {keys[1]: _hash_prefix(alice)}]:
        response = _list(surface, entity, alice, params)
        _refused(surface, response, list(params))
        assert alice.password.encode() not in response.content


@pytest.mark.parametrize("surface", SURFACES)
def test_filter_key_injection_password_prefix_is_no_oracle(surface, alice, bob):
    """Were `owner__password__startswith` applied, the right prefix would keep Alice's
    records and a wrong one would drop them: both answers must be the same."""
    for entity in entities():
        make(entity, alice)
        right = _list(surface, entity, bob, {"owner__password__startswith": _hash_prefix(alice)})
        wrong = _list(surface, entity, bob, {"owner__password__startswith": "zzzzzz"})
        assert right.status_code == wrong.status_code
        if surface == "html":
            assert _ids(surface, entity, right) == _ids(surface, entity, wrong)
        else:
            assert right.json()["errors"] == wrong.json()["errors"]


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("key", entity_ids())
def test_filter_key_injection_ordering_by_secrets_is_refused(surface, key, alice):
    entity = _entity(key)
    make(entity, alice)
    make(entity, alice)
    for ordering in BAD_ORDERINGS:
        response = _list(surface, entity, alice, {"ordering": ordering})
        if surface == "api":
            assert is_problem(response, 400), (ordering, response.status_code)
            assert fields_of(response) == ["ordering"]
        else:
            assert response.status_code == 200, ordering
            assert response.context["page"].errors, ordering
            assert response.context["page"].ordering == entity.default_ordering


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("key", entity_ids())
def test_filter_key_injection_sql_in_values_is_data(surface, key, alice, carol):
    """SQL in every filter's value is a literal (no rows of another team appear, no 500);
    bad values for typed filters are refused naming the filter."""
    entity = _entity(key)
    make(entity, alice)
    make(entity, carol)
    visible = set(entity.model.objects.restrict(alice, "view").values_list("pk", flat=True))
    from rapport.core.api.lists import filterset_for

    names = list(filterset_for(entity).base_filters)
    for value in SQL_VALUES:  # every filter at once: no lookup may turn the value into SQL
        response = _list(surface, entity, alice, dict.fromkeys(names, value))
        assert response.status_code in (200, 400), (value, response.status_code)
        if response.status_code == 200:
            assert _ids(surface, entity, response) <= visible, value
        else:
            assert set(fields_of(response)) <= set(names), fields_of(response)
    if surface == "api":  # one by one, so a refusal of one filter hides no other
        for name in names:
            response = _list(surface, entity, alice, {name: SQL_VALUES[0]})
            assert response.status_code in (200, 400), (name, response.status_code)
            if response.status_code == 200:
                assert _ids(surface, entity, response) <= visible, name
            else:
                assert fields_of(response) == [name]


def test_filter_key_injection_on_export_page_and_api(alice, carol):
    """Exports read the same FilterSet: secret keys and orderings are refused there too
    (the page sends a message back to the list; the API answers 400)."""
    grant_export(alice)
    for entity in entities():
        make(entity, carol)
        client = browser(alice)
        for name in ("owner__password__startswith", "_connector", "values"):
            url = reverse("dataio:export", args=[entity.key])
            response = client.get(url, {"format": "csv", name: _hash_prefix(carol)})
            assert response.status_code == 302, (name, response.status_code)
            assert carol.password.encode() not in response.content
            body = {"entity": entity.key, "format": "csv", "filters": {name: ["x"]}}
            response = api(alice).post("/exports", body)
            assert is_problem(response, 400), (name, response.content)
        response = api(alice).post(
            "/exports", {"entity": entity.key, "format": "csv", "ordering": "owner__password"}
        )
        assert is_problem(response, 400)
        response = client.get(
            reverse("dataio:export", args=[entity.key]),
            {"format": "csv", "ordering": "owner__password"},
        )
        assert response.status_code == 302
        # Columns name list columns only: a relation path is refused (API) or dropped.
        bad_columns = ["owner__password", "created_by__email", "__class__"]
        response = api(alice).post(
            "/exports", {"entity": entity.key, "format": "csv", "columns": bad_columns}
        )
        assert response.status_code in (400, 422) and b"md5$" not in response.content
        response = client.get(
            reverse("dataio:export", args=[entity.key]), {"format": "csv", "columns": bad_columns}
        )
        assert response.status_code in (200, 302)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert carol.password.encode() not in body and b"carol@example.com" not in body


@pytest.mark.parametrize("key", entity_ids())
def test_filter_key_injection_through_a_shared_saved_view(key, alice, bob, carol):
    """A saved view stores its query; a shared one with injected keys leads other users
    to a list that refuses them (the stored keys are never applied as lookups)."""
    entity = _entity(key)
    make(entity, carol)
    client = browser(alice)
    query = "owner__password__startswith=md5&_connector=OR&ordering=owner__password&q=x"
    response = client.post(
        html_url(entity, "save_view"), {"name": "Evil view", "shared": "on", "query": query}
    )
    assert response.status_code == 302
    view = SavedView.objects.get(name="Evil view")
    params = {k: v[0] if isinstance(v, list) else v for k, v in view.params.items()}
    response = browser(bob).get(html_url(entity, "list"), params)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.errors and page.ordering == entity.default_ordering
    assert {obj.pk for obj in page.rows} <= set(
        entity.model.objects.restrict(bob, "view").values_list("pk", flat=True)
    )
    assert bob.password.encode() not in response.content
