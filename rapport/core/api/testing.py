"""Test helpers for the HTTP API: a client that signs requests with a fresh token."""

from __future__ import annotations

import abc
import json
from typing import Any

from django.core.cache import cache
from django.test import Client

from rapport.accounts.services import token_create

BASE = "/api/v1"


class ApiClient:
    """Django's test Client speaking JSON with `Authorization: Bearer <token>`."""

    def __init__(self, user=None, *, raw_token: str | None = None):
        if raw_token is None and user is not None:
            _token, raw_token = token_create(user=user, name="tests")
        self.raw_token = raw_token
        extra = {"HTTP_AUTHORIZATION": f"Bearer {raw_token}"} if raw_token else {}
        self.client = Client(**extra)

    @staticmethod
    def url(path: str) -> str:
        return path if path.startswith("/api/") else f"{BASE}{path}"

    # Extra keyword arguments are WSGI environ keys: HTTP_IF_MATCH='"2"'.
    def get(self, path: str, params: Any = None, **meta):
        return self.client.get(self.url(path), params or {}, **meta)

    def post(self, path: str, data: Any = None, *, content_type="application/json", **meta):
        body = data if isinstance(data, str | bytes) else json.dumps(data or {})
        return self.client.post(self.url(path), body, content_type=content_type, **meta)

    def patch(
        self, path: str, data: Any = None, *, content_type="application/merge-patch+json", **meta
    ):
        body = data if isinstance(data, str | bytes) else json.dumps(data or {})
        return self.client.patch(self.url(path), body, content_type=content_type, **meta)

    def delete(self, path: str, **meta):
        return self.client.delete(self.url(path), **meta)

    def put(self, path: str, data: Any = None, **meta):
        return self.client.put(
            self.url(path), json.dumps(data or {}), content_type="application/json", **meta
        )


def fields_of(response) -> list[str | None]:
    """The `field` of every error in a problem response."""
    return [error["field"] for error in response.json().get("errors", [])]


def is_problem(response, status: int) -> bool:
    return (
        response.status_code == status
        and response["Content-Type"].startswith("application/problem+json")
        and response.json()["status"] == status
        and {"type", "title", "status", "detail"} <= set(response.json())
    )


def clear_throttle() -> None:
    """Rate-limit counts live in the cache (and pending in the process); tests reuse user
    ids across runs."""
    from rapport.core.api.auth import forget_throttle_windows

    cache.clear()
    forget_throttle_windows()


class EntityApiContract(abc.ABC):
    """The API guarantees every exposed entity keeps; subclass as `Test<Entity>Api` and
    fill in `entity_key`, `make(actor)` and `valid_body()`."""

    entity_key: str = ""

    @abc.abstractmethod
    def make(self, actor):
        """Build one record owned by `actor` (through the entity's service)."""

    @abc.abstractmethod
    def valid_body(self) -> dict[str, Any]:
        """A POST body the entity accepts."""

    @property
    def base(self) -> str:
        from rapport.core.registry import registry

        return f"/{registry.get(self.entity_key).url_base}"

    def test_outsider_gets_404_like_a_missing_record(self, alice, carol):
        clear_throttle()
        obj = self.make(alice)
        client = ApiClient(carol)
        for response in (
            client.get(f"{self.base}/{obj.pk}"),
            client.patch(f"{self.base}/{obj.pk}", {}),
            client.delete(f"{self.base}/{obj.pk}"),
        ):
            assert is_problem(response, 404)
        assert obj.pk not in [item["id"] for item in client.get(self.base).json()["items"]]

    def test_teammate_may_view_but_not_change(self, alice, bob):
        clear_throttle()
        obj = self.make(alice)
        client = ApiClient(bob)
        assert client.get(f"{self.base}/{obj.pk}").status_code == 200
        assert is_problem(client.patch(f"{self.base}/{obj.pk}", {}), 403)
        assert is_problem(client.delete(f"{self.base}/{obj.pk}"), 403)

    def test_create_read_trash_restore(self, alice):
        clear_throttle()
        client = ApiClient(alice)
        created = client.post(self.base, self.valid_body())
        assert created.status_code == 201, created.content
        pk = created.json()["id"]
        assert created["ETag"] == '"1"' and created["Location"].endswith(f"{self.base}/{pk}")
        assert client.get(f"{self.base}/{pk}").json() == created.json()
        assert client.delete(f"{self.base}/{pk}", HTTP_IF_MATCH='"1"').status_code == 204
        assert is_problem(client.get(f"{self.base}/{pk}"), 404)
        assert client.post(f"{self.base}/{pk}/restore").status_code == 200
        history = client.get("/audit", {"object_type": self.entity_key, "object_id": pk})
        assert [e["action"] for e in history.json()["items"]] == ["restore", "delete", "create"]

    def test_list_query_count_is_constant(self, alice):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        clear_throttle()
        client = ApiClient(alice)
        client.get(self.base)
        counts = []
        for batch in (3, 12):
            for _ in range(batch):
                self.make(alice)
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(self.base, {"limit": 200}).status_code == 200
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1]
