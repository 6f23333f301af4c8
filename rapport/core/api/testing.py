"""Test helpers for the HTTP API: a client that signs requests with a fresh token."""

from __future__ import annotations

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
    """Rate-limit history lives in the cache; tests reuse user ids across runs."""
    cache.clear()
