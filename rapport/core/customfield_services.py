"""Writes on custom field definitions (administrators only).

A definition's slug is the key of its values in every record's `custom_fields` JSON,
so it is unique per entity and cannot change once created; choice kinds need choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext as _

from rapport.core import audit
from rapport.core.exceptions import ValidationError
from rapport.core.models import CustomFieldDefinition
from rapport.core.registry import registry
from rapport.core.services import deny, service

Kind = CustomFieldDefinition.Kind
CHOICE_KINDS = {Kind.CHOICE, Kind.MULTI_CHOICE}
EDITABLE = ("label", "kind", "choices", "required", "help_text", "position")
OBJECT_TYPE = "custom_field"


def _require_admin(actor) -> None:
    from rapport.accounts.services import is_administrator

    if not is_administrator(actor):
        raise deny(
            "custom_field", actor=actor, object_type=OBJECT_TYPE, extra={"action": "custom_field"}
        )


def _clean_choices(raw: Any) -> list[str]:
    """A list of distinct, non-empty labels from a list or one-per-line text."""
    items = raw.splitlines() if isinstance(raw, str) else list(raw or [])
    result: list[str] = []
    for item in items:
        text = " ".join(str(item).split())
        if text and text not in result:
            result.append(text[:100])
    return result


def _clean(data: Mapping[str, Any], *, current: CustomFieldDefinition | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if current is None:
        entity = str(data.get("entity") or "")
        if registry.get(entity) is None:
            errors["entity"] = [_("Choose an entity.")]
        slug = str(data.get("slug") or "").strip() or slugify(str(data.get("label") or ""))
        slug = slug.replace("-", "_")
        if not slug or slug != slugify(slug).replace("-", "_") or len(slug) > 50:
            errors["slug"] = [_("Use lower-case letters, digits and underscores.")]
        elif CustomFieldDefinition.objects.filter(entity=entity, slug=slug).exists():
            errors["slug"] = [_("This entity already has a field with this key.")]
        cleaned.update(entity=entity, slug=slug)
    label = " ".join(str(data.get("label") or "").split())
    if not label:
        errors["label"] = [_("A field needs a label.")]
    elif len(label) > 100:
        errors["label"] = [_("Use at most 100 characters.")]
    kind = str(data.get("kind") or "")
    if kind not in Kind.values:
        errors["kind"] = [_("Choose a field type.")]
    choices = _clean_choices(data.get("choices"))
    if kind in CHOICE_KINDS and not choices:
        errors["choices"] = [_("A choice field needs at least one choice.")]
    help_text = str(data.get("help_text") or "").strip()
    if len(help_text) > 200:
        errors["help_text"] = [_("Use at most 200 characters.")]
    try:
        position = int(data.get("position") or 0)
        if position < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["position"] = [_("Enter a whole number, 0 or more.")]
        position = 0
    if errors:
        raise ValidationError(errors)
    cleaned.update(
        label=label,
        kind=kind,
        choices=choices if kind in CHOICE_KINDS else [],
        required=bool(data.get("required")),
        help_text=help_text,
        position=position,
    )
    return cleaned


def _snapshot(definition: CustomFieldDefinition) -> dict[str, Any]:
    return {name: getattr(definition, name) for name in ("entity", "slug", *EDITABLE)}


@service
def customfield_create(*, actor, data: Mapping[str, Any]) -> CustomFieldDefinition:
    """Define a new field on an entity; its values are validated from now on."""
    _require_admin(actor)
    definition = CustomFieldDefinition(**_clean(data, current=None))
    definition.full_clean()
    definition.save()
    audit.record(
        audit.Action.CREATE,
        actor=actor,
        object_type=OBJECT_TYPE,
        object_id=definition.pk,
        object_repr=f"{definition.entity}.{definition.slug}",
        changes=audit.initial(_snapshot(definition)),
    )
    return definition


@service
def customfield_update(
    *, actor, definition: CustomFieldDefinition, data: Mapping[str, Any]
) -> CustomFieldDefinition:
    """Change label, type, choices, required, help or position (never entity or key)."""
    _require_admin(actor)
    before = _snapshot(definition)
    for name, value in _clean(data, current=definition).items():
        setattr(definition, name, value)
    definition.full_clean()
    changes = audit.diff(before, _snapshot(definition))
    if changes:
        definition.save()
        audit.record(
            audit.Action.UPDATE,
            actor=actor,
            object_type=OBJECT_TYPE,
            object_id=definition.pk,
            object_repr=f"{definition.entity}.{definition.slug}",
            changes=changes,
        )
    return definition


@service
def customfield_delete(*, actor, definition: CustomFieldDefinition) -> None:
    """Remove a definition; stored values stay in the records' JSON but are no longer shown."""
    _require_admin(actor)
    audit.record(
        audit.Action.DELETE,
        actor=actor,
        object_type=OBJECT_TYPE,
        object_id=definition.pk,
        object_repr=f"{definition.entity}.{definition.slug}",
        changes={k: [v, None] for k, v in audit.jsonable(_snapshot(definition)).items()},
    )
    definition.delete()
