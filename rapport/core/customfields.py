"""Validating values of admin-defined custom fields."""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import decimal
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from rapport.core import prepared
from rapport.core.models import CustomFieldDefinition

Kind = CustomFieldDefinition.Kind


_cache: contextvars.ContextVar[dict[str, list] | None] = contextvars.ContextVar(
    "rapport_customfield_definitions", default=None
)


def _read(entity: str) -> list[CustomFieldDefinition]:
    """Read on every call (an admin may have changed them); compiled once per entity."""
    return prepared.fetch(
        CustomFieldDefinition,
        ("custom-field-definitions", entity),
        lambda _mark: CustomFieldDefinition.objects.filter(entity=entity),
    )


def definitions(entity: str) -> list[CustomFieldDefinition]:
    cache = _cache.get()
    if cache is None:
        return _read(entity)
    if entity not in cache:
        cache[entity] = _read(entity)
    return cache[entity]


@contextlib.contextmanager
def cached_definitions() -> Iterator[None]:
    """Read each entity's definitions once inside the block (bulk paths such as an import
    batch validate thousands of records against the same definitions)."""
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def clean_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """The stored JSON form of one value, or ValidationError with a readable message."""
    if value in (None, "", []):
        if definition.required:
            raise ValidationError(_("This field is required."), code="required")
        return None
    kind = definition.kind
    if kind == Kind.TEXT:
        return str(value)[:2000]
    if kind == Kind.NUMBER:
        try:
            number = decimal.Decimal(str(value))
        except decimal.InvalidOperation as exc:
            raise ValidationError(_("Enter a number."), code="invalid") from exc
        if not number.is_finite():
            raise ValidationError(_("Enter a number."), code="invalid")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == Kind.DATE:
        if isinstance(value, datetime.date):
            return value.isoformat()
        try:
            return datetime.date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise ValidationError(_("Enter a date as YYYY-MM-DD."), code="invalid") from exc
    if kind == Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ValidationError(_("Enter yes or no."), code="invalid")
    if kind == Kind.URL:
        URLValidator(schemes=["http", "https"])(str(value))
        return str(value)
    if kind == Kind.CHOICE:
        if str(value) not in definition.choices:
            raise ValidationError(
                _("“%(value)s” is not one of the choices."),
                code="invalid_choice",
                params={"value": value},
            )
        return str(value)
    if kind == Kind.MULTI_CHOICE:
        values = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        bad = [v for v in values if str(v) not in definition.choices]
        if bad:
            raise ValidationError(
                _("“%(value)s” is not one of the choices."),
                code="invalid_choice",
                params={"value": bad[0]},
            )
        return [str(v) for v in values]
    raise ValidationError(_("Unknown field type."), code="invalid")


def clean_values(
    entity: str, values: dict[str, Any] | None, *, current: dict | None = None
) -> dict:
    """Merge `values` over `current`, validating each; errors keyed custom_fields.<slug>."""
    defs = {d.slug: d for d in definitions(entity)}
    result = dict(current or {})
    errors: dict[str, list] = {}
    for slug, value in (values or {}).items():
        definition = defs.get(slug)
        if definition is None:
            errors[f"custom_fields.{slug}"] = [_("There is no custom field “%s”.") % slug]
            continue
        try:
            cleaned = clean_value(definition, value)
        except ValidationError as exc:
            errors[f"custom_fields.{slug}"] = exc.messages
            continue
        if cleaned is None:
            result.pop(slug, None)
        else:
            result[slug] = cleaned
    for slug, definition in defs.items():
        if definition.required and slug not in result and f"custom_fields.{slug}" not in errors:
            errors[f"custom_fields.{slug}"] = [_("This field is required.")]
    if errors:
        raise ValidationError(errors)
    return result
