"""API fuzzing: schemathesis against our own OpenAPI document, as two users of different
teams (erin, team A manager; carol, team B rep) who must not see each other's objects.

The document is loaded from the app in process (WSGI, no network), so every operation a
module adds — the entity kit's CRUD for each registered entity, the dataio endpoints — is
fuzzed the moment it is in the document. For every operation and both users:

- no server error, and status code, content type, headers and body match the document;
- negative data (values the document forbids) is rejected with a 4xx;
- no object-level authorisation leak: path ids (and the ids an `entity`-naming body or
  query refers to) are drawn from the caller's objects, the other user's and a missing
  id; the other user's id must answer exactly like the missing one, objects one user
  creates answer 404 to the other, and lists never show the other's ids.

Examples per operation stay small in CI; `HYPOTHESIS_PROFILE=deep` runs many more.
"""

from __future__ import annotations

import io
import json
import os
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rapport.accounts.services import token_create
from rapport.core.api.auth import UserRateThrottle
from rapport.core.permissions import allows, can
from rapport.core.registry import registry

from .conftest import entities, make_record

pytestmark = pytest.mark.django_db

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
EXAMPLES = 120 if DEEP else 3  # per operation, user and generation mode
NEGATIVE_EXAMPLES = 120 if DEEP else 2
FOREIGN_EXAMPLES = 20 if DEEP else 1  # more, aimed at the other user's objects
ONLY = os.environ.get("FUZZ_ONLY", "")  # e.g. "duplicates/dismiss" while debugging
SCHEMA_URL = "/api/v1/openapi.json"
MISSING_ID = 9_000_000_000  # no table here grows that far; larger than any seeded id

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def negative_data_rejected(ctx, response, case):
    """schemathesis's `negative_data_rejection`, except that a stale or malformed
    `If-Match` may answer 412 before the body is judged: RFC 9110 §13.2.1 evaluates
    preconditions before processing the request content. And the API reads an empty
    query value as "not given", like the HTML forms that send one."""
    if response.status_code == 412 and "If-Match" in (case.headers or {}):
        return None
    if response.status_code < 300 and "" in (case.query or {}).values():
        return None  # deliberate: an empty query value (`limit=`) means the default
    return negative_data_rejection(ctx, response, case)


NEGATIVE = [not_a_server_error, negative_data_rejected, content_type_conformance]


def resource_of(path: str) -> str:
    """The collection a path's ids belong to: `entity:<key>` when the segment before the
    first path parameter is an entity's url_base (`/people/{id}`, `/privacy/people/{id}`),
    else the collection path itself (`/api/v1/imports`)."""
    prefix = path.split("/{", 1)[0].rstrip("/")
    last = prefix.rsplit("/", 1)[-1]
    for entity in registry:
        if entity.url_base == last:
            return f"entity:{entity.key}"
    return prefix


@dataclass
class Caller:
    """One fuzzing persona: its token and the ids of the objects it owns, per resource."""

    name: str
    user: Any
    headers: dict[str, str]
    ids: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


@dataclass
class Fuzz:
    schema: Any
    callers: dict[str, Caller]
    failures: list[str] = field(default_factory=list)
    exercised: set[str] = field(default_factory=set)
    foreign_probes: set[str] = field(default_factory=set)

    def other(self, caller: Caller) -> Caller:
        return next(c for c in self.callers.values() if c is not caller)


def _caller(name: str, user) -> Caller:
    _token, raw = token_create(user=user, name="fuzz")
    return Caller(name, user, {"Authorization": f"Bearer {raw}"})


def _client(caller: Caller) -> Client:
    return Client(HTTP_AUTHORIZATION=caller.headers["Authorization"])


def _seed(caller: Caller, admin) -> None:
    """One record of every registered entity, plus an import, an export and a merge,
    created through the API where that is how users create them."""
    for entity in entities():
        for _ in range(2):
            obj = make_record(entity, owner=caller.user, actor=admin)
            caller.ids[f"entity:{entity.key}"].add(obj.pk)
    csv = io.BytesIO(b"first_name,last_name,email\nZed,Fuzz,zed.fuzz@example.com\n")
    csv.name = "people.csv"
    seeds = [("/api/v1/imports", {"data": {"entity": "person", "file": csv}})]
    if can(caller.user, "person", "export"):  # reps may not export: their answer is 403
        body = {"entity": "person", "format": "csv"}
        seeds.append(
            ("/api/v1/exports", {"data": json.dumps(body), "content_type": "application/json"})
        )
    people = sorted(caller.ids["entity:person"])
    body = {"entity": "person", "survivor_id": people[0], "merged_id": people[1]}
    seeds.append(("/api/v1/merges", {"data": json.dumps(body), "content_type": "application/json"}))
    for path, kwargs in seeds:
        response = _client(caller).post(path, **kwargs)
        assert response.status_code in (201, 202), (path, response.content)
        caller.ids[resource_of(path)].add(response.json()["id"])
    caller.ids["entity:person"].discard(people[1])  # merged away


@pytest.fixture
def fuzz(settings, monkeypatch, personas, django_capture_on_commit_callbacks) -> Fuzz:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    # Fuzzing sends hundreds of requests a minute; the rate limit has its own tests.
    monkeypatch.setattr(UserRateThrottle, "allow_request", lambda self, request: True)
    # erin manages team A (every action, team scope); carol is a rep in team B.
    erin = _caller("erin", personas.erin)
    carol = _caller("carol", personas.carol)
    with django_capture_on_commit_callbacks(execute=True):
        _seed(erin, personas.admin)
        _seed(carol, personas.admin)
    # The premise, from the role definitions: neither may view the other's records.
    for entity in entities():
        for one, two in ((erin, carol), (carol, erin)):
            model = entity.model
            for obj in model.all_objects.filter(pk__in=one.ids[f"entity:{entity.key}"]):
                assert not allows(two.user, entity.key, "view", obj), (entity.key, obj.pk)
    # Like Django's test client: the test's connection (and its transaction) must survive
    # the request_finished signal of the WSGI handler.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, get_wsgi_application())
        yield Fuzz(schema=schema, callers={"erin": erin, "carol": carol})
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _operations(schema):
    for result in schema.get_all_operations():
        yield result.ok()


def _entity_ids(caller: Caller, other: Caller, key: str) -> list[int]:
    resource = f"entity:{key}"
    return sorted(caller.ids[resource] | other.ids[resource]) + [MISSING_ID]


def _aim(case, caller: Caller, other: Caller, data, *, foreign: bool = False) -> None:
    """Point the case's ids at real objects: the caller's, the other user's or none
    (only the other user's when `foreign`)."""
    resource = resource_of(case.operation.path)
    for name in list(case.path_parameters or {}):
        choices = sorted(other.ids[resource]) if foreign else []
        choices = choices or sorted(caller.ids[resource] | other.ids[resource]) + [MISSING_ID]
        case.path_parameters[name] = data.draw(st.sampled_from(choices), label=name)
    for where in (case.query, case.body):
        if not isinstance(where, dict):
            continue
        key = where.get("entity") or where.get("object_type")
        if not isinstance(key, str) or registry.get(key) is None:
            continue
        for name in list(where):
            if name.endswith("_id") and isinstance(where[name], int):
                choices = sorted(other.ids[f"entity:{key}"]) if foreign else []
                choices = choices or _entity_ids(caller, other, key)
                where[name] = data.draw(st.sampled_from(choices), label=name)


def hidden(caller: Caller, other: Caller, resource: str) -> set[int]:
    """The other user's ids of a resource that the caller must not see. Records of an
    entity are judged by the role definitions (`allows`) now, since either user may have
    handed one over by changing its owner or team; dataio objects stay their creator's."""
    ids = other.ids[resource]
    if not resource.startswith("entity:") or not ids:
        return set(ids)
    key = resource.removeprefix("entity:")
    objs = registry.get(key).model.all_objects.filter(pk__in=ids)
    return {obj.pk for obj in objs if not allows(caller.user, key, "view", obj)}


def _references(case) -> list[tuple[str, str, dict, str]]:
    """(resource, where, container, name) of every id the case sends."""
    refs = [
        (resource_of(case.operation.path), "path", case.path_parameters, name)
        for name in case.path_parameters or {}
    ]
    for where, container in (("query", case.query), ("body", case.body)):
        if isinstance(container, dict):
            key = container.get("entity") or container.get("object_type")
            if isinstance(key, str) and registry.get(key) is not None:
                refs += [
                    (f"entity:{key}", where, container, name)
                    for name, value in container.items()
                    # 1.0 is the id 1 to the API (JSON has one number type)
                    if name.endswith("_id") and isinstance(value, int | float)
                ]
    return refs


def _foreign_reference(case, caller: Caller, other: Caller) -> bool:
    return any(
        container[name] in hidden(caller, other, resource)
        for resource, _where, container, name in _references(case)
    )


def _as_missing(case, caller: Caller, other: Caller) -> None:
    """Replace, in place, every id the caller must not see by a missing id."""
    for resource, _where, container, name in _references(case):
        if container[name] in hidden(caller, other, resource):
            container[name] = MISSING_ID


def _fresh_key(case) -> None:
    """Make a generated `Idempotency-Key` unique to this request: hypothesis repeats
    short values across examples, and a repeat would be (rightly) answered as a retry
    (replay, or 422 for another body) — that protocol has its own tests."""
    headers = case.headers or {}
    if isinstance(headers.get("Idempotency-Key"), str):
        headers["Idempotency-Key"] += uuid.uuid4().hex


def _item_refs(item: dict, resource: str) -> list[tuple[str, int]]:
    """(resource, id) pairs a list item shows: its own id and, when it names an
    `entity`, the records it refers to (`*_id` keys, `members[].id`)."""
    refs = [(resource, item["id"])] if isinstance(item.get("id"), int) else []
    key = item.get("entity")
    if isinstance(key, str) and registry.get(key) is not None:
        refs += [
            (f"entity:{key}", v)
            for k, v in item.items()
            if k.endswith("_id") and isinstance(v, int)
        ]
        refs += [(f"entity:{key}", m["id"]) for m in item.get("members") or [] if "id" in m]
    return refs


def _check_isolation(fuzz: Fuzz, case, response, caller: Caller, other: Caller) -> None:
    """The custom object-level authorisation checks (see the module docstring)."""
    label = case.operation.label
    status = response.status_code
    if _foreign_reference(case, caller, other):
        sent = (case.path_parameters, case.query, case.body)
        if 200 <= status < 300:
            fuzz.failures.append(f"{label}: {caller.name} got {status} on {other.name}'s object")
        elif status != 404:
            _as_missing(case, caller, other)
            _fresh_key(case)  # the twin is a new request, not a retry of this one
            twin = case.call(headers=caller.headers)
            if twin.status_code != status:
                fuzz.failures.append(
                    f"{label}: {caller.name} tells {other.name}'s object ({status}) "
                    f"from a missing one ({twin.status_code}): {sent} {response.content[:300]!r}"
                )
    if status in (201, 202) and response.headers.get("Location"):
        location = response.headers["Location"][0]
        path = location.split("://", 1)[-1]
        path = path[path.index("/") :] if not path.startswith("/") else path
        created = re.search(r"/(\d+)$", path)
        if created:
            resource = resource_of(case.operation.path)
            caller.ids[resource].add(int(created.group(1)))
            seen = _client(other).get(path)
            if seen.status_code != 404 and int(created.group(1)) in hidden(other, caller, resource):
                fuzz.failures.append(
                    f"{label}: {other.name} got {seen.status_code} on {caller.name}'s new {path}"
                )
    if case.method.upper() == "GET" and status == 200 and "{" not in case.operation.path:
        try:
            items = json.loads(response.content).get("items")
        except (ValueError, AttributeError):
            items = None
        resource = resource_of(case.operation.path)
        for item in items or []:
            for ref in _item_refs(item, resource):
                if ref[1] in hidden(caller, other, ref[0]):
                    fuzz.failures.append(
                        f"{label}: {caller.name}'s list shows {other.name}'s {ref}"
                    )


def _run(fuzz: Fuzz, operation, caller: Caller, mode, checks, *, foreign=False) -> None:
    """Fuzz one operation as one caller; `foreign` aims every id at the other user's
    objects (a few examples, so each operation is probed for leaks however the random
    draws fall)."""
    other = fuzz.other(caller)
    positive = mode is schemathesis.GenerationMode.POSITIVE

    @settings(
        max_examples=FOREIGN_EXAMPLES if foreign else EXAMPLES if positive else NEGATIVE_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not DEEP,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def probe(data):
        case = data.draw(operation.as_strategy(generation_mode=mode))
        _fresh_key(case)
        if positive:
            _aim(case, caller, other, data, foreign=foreign)
        response = case.call(headers=caller.headers)
        case.validate_response(response, checks=checks, headers=caller.headers)
        if positive:
            if _foreign_reference(case, caller, other):
                fuzz.foreign_probes.add(operation.label)
            _check_isolation(fuzz, case, response, caller, other)

    try:
        probe()
    except Exception as exc:  # noqa: BLE001 - report every operation, not only the first
        fuzz.failures.append(f"{operation.label} as {caller.name} ({mode.value}): {exc}")
    fuzz.exercised.add(operation.label)


def _fuzz_all(fuzz: Fuzz, mode, checks) -> None:
    positive = mode is schemathesis.GenerationMode.POSITIVE
    for operation in _operations(fuzz.schema):
        if ONLY not in operation.label:
            continue
        for caller in fuzz.callers.values():
            _run(fuzz, operation, caller, mode, checks)
            if positive:
                _run(fuzz, operation, caller, mode, checks, foreign=True)


def test_fuzz_api_conforms_to_schema_with_no_object_level_authorisation_leak(fuzz):
    """Valid requests (positive data) of both users: no 5xx; every answer is one the
    document declares, with the declared content type, headers and body schema; the
    other user's objects answer like missing ones, new objects answer 404 to the other
    user, lists never show the other's ids. Every operation of the document is fuzzed
    (dataio among them), and every one with an id in its path is probed with foreign ids."""
    operations = list(_operations(fuzz.schema))
    paths = {op.path for op in operations}
    for prefix in ("imports", "exports", "duplicates", "merges", "privacy"):
        assert any(p.startswith(f"/api/v1/{prefix}") for p in paths), prefix
    for entity in entities():
        assert f"/api/v1/{entity.url_base}" in paths, entity.key
    _fuzz_all(fuzz, schemathesis.GenerationMode.POSITIVE, CONFORMANCE)
    assert not fuzz.failures, "\n\n".join(fuzz.failures)
    operations = [op for op in operations if ONLY in op.label]
    assert fuzz.exercised == {op.label for op in operations}
    assert {op.label for op in operations if "{" in op.path} <= fuzz.foreign_probes


def test_fuzz_api_rejects_negative_data(fuzz):
    """Requests the document forbids (wrong types, missing or extra fields, bad query
    values) answer 4xx — never a 2xx that wrote something, never a 5xx."""
    _fuzz_all(fuzz, schemathesis.GenerationMode.NEGATIVE, NEGATIVE)
    assert not fuzz.failures, "\n\n".join(fuzz.failures)


def test_idor_by_id_manager_of_one_team_gets_404_on_another_teams_import(fuzz):
    """Found by the fuzzer: a team manager listed and read every import (reports hold the
    raw rows of the file). An import is its uploader's (and administrators')."""
    erin, carol = fuzz.callers["erin"], fuzz.callers["carol"]
    client = _client(erin)
    (job_id,) = carol.ids["/api/v1/imports"]
    listed = [item["id"] for item in client.get("/api/v1/imports").json()["items"]]
    assert job_id not in listed and listed
    for suffix in ("", "/preview", "/report", "/report.csv"):
        assert client.get(f"/api/v1/imports/{job_id}{suffix}").status_code == 404, suffix
    assert client.post(f"/api/v1/imports/{job_id}/undo").status_code == 404


def test_filter_key_injection_id_filter_past_64_bits_is_a_400(fuzz):
    """Found by the deep fuzzing profile: `?parent=<2**65>` reached the database and
    overflowed SQLite's integer (500), and `?team=²` crashed int(). Every id filter now
    takes ASCII digits from 1 to 2**63-1."""
    client = _client(fuzz.callers["erin"])
    assert client.get("/api/v1/imports", {"limit": "²"}).status_code == 400  # int("²") fails
    for value in (str(2**65), "0", "-3", "1.5"):
        response = client.get("/api/v1/companies", {"parent": value})
        assert response.status_code == 400, (value, response.content)
        assert [e["field"] for e in response.json()["errors"]] == ["parent"]
    assert client.get("/api/v1/companies", {"parent": str(2**63 - 1)}).status_code == 200
    for name in ("owner", "team"):  # "²".isdigit() is true; int("²") is an error
        for value in ("²", str(2**65)):
            response = client.get("/api/v1/people", {name: value})
            assert response.status_code == 400, (name, value, response.content)


def test_fuzz_api_empty_ordering_is_the_default_and_the_document_says_so(fuzz):
    """Found by the deep profile: `?ordering=` (what a list form sends) answered 200 while
    the document's pattern forbade it; the pattern now allows the empty default."""
    operation = next(op for op in _operations(fuzz.schema) if op.label == "GET /api/v1/people")
    (ordering,) = [p for p in operation.definition.raw["parameters"] if p["name"] == "ordering"]
    assert re.fullmatch(ordering["schema"]["pattern"], "")
    assert not re.fullmatch(ordering["schema"]["pattern"], ",")
    client = _client(fuzz.callers["erin"])
    assert client.get("/api/v1/people", {"ordering": ""}).status_code == 200
    assert client.get("/api/v1/people", {"ordering": "nope"}).status_code == 400


def test_oversized_upload_malformed_multipart_is_a_400(fuzz):
    """Found by the deep profile: a multipart body whose part headers are too long (or
    otherwise broken) escaped as a 500 from POST /imports."""
    body = b"--XX\r\nX-Junk: " + b"a" * 20_000 + b"\r\n\r\nzz\r\n--XX--\r\n"
    response = _client(fuzz.callers["erin"]).generic(
        "POST", "/api/v1/imports", body, content_type="multipart/form-data; boundary=XX"
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
