"""Reading request bodies: content type (415), JSON syntax (400), then the schema (422).

Bodies are parsed here rather than by django-ninja so each failure gets its own status
and a field path, and so PATCH knows which keys were sent (JSON merge patch: a key that
is absent stays as it is, `null` clears, arrays are replaced whole).
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
from django.utils.translation import gettext as _

from rapport.core.api.problems import Problem, errors_from_pydantic, field_error

JSON_TYPES = frozenset({"application/json", "application/merge-patch+json"})


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _find_nul(value: Any, path: list[str]) -> str | None:
    """The dotted path of the first string holding a NUL character (no database takes it)."""
    if isinstance(value, str):
        return ".".join(path) if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return ".".join([*path, key.replace("\x00", "")])
            found = _find_nul(item, [*path, key])
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_nul(item, [*path, str(index)])
            if found is not None:
                return found
    return None


def read_json(request) -> dict[str, Any]:
    """The request's JSON object, or a Problem (415, 400) saying what is wrong."""
    content_type = (request.content_type or "").lower()
    if content_type not in JSON_TYPES and not (
        content_type.startswith("application/") and content_type.endswith("+json")
    ):
        raise Problem(
            415,
            _("Send the body as application/json (or application/merge-patch+json)."),
            headers={"Accept-Patch": "application/merge-patch+json, application/json"},
        )
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if charset not in {"utf-8", "utf8"}:
        raise Problem(415, _("Send the body encoded as UTF-8."))
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, _("The body is not valid UTF-8.")) from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise Problem(400, _("The body is not valid JSON.")) from exc
    if not isinstance(data, dict):
        raise Problem(400, _("The body must be a JSON object."))
    nul = _find_nul(data, [])
    if nul is not None:
        raise Problem(
            422,
            _("Some fields are not valid."),
            errors=[
                field_error(
                    nul or None, _("Text may not contain NUL characters."), "null_character"
                )
            ],
        )
    return data


def validate(schema: type[pydantic.BaseModel], data: dict[str, Any], *, read_only=frozenset()):
    """Validate against the write schema; returns only the keys that were sent."""
    try:
        instance = schema.model_validate(data)
    except pydantic.ValidationError as exc:
        raise Problem(
            422,
            _("Some fields are not valid."),
            errors=errors_from_pydantic(exc, read_only=frozenset(read_only)),
        ) from exc
    return instance.model_dump(exclude_unset=True)


def read_body(request, schema, *, read_only=frozenset()) -> dict[str, Any]:
    return validate(schema, read_json(request), read_only=read_only)
