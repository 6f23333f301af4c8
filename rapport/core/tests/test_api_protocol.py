"""The HTTP API's protocol: auth, problem+json everywhere, idempotency, CSRF, OpenAPI, docs."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from rapport.accounts.services import token_create, token_revoke
from rapport.contacts.models import Person
from rapport.core.api.testing import ApiClient, clear_throttle, fields_of, is_problem
from rapport.core.models import IdempotencyRecord
from rapport.testing.factories import PASSWORD, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_throttle()


# --- authentication -------------------------------------------------------------------


def test_missing_token_is_401_with_www_authenticate(db):
    response = Client().get("/api/v1/people")
    assert is_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer rpt_nonsense", "Bearer ", "Basic abc", "rpt_x"])
def test_invalid_token_is_401(db, header):
    response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/people")
    assert is_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(alice):
    token, raw = token_create(user=alice)
    client = ApiClient(raw_token=raw)
    assert client.get("/people").status_code == 200
    token_revoke(actor=alice, token=token)
    response = client.get("/people")
    assert is_problem(response, 401) and "Bearer" in response["WWW-Authenticate"]


def test_bad_token_wins_over_a_session(alice):
    client = Client(HTTP_AUTHORIZATION="Bearer rpt_wrong")
    client.force_login(alice)
    assert is_problem(client.get("/api/v1/people"), 401)


def test_session_reads_and_needs_csrf_to_write(alice):
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="alice", password=PASSWORD)
    assert client.get("/api/v1/people").status_code == 200
    refused = client.post("/api/v1/people", '{"first_name": "S"}', content_type="application/json")
    assert is_problem(refused, 403)
    assert refused.json()["type"].endswith(":csrf")
    assert not Person.objects.exists()
    client.get("/api/v1/docs")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/v1/people",
        '{"first_name": "S"}',
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert accepted.status_code == 201, accepted.content


# --- problem+json everywhere --------------------------------------------------------------


def test_unknown_paths_under_api_are_problem_404(alice):
    client = ApiClient(alice)
    for path in ("/api/v1/nothing", "/api/v2/people", "/api/", "/api/v1/people/abc"):
        assert is_problem(client.get(path), 404), path
    assert is_problem(client.post("/api/v1/nothing", {}), 404)


def test_wrong_method_is_problem_405(alice):
    client = ApiClient(alice)
    response = client.put("/people", {})
    assert is_problem(response, 405)
    assert "GET" in response["Allow"] and "POST" in response["Allow"]
    assert is_problem(client.put(f"/people/{PersonFactory(actor=alice).pk}", {}), 405)


def test_unparseable_body_is_400_and_wrong_type_415(alice):
    client = ApiClient(alice)
    assert is_problem(client.post("/people", "{not json"), 400)
    assert is_problem(client.post("/people", "[1, 2]"), 400)
    assert is_problem(client.post("/people", '{"first_name": NaN}'), 400)
    assert is_problem(client.post("/people", b"\xff\xfe"), 400)
    response = client.post(
        "/people", "first_name=x", content_type="application/x-www-form-urlencoded"
    )
    assert is_problem(response, 415)
    person = PersonFactory(actor=alice)
    assert is_problem(client.patch(f"/people/{person.pk}", "x", content_type="text/plain"), 415)
    assert not Person.objects.exclude(pk=person.pk).exists()


def test_bad_query_is_400_naming_the_parameter(alice):
    client = ApiClient(alice)
    response = client.get("/people", {"colour": "red"})
    assert is_problem(response, 400) and fields_of(response) == ["colour"]
    response = client.get("/people", {"ordering": "shoe_size"})
    assert is_problem(response, 400) and fields_of(response) == ["ordering"]
    for limit in ("0", "201", "abc", "-1"):
        response = client.get("/people", {"limit": limit})
        assert is_problem(response, 400) and fields_of(response) == ["limit"], limit
    response = client.get("/people", {"owner": "someone"})
    assert is_problem(response, 400) and fields_of(response) == ["owner"]
    response = client.get("/people", {"created_after": "yesterday"})
    assert is_problem(response, 400) and fields_of(response) == ["created_after"]


def test_ordering_by_personal_data_needs_the_permission(alice, erin):
    response = ApiClient(alice).get("/people", {"ordering": "birthday"})
    assert is_problem(response, 400) and fields_of(response) == ["ordering"]
    assert ApiClient(erin).get("/people", {"ordering": "birthday"}).status_code == 200


def test_huge_ids_are_404_not_500(alice):
    client = ApiClient(alice)
    huge = "9" * 30
    assert is_problem(client.get(f"/people/{huge}"), 404)
    assert is_problem(client.delete(f"/people/{huge}"), 404)
    assert is_problem(client.post(f"/people/{huge}/restore"), 404)
    response = client.get("/audit", {"object_type": "person", "object_id": huge})
    assert is_problem(response, 400)
    response = client.post("/people", {"first_name": "H", "owner": 10**30})
    assert is_problem(response, 422) and fields_of(response) == ["owner"]


def test_server_errors_are_problems_without_traceback(alice, monkeypatch):
    from rapport.contacts import entities

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(entities.PersonEntity, "serialize", classmethod(boom))
    client = ApiClient(alice)
    client.client.raise_request_exception = False
    response = client.get(f"/people/{PersonFactory(actor=alice).pk}")
    assert is_problem(response, 500)
    assert b"secret internals" not in response.content and b"Traceback" not in response.content


def test_rate_limit_is_429_with_retry_after(alice, settings, monkeypatch):
    from rapport.core.api import auth

    monkeypatch.setattr(auth.UserRateThrottle, "num_requests", 2, raising=False)
    from rapport.api_urls import api

    throttle = api.throttle[0] if isinstance(api.throttle, list) else api.throttle
    monkeypatch.setattr(throttle, "num_requests", 2)
    monkeypatch.setattr(throttle, "duration", 60)
    client = ApiClient(alice)
    assert client.get("/people").status_code == 200
    assert client.get("/people").status_code == 200
    response = client.get("/people")
    assert is_problem(response, 429)
    assert int(response["Retry-After"]) >= 1


# --- idempotency ----------------------------------------------------------------------------


def test_idempotent_replay_returns_first_answer_and_creates_nothing(alice):
    client = ApiClient(alice)
    body = {"first_name": "Once", "emails": [{"address": "once@example.com"}]}
    first = client.post("/people", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    again = client.post("/people", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again["Location"] == first["Location"] and again["ETag"] == first["ETag"]
    assert Person.objects.filter(first_name="Once").count() == 1

    other = client.post("/people", {"first_name": "Other"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert is_problem(other, 422) and fields_of(other) == ["Idempotency-Key"]
    assert not Person.objects.filter(first_name="Other").exists()

    # another token of the same user is another scope
    second = ApiClient(alice).post("/people", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert Person.objects.filter(first_name="Once").count() == 2


def test_idempotency_stores_client_errors_but_not_server_errors(alice, monkeypatch):
    client = ApiClient(alice)
    bad = client.post("/people", {"first_name": 5}, HTTP_IDEMPOTENCY_KEY="k-2")
    assert bad.status_code == 422
    replay = client.post("/people", {"first_name": 5}, HTTP_IDEMPOTENCY_KEY="k-2")
    assert replay.status_code == 422 and replay["Idempotent-Replayed"] == "true"

    from rapport.contacts import entities

    calls = []

    def boom(*, actor, data):
        calls.append(1)
        raise RuntimeError("down")

    monkeypatch.setattr(entities.PersonEntity, "create_service", staticmethod(boom))
    client.client.raise_request_exception = False
    failed = client.post("/people", {"first_name": "Later"}, HTTP_IDEMPOTENCY_KEY="k-3")
    assert is_problem(failed, 500)
    assert not IdempotencyRecord.objects.filter(key="k-3").exists()
    monkeypatch.undo()
    retried = client.post("/people", {"first_name": "Later"}, HTTP_IDEMPOTENCY_KEY="k-3")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried


def test_in_flight_key_is_409(alice):
    client = ApiClient(alice)
    body = json.dumps({"first_name": "Busy"}).encode()
    import hashlib

    from rapport.accounts.models import ApiToken

    token = ApiToken.objects.get(user=alice, revoked_at__isnull=True)
    IdempotencyRecord.objects.create(
        scope=f"token:{token.pk}",
        method="POST",
        path="/api/v1/people",
        key="k-4",
        body_hash=hashlib.sha256(body).hexdigest(),
        status=None,
    )
    response = client.post("/people", body, HTTP_IDEMPOTENCY_KEY="k-4")
    assert is_problem(response, 409)
    assert not Person.objects.filter(first_name="Busy").exists()


def test_bad_idempotency_key_is_400(alice):
    response = ApiClient(alice).post("/people", {"first_name": "K"}, HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert is_problem(response, 400) and fields_of(response) == ["Idempotency-Key"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_record(alice):
    import threading

    from django.db import connection

    clients = [ApiClient(raw_token=ApiClient(alice).raw_token)]
    clients.append(ApiClient(raw_token=clients[0].raw_token))
    body = {"first_name": "Race"}
    results = []
    barrier = threading.Barrier(2)

    def run(client):
        barrier.wait()
        try:
            results.append(client.post("/people", body, HTTP_IDEMPOTENCY_KEY="race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([201, 201], [201, 409]), statuses
    assert Person.objects.filter(first_name="Race").count() == 1


# --- OpenAPI and docs -----------------------------------------------------------------------


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_openapi_is_valid_31_with_filters_and_problems(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"] == "3.1.0"
    assert {"title", "version"} <= set(schema["info"])
    components = schema["components"]["schemas"]
    for ref in set(_refs(schema)):
        assert ref.startswith("#/components/schemas/") and ref.split("/")[-1] in components, ref
    assert "x-rapport" not in json.dumps(schema)

    paths = schema["paths"]
    assert {
        "/api/v1/people",
        "/api/v1/people/{id}",
        "/api/v1/people/{id}/restore",
        "/api/v1/companies",
        "/api/v1/companies/{id}",
        "/api/v1/audit",
    } <= set(paths)
    listed = {p["name"] for p in paths["/api/v1/people"]["get"]["parameters"]}
    from rapport.contacts.filters import CompanyFilterSet, PersonFilterSet

    assert set(PersonFilterSet.base_filters) | {"ordering", "cursor", "limit"} <= listed
    listed = {p["name"] for p in paths["/api/v1/companies"]["get"]["parameters"]}
    assert set(CompanyFilterSet.base_filters) <= listed

    for path, item in paths.items():
        for method, op in item.items():
            assert op["operationId"], (path, method)
            for status in ("401", "404", "405", "500"):
                content = op["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], (path, method, status)
    post = paths["/api/v1/people"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PersonWrite"
    )
    assert {"415", "422", "409"} <= set(post["responses"])
    assert "Location" in post["responses"]["201"]["headers"]
    patch = paths["/api/v1/people/{id}"]["patch"]
    assert "application/merge-patch+json" in patch["requestBody"]["content"]
    assert "412" in patch["responses"]
    assert {p["name"] for p in patch["parameters"]} >= {"id", "If-Match"}
    person_out = components["PersonOut"]
    assert "birthday" in person_out["properties"] and "birthday" not in person_out["required"]


def test_openapi_lists_custom_field_filters(db):
    from rapport.core.models import CustomFieldDefinition

    CustomFieldDefinition.objects.create(entity="person", slug="tier", label="Tier", kind="text")
    schema = json.loads(Client().get("/api/v1/openapi.json").content)
    names = {p["name"] for p in schema["paths"]["/api/v1/people"]["get"]["parameters"]}
    assert "cf_tier" in names


def test_docs_page_works_offline_under_the_csp(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), "external URL"
    assert "<script>" not in html  # no inline code: every script has a src or is JSON data
    for block in re.findall(r"<script[^>]*>", html):
        assert "src=" in block or 'type="application/json"' in block, block
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 4
    for url in assets:
        asset = Client().get(url)
        assert asset.status_code == 200, url
        content = b"".join(asset.streaming_content)
        assert len(content) > 100
        if url.endswith("swagger-ui-init.js"):
            assert b"swagger-settings" in content
    settings_json = re.search(r'id="swagger-settings"[^>]*>(.*?)</script>', html, re.S).group(1)
    settings = json.loads(settings_json)
    assert settings["url"] == "/api/v1/openapi.json" and settings["validatorUrl"] is None
    assert is_problem(Client().get("/api/v1/docs/assets/secret.py"), 404)


def test_messages_follow_the_users_language(alice):
    alice.language = "uk"
    alice.save(update_fields=["language"])
    client = ApiClient(alice)
    response = client.get("/people", {"colour": "red"})
    assert is_problem(response, 400)
    english = ApiClient(alice).get("/people", {"colour": "red"}, HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["title"] == "Bad request"


def test_every_exposed_entity_gets_the_generic_endpoints(db):
    from rapport.core.api.crud import specs
    from rapport.core.registry import registry

    assert {"person", "company"} <= set(specs)
    paths = json.loads(Client().get("/api/v1/openapi.json").content)["paths"]
    for key in specs:
        base = f"/api/v1/{registry.get(key).url_base}"
        assert set(paths[base]) == {"get", "post"}
        assert set(paths[base + "/{id}"]) == {"get", "patch", "delete"}
        assert set(paths[base + "/{id}/restore"]) == {"post"}
