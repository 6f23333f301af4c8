"""What the merge page shows before anything changes: the fields that differ (each a
choice), the multi-value fields as they will be united, and how many related rows move."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from rapport.core import permissions
from rapport.core.models import CustomFieldDefinition
from rapport.dataio import merging
from rapport.dataio.merge_moves import CHANNEL_KEYS, relations, soft_references


@dataclass
class Choice:
    key: str  # the `choices` key: a field name or "custom_fields.<slug>"
    label: str
    survivor: str
    merged: str
    default: str
    selected: str = ""  # what the form shows picked (the default, or what was posted)


@dataclass
class Preview:
    choices: list[Choice] = field(default_factory=list)
    united: list[tuple[str, list[str]]] = field(default_factory=list)
    moving: list[tuple[str, int]] = field(default_factory=list)


def _show(value: Any) -> str:
    if merging.blank(value):
        return ""
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v not in (None, ""))
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value)
    return str(value)


def _display(obj, f: models.Field) -> str:
    if f.is_relation:
        related = getattr(obj, f.name)
        return str(related) if related is not None else ""
    value = merging._value(obj, f)
    if f.choices:
        return str(dict(f.flatchoices).get(value, value or ""))
    return _show(value)


def _choices(model, survivor, merged, user) -> list[Choice]:
    personal = merging._personal_fields(model)
    sees_personal = permissions.has_field_permission(user, permissions.PERSONAL_DATA)
    rows: list[Choice] = []
    for f in merging.merge_fields(model):
        if f.name in personal and not sees_personal:
            continue  # kept by the default rule, never shown
        kind = merging.field_kind(f)
        mine, theirs = merging._value(survivor, f), merging._value(merged, f)
        if kind == "scalar" and mine != theirs and not merging.blank(theirs):
            rows.append(
                Choice(
                    f.name,
                    str(f.verbose_name).capitalize(),
                    _display(survivor, f),
                    _display(merged, f),
                    merging.default_choice(mine, theirs),
                )
            )
        elif kind == "map":
            labels = dict(
                CustomFieldDefinition.objects.filter(entity=model.entity_key()).values_list(
                    "slug", "label"
                )
            )
            mine, theirs = dict(mine or {}), dict(theirs or {})
            for key in sorted(set(mine) | set(theirs)):
                if mine.get(key) != theirs.get(key) and not merging.blank(theirs.get(key)):
                    rows.append(
                        Choice(
                            f"{f.name}.{key}",
                            labels.get(key, key),
                            _show(mine.get(key)),
                            _show(theirs.get(key)),
                            merging.default_choice(mine.get(key), theirs.get(key)),
                        )
                    )
    return rows


def _united(model, survivor, merged) -> list[tuple[str, list[str]]]:
    united: list[tuple[str, list[str]]] = []
    for fk in relations(model):
        identity = CHANNEL_KEYS.get(fk.model._meta.label_lower)
        if identity is None:
            continue
        seen: dict[Any, str] = {}
        for owner in (survivor, merged):
            for row in fk.model._base_manager.filter(**{fk.attname: owner.pk}).order_by(
                "position", "pk"
            ):
                key = tuple(str(getattr(row, n)).casefold() for n in identity)
                seen.setdefault(key, str(row))
        united.append((str(fk.model._meta.verbose_name_plural).capitalize(), list(seen.values())))
    for m2m in model._meta.many_to_many:
        names = {str(o): None for o in getattr(survivor, m2m.name).all()}
        names.update({str(o): None for o in getattr(merged, m2m.name).all()})
        united.append((str(m2m.verbose_name).capitalize(), list(names)))
    for f in merging.merge_fields(model):
        if merging.field_kind(f) == "list":
            values = merging._union(merging._value(survivor, f), merging._value(merged, f))
            united.append((str(f.verbose_name).capitalize(), [_show(v) for v in values]))
    return [(label, values) for label, values in united if values]


SOFT_LABELS = {
    "core.auditevent": lambda: _("history entries"),
    "dataio.externalkey": lambda: _("external ids"),
}


def _relation_label(fk) -> str:
    through_of = {m.remote_field.through: m for m in fk.related_model._meta.many_to_many}
    if fk.model in through_of:
        return str(through_of[fk.model].verbose_name)
    plural = str(fk.model._meta.verbose_name_plural)
    if fk.model is fk.related_model:
        return f"{plural} ({fk.verbose_name})"
    return plural


def _moving(model, merged) -> list[tuple[str, int]]:
    counts: list[tuple[str, int]] = []
    for fk in relations(model):
        count = fk.model._base_manager.filter(**{fk.attname: merged.pk}).count()
        if count:
            counts.append((_relation_label(fk), count))
    for label, queryset in soft_references(model.entity_key(), merged.pk).items():
        count = queryset.count()
        if count:
            counts.append((str(SOFT_LABELS[label]()), count))
    return counts


def preview(survivor, merged, user) -> Preview:
    model = type(survivor)
    return Preview(
        _choices(model, survivor, merged, user),
        _united(model, survivor, merged),
        _moving(model, merged),
    )
