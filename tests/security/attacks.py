"""What the attack cases share: the two surfaces (HTML pages and the API), records of any
registered entity built from its write schema, and the free-text fields to attack.

Everything here is derived from the entity registry and the API specs
(`rapport.core.api.crud.specs`), never from per-entity lists, so an entity that registers
later is attacked too.
"""

from __future__ import annotations

import itertools
import re
import typing
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from pydantic import BaseModel

from rapport.core.api.crud import specs
from rapport.core.api.testing import ApiClient
from rapport.core.registry import registry

SURFACES = ("html", "api")
_counter = itertools.count(1)


def entities() -> list:
    """Registered entities the API exposes (the kit gives each one pages as well)."""
    import rapport.api_urls  # noqa: F401 - building the API fills `specs`

    return [entity for entity in registry if entity.key in specs]


def entity_ids() -> list[str]:
    return [entity.key for entity in entities()]


def browser(user=None, **kwargs) -> Client:
    cache.clear()  # lockout and rate-limit counters from other tests must not answer 429
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def api(user) -> ApiClient:
    cache.clear()  # rate-limit history from other tests must not answer 429
    return ApiClient(user)


def html_url(entity, name: str, *args) -> str:
    from django.urls import reverse

    return reverse(f"{entity.url_base}:{name}", args=args)


def api_url(entity, *parts) -> str:
    return "/".join([f"/api/v1/{entity.url_base}", *(str(p) for p in parts)])


# --- the write schema, read generically ---------------------------------------------------


def _strip_optional(annotation):
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType):
        return args[0] if len(args) == 1 else annotation
    return annotation


def _base_type(annotation):
    """`Annotated[str, Field(...)] | None` → str; list[...] stays a list."""
    annotation = _strip_optional(annotation)
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return _strip_optional(annotation)


def text_value(annotation, text: str) -> Any:
    """A value of the field's shape carrying `text` in every free-text slot, or None when
    the field holds no free text (numbers, dates, ids, choices)."""
    kind = _base_type(annotation)
    if kind is str:
        return text
    if typing.get_origin(kind) is list:
        item = _base_type(typing.get_args(kind)[0])
        if item is str:
            return [text]
        if isinstance(item, type) and issubclass(item, BaseModel):
            row = {
                name: text
                for name, info in item.model_fields.items()
                if _base_type(info.annotation) is str
            }
            return [row] if row else None
    return None


def text_fields(entity) -> dict[str, Any]:
    """The write schema's fields that carry free text, with their annotations."""
    schema = specs[entity.key].create
    fields = {}
    for name, info in schema.model_fields.items():
        if text_value(info.annotation, "x") is not None:
            fields[name] = info.annotation
    return fields


def model_text_fields(entity) -> list[str]:
    """The model's own CharField/TextField/JSONField columns a user can write (the
    generated field list the brief asks for; the write schema decides their shape)."""
    result = []
    for field in entity.model._meta.concrete_fields:
        if not field.editable or field.choices:
            continue
        if isinstance(field, models.CharField | models.TextField | models.JSONField):
            result.append(field.name)
    return result


@dataclass
class Planted:
    """A record created with `text` in every free-text field the service accepted."""

    obj: Any
    accepted: list[str]  # the write-schema fields that kept the text
    refused: dict[str, list[str]]  # field → the service's messages


def plant(entity, actor, text: str | None = None, **data) -> Planted:
    """Create a record of `entity` through its service with `text` in every free-text
    field; fields the service refuses (a URL field refusing `javascript:`, a language
    code …) are dropped one round at a time, so what stays is what a user can store."""
    text = text if text is not None else f"Probe {next(_counter)}"
    body = {name: text_value(annotation, text) for name, annotation in text_fields(entity).items()}
    body.pop("tags", None)  # tags are shared names: one record's probe leaks into others
    body.pop("groups", None)
    body.update(data)
    refused: dict[str, list[str]] = {}
    for _round in range(len(body) + 1):
        try:
            obj = entity.create(actor=actor, data=dict(body))
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            fields = {key.split(".")[0] for key in errors}
            dropped = fields & set(body)
            if not dropped:
                raise
            for name in dropped:
                refused[name] = errors.get(name) or [m for k, m in errors.items() if k]
                body.pop(name)
            continue
        return Planted(obj, sorted(set(body) - set(data)), refused)
    raise AssertionError(f"{entity.key}: no body was accepted")


def make(entity, actor, **data):
    """A plain record of `entity` owned by `actor`."""
    return plant(entity, actor, **data).obj


# --- the HTML forms, read generically -----------------------------------------------------


def form_class(entity):
    """The create/edit form the kit's URL patterns were built with."""
    from django.urls import resolve

    return resolve(html_url(entity, "create")).func.view_initkwargs["form_class"]


def form_text_body(entity, user, text: str) -> dict[str, str]:
    """A form POST with `text` in every free-text input and row, as a person would type."""
    from django import forms

    form = form_class(entity)(user=user)
    body: dict[str, str] = {}
    for name, field in form.fields.items():
        if type(field) is forms.CharField and not isinstance(field.widget, forms.HiddenInput):
            body[name] = text
    for prefix, rowset in form.rowsets.items():
        texts = [f.name for f in rowset.fields if f.kind == "text"]
        if texts:
            body[f"{prefix}-count"] = "1"
            body.update({f"{prefix}-0-{name}": text for name in texts})
    return body


def form_errors(response) -> set[str]:
    """Names of the inputs a re-rendered form complains about (rows by their prefix)."""
    form = (response.context or {}).get("form") if response.context is not None else None
    if form is None:
        return set()
    names = set(form.errors)
    for prefix, rowset in form.rowsets.items():
        if rowset.errors or any(row.errors for row in rowset.rows):
            names.add(prefix)
    return names


def post_form(client, url: str, body: dict[str, str]):
    """POST a form, dropping the inputs it refuses round by round (a `javascript:` URL,
    a language code …) until it saves; returns the last response and the kept body."""
    body = dict(body)
    for _round in range(len(body) + 1):
        response = client.post(url, {**body, "confirm_duplicates": "1"})
        refused = form_errors(response) if response.status_code != 302 else set()
        refused.discard("__all__")
        dropped = [k for k in body if k in refused or k.split("-")[0] in refused]
        if response.status_code == 302 or not dropped:
            return response, body
        for key in dropped:
            body.pop(key)
    return response, body


# --- the URL map -----------------------------------------------------------------------


def ui_routes() -> list[tuple[str, object]]:
    """(route, callback) of every non-API URL pattern, as written in the URL map."""

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    return [
        (route, callback)
        for route, callback in walk(get_resolver().url_patterns, "/")
        if not route.startswith(("/api/", "/^api"))
    ]


def concrete(route: str, pk: int) -> str | None:
    """A URL for a route: ids filled with a real record's id, other parts with a word."""
    url = re.sub(r"<int:[^>]+>", str(pk), route)
    url = re.sub(r"<str:entity>", "person", url)
    url = re.sub(r"<(str|slug|path):[^>]+>", "x", url)
    url = url.replace("^", "").replace("$", "").replace("\\Z", "")
    if re.search(r"[()\[\]?*+\\]", url):  # a regular expression we cannot fill in blindly
        return None
    return url
