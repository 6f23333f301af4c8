"""Companies over the HTTP API: the same generic router, company-specific shapes."""

from __future__ import annotations

import pytest

from rapport.contacts.models import Company
from rapport.core.api.testing import ApiClient, clear_throttle, fields_of, is_problem
from rapport.testing.factories import CompanyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_throttle()


def test_company_crud_round_trip(alice):
    client = ApiClient(alice)
    parent = CompanyFactory(actor=alice, name="Holding")
    created = client.post(
        "/companies",
        {
            "name": "Acme",
            "domains": ["https://www.Acme.example/about"],
            "annual_revenue": "1250000.50",
            "revenue_currency": "eur",
            "size": "50-249",
            "phones": [{"number": "+48 22 123 45 67"}],
            "parent": parent.pk,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["domains"] == ["acme.example"]
    assert body["annual_revenue"] == "1250000.50" and body["revenue_currency"] == "EUR"
    assert body["phones"][0]["number"] == "+48221234567"
    assert body["parent"] == parent.pk
    pk = body["id"]
    patched = client.patch(f"/companies/{pk}", {"parent": None, "size": ""}, HTTP_IF_MATCH='"1"')
    assert patched.status_code == 200, patched.content
    assert patched.json()["parent"] is None and patched.json()["size"] == ""
    assert client.delete(f"/companies/{pk}", HTTP_IF_MATCH='"2"').status_code == 204
    assert is_problem(client.get(f"/companies/{pk}"), 404)
    assert client.post(f"/companies/{pk}/restore").status_code == 200


def test_company_validation(alice, carol):
    client = ApiClient(alice)
    response = client.post("/companies", {"legal_name": "No name"})
    assert is_problem(response, 422) and fields_of(response) == ["name"]
    response = client.post("/companies", {"name": "X", "annual_revenue": "12.345"})
    assert is_problem(response, 422) and fields_of(response) == ["annual_revenue"]
    response = client.post("/companies", {"name": "X", "annual_revenue": 10})
    assert is_problem(response, 422) and fields_of(response) == ["revenue_currency"]
    response = client.post("/companies", {"name": "X", "domains": ["not a domain"]})
    assert is_problem(response, 422) and fields_of(response) == ["domains.0"]
    response = client.post("/companies", {"name": "X", "size": "huge"})
    assert is_problem(response, 422) and fields_of(response) == ["size"]
    hidden = CompanyFactory(actor=carol)
    response = client.post("/companies", {"name": "X", "parent": hidden.pk})
    assert is_problem(response, 422) and fields_of(response) == ["parent"]
    assert not Company.objects.filter(name="X").exists()


def test_company_visibility(alice, bob, carol):
    company = CompanyFactory(actor=alice)
    assert is_problem(ApiClient(carol).get(f"/companies/{company.pk}"), 404)
    assert ApiClient(carol).get("/companies").json()["items"] == []
    assert is_problem(ApiClient(bob).patch(f"/companies/{company.pk}", {"name": "B"}), 403)
    filtered = ApiClient(bob).get("/companies", {"domain": company.primary_domain})
    assert [c["id"] for c in filtered.json()["items"]] == [company.pk]
