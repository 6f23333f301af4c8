"""API lists of people and companies: filters, orderings, keyset pages, query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts import services
from rapport.core.api.testing import ApiClient, clear_throttle, fields_of, is_problem
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_throttle()


def walk(client, path, params) -> list[dict]:
    """Every item of every page, following next_cursor to the end."""
    items, cursor, pages = [], None, 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = client.get(path, query)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        items += body["items"]
        cursor = body["next_cursor"]
        pages += 1
        assert pages < 100
        if cursor is None:
            return items


@pytest.fixture
def crowd(erin):
    """17 people with duplicate names, missing emails and missing birthdays."""
    people = []
    for i in range(17):
        data = {"first_name": f"P{i % 5}", "last_name": ["Adams", "Бондар", "Łukasz"][i % 3]}
        if i % 4:
            data["emails"] = [{"address": f"p{i % 6}@example.com"}]
        if i % 3:
            data["birthday"] = datetime.date(1980 + i % 4, 1 + i % 12, 1)
        people.append(
            PersonFactory(actor=erin, **data) if "emails" in data else _no_email(erin, data)
        )
    return people


def _no_email(actor, data):
    return services.person_create(actor=actor, data=data)


@pytest.mark.parametrize(
    "ordering",
    [
        "name",
        "-name",
        "email",
        "-email",
        "birthday",
        "-birthday",
        "-created_at",
        "updated_at",
        "email,-created_at",
    ],
)
def test_cursor_walks_every_row_exactly_once(erin, crowd, ordering):
    items = walk(ApiClient(erin), "/people", {"ordering": ordering, "limit": 4})
    ids = [item["id"] for item in items]
    assert sorted(ids) == sorted(p.pk for p in crowd)
    assert len(ids) == len(set(ids))
    if ordering in {"birthday", "-birthday"}:  # NULLs last in both directions
        values = [item["birthday"] for item in items]
        present = [v for v in values if v is not None]
        assert values == present + [None] * (len(values) - len(present))
        assert present == sorted(present, reverse=ordering.startswith("-"))


@pytest.mark.parametrize("ordering", ["company", "owner", "-owner,name"])
def test_joined_columns_do_not_sort(alice, ordering):
    """Sorting by a joined table's column cannot use an index (decision 0030): refused."""
    response = ApiClient(alice).get("/people", {"ordering": ordering})
    assert is_problem(response, 400)
    assert "ordering" in fields_of(response)


def test_tampered_or_foreign_cursor_is_400(erin, crowd):
    client = ApiClient(erin)
    cursor = client.get("/people", {"limit": 3}).json()["next_cursor"]
    assert cursor
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    response = client.get("/people", {"limit": 3, "cursor": tampered})
    assert is_problem(response, 400) and fields_of(response) == ["cursor"]
    response = client.get("/people", {"limit": 3, "cursor": cursor, "ordering": "-name"})
    assert is_problem(response, 400) and fields_of(response) == ["cursor"]
    response = client.get("/people", {"limit": 3, "cursor": "garbage"})
    assert is_problem(response, 400)


def test_filters_and_or_and(alice, bob):
    mine = PersonFactory(actor=alice, first_name="Mine", tags=["red"])
    theirs = PersonFactory(actor=bob, first_name="Theirs", tags=["blue"])
    PersonFactory(actor=bob, first_name="Plain")
    client = ApiClient(alice)

    def ids(params):
        response = client.get("/people", params)
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["items"]}

    assert ids({"owner": "me"}) == {mine.pk}
    assert ids({"tag": ["red", "blue"]}) == {mine.pk, theirs.pk}  # repeated: OR
    assert ids({"tag": "blue", "owner": "me"}) == set()  # different: AND
    assert ids({"owner": [str(alice.pk), str(bob.pk)], "tag": "blue"}) == {theirs.pk}
    assert ids({"email": mine.primary_email}) == {mine.pk}


def test_unknown_filter_is_400(alice):
    response = ApiClient(alice).get("/people", {"tags": "red"})
    assert is_problem(response, 400) and fields_of(response) == ["tags"]


def test_custom_field_filters_are_read_only_when_asked_for(alice):
    """An API list builds only the filters its query names: custom-field definitions are
    read for a `cf_` key and not otherwise, with the same answers and the same 400s."""
    from rapport.core.models import CustomFieldDefinition

    CustomFieldDefinition.objects.create(entity="person", slug="score", label="S", kind="number")
    high = services.person_create(
        actor=alice, data={"first_name": "High", "custom_fields": {"score": 9}, "tags": ["t"]}
    )
    services.person_create(actor=alice, data={"first_name": "Low", "custom_fields": {"score": 1}})
    client = ApiClient(alice)
    client.get("/people")  # token bookkeeping happens once a minute

    def run(params):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/people", params)
        reads = [q["sql"] for q in ctx.captured_queries if "customfielddefinition" in q["sql"]]
        return response, len(reads)

    plain, plain_reads = run({"tag": "t"})
    assert [i["id"] for i in plain.json()["items"]] == [high.pk] and plain_reads == 0
    custom, custom_reads = run({"cf_score": "9"})
    assert [i["id"] for i in custom.json()["items"]] == [high.pk] and custom_reads >= 1
    both, _ = run({"cf_score": "1", "tag": "t"})
    assert both.json()["items"] == []
    unknown, _ = run({"cf_nothing": "1", "tag": "t"})
    assert is_problem(unknown, 400) and fields_of(unknown) == ["cf_nothing"]
    bad, _ = run({"cf_score": "many"})
    assert is_problem(bad, 400) and fields_of(bad) == ["cf_score"]


def test_limit_defaults_to_50(alice):
    for i in range(55):
        services.person_create(actor=alice, data={"first_name": f"N{i:02d}"})
    body = ApiClient(alice).get("/people").json()
    assert len(body["items"]) == 50 and body["next_cursor"]


def _list_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, {"limit": 200})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["items"])


def test_people_list_query_count_does_not_grow(alice):
    client = ApiClient(alice)
    client.get("/people")  # token last-used bookkeeping happens once a minute
    company = CompanyFactory(actor=alice)

    def add(n):
        for i in range(n):
            person = PersonFactory(
                actor=alice,
                tags=["a", "b"],
                groups=["g"],
                phones=[{"number": f"+38044123{i:04d}"}],
            )
            services.employment_add(actor=alice, person=person, company=company)

    add(5)
    few, count = _list_queries(client, "/people")
    assert count == 5
    add(25)
    many, count = _list_queries(client, "/people")
    assert count == 30
    assert few == many


def test_companies_list_query_count_does_not_grow(alice):
    client = ApiClient(alice)
    client.get("/companies")
    for _ in range(5):
        CompanyFactory(actor=alice, tags=["x"], phones=[{"number": "+380441234567"}])
    few, _ = _list_queries(client, "/companies")
    for _ in range(25):
        CompanyFactory(actor=alice, tags=["x"], phones=[{"number": "+380441234567"}])
    many, count = _list_queries(client, "/companies")
    assert count == 30 and few == many


@pytest.mark.parametrize("who", ["alice", "admin"])
def test_list_items_are_exactly_what_the_record_endpoint_serialises(who, request, alice, admin):
    """The API list reads values, not instances; every item must still equal
    `serialize()` of the record, personal fields only for those allowed to see them."""
    from rapport.contacts.entities import PersonEntity
    from rapport.contacts.models import Person
    from rapport.core.models import CustomFieldDefinition

    user = request.getfixturevalue(who)
    CustomFieldDefinition.objects.create(entity="person", slug="score", label="S", kind="number")
    CustomFieldDefinition.objects.create(entity="person", slug="note", label="N", kind="text")
    company = CompanyFactory(actor=alice)
    for i in range(3):
        person = PersonFactory(
            actor=alice,
            tags=["b", "a"],
            groups=["g"],
            emails=[{"address": f"x{i}@example.com"}, {"address": f"y{i}@example.com"}],
            phones=[{"number": f"+38044123{i:04d}"}],
        )
        services.employment_add(actor=alice, person=person, company=company)
        if i == 1:  # the list reads JSON columns raw: empty and filled ones, non-ASCII text
            continue
        services.person_update(
            actor=admin,  # birthday is personal data: alice may not set (or see) it
            person=Person.objects.get(pk=person.pk),
            data={
                "birthday": datetime.date(1990, 1, i + 1),
                "gender": "female",
                "notes": f"n{i} «Łódź»",
                "addresses": [{"city": "Київ", "country": "UA", "street": 'a "b" \\ c'}],
                "websites": ["https://example.com/ü"],
                "social_profiles": [{"network": "telegram", "handle": "@olena"}],
                "custom_fields": {"score": 4.5 + i, "note": "Złoty 🙂"},
            },
        )
    items = walk(ApiClient(user), "/people", {"limit": 2})
    assert items, "the user sees the people of alice's team"
    for item in items:
        record = PersonEntity.detail_queryset(Person.objects.all()).get(pk=item["id"])
        expected = ApiClient(user).get(f"/people/{record.pk}").json()
        assert item == expected
        assert ("birthday" in item) == (who == "admin")
