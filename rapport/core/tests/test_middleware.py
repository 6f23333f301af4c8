"""Per-request context: request ids and the user's saved preferences."""

import pytest

pytestmark = pytest.mark.django_db


def test_saved_language_applies_on_a_fresh_browser(client, alice):
    alice.language = "pl"
    alice.save(update_fields=["language"])
    client.force_login(alice)
    response = client.get("/people/")
    assert response.status_code == 200
    assert '<html lang="pl"' in response.content.decode()
    assert response.cookies["django_language"].value == "pl"


def test_every_response_carries_a_request_id(client):
    response = client.get("/accounts/login/", headers={"X-Request-ID": "abc-123"})
    assert response["X-Request-ID"] == "abc-123"
    response = client.get("/accounts/login/", headers={"X-Request-ID": "<script>"})
    assert response["X-Request-ID"] != "<script>" and len(response["X-Request-ID"]) == 32


def test_healthz_answers_without_signing_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.post("/healthz").status_code == 405
