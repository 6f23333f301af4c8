"""Lossless merge of two records of one entity into a survivor, undoable.

Chosen scalar values survive (per field), multi-value fields are united, and EVERY row
that points at the merged record moves to the survivor. Those rows are found by
introspection (every foreign key, hidden or not, M2M through tables included, plus the
soft (type, id) references in merge_moves.py), so the relations of later modules move without
code here. `Merge.moved` records per relation exactly which rows moved, which were
dropped as duplicates (with their full values) and which fields were changed on the way,
so `merge_undo` can put everything back. See docs/decisions/0022-merge.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import audit, permissions, search
from rapport.core.exceptions import FieldPermissionDenied
from rapport.core.registry import registry
from rapport.core.services import (
    check_version,
    lock_for_update,
    reindex_on_commit,
    require,
    service,
    stamp,
)
from rapport.core.text import fold
from rapport.dataio.merge_moves import (
    label_of,
    move_relation,
    move_soft,
    relations,
    row_values,
)
from rapport.dataio.models import Merge

SURVIVOR, MERGED = "survivor", "merged"
# Fields every tracked record has that a merge never takes from the merged record.
BASE_FIELDS = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "owner",
        "team",
        "version",
        "deleted_at",
        "deleted_by",
        "merged_into",
    }
)
# Kept in step with another field: they follow that field's choice, or are recomputed.
COUPLED = {"revenue_currency": "annual_revenue"}
DERIVED = frozenset({"primary_domain"})


def blank(value: Any) -> bool:
    return value in (None, "", [], {})


# --- which values survive ------------------------------------------------------------


def merge_fields(model: type[models.Model]) -> list[models.Field]:
    """The record's own fields a merge decides: editable, not base, not derived."""
    return [
        f
        for f in model._meta.concrete_fields
        if f.editable and f.name not in BASE_FIELDS | DERIVED and f.name not in COUPLED
    ]


def field_kind(field: models.Field) -> str:
    """ "list" (united), "map" (chosen per key) or "scalar" (chosen)."""
    if isinstance(field, models.JSONField):
        default = field.get_default()
        if isinstance(default, list):
            return "list"
        if isinstance(default, dict):
            return "map"
    return "scalar"


def _value(obj, field: models.Field) -> Any:
    value = getattr(obj, field.attname)
    return value.name if isinstance(field, models.FileField) else value


def _union(first: Iterable, second: Iterable) -> list:
    result: list = []
    seen: list = []
    for item in list(first or []) + list(second or []):
        key = audit.jsonable(item)
        if isinstance(key, str):
            key = key.casefold()
        if key not in seen:
            seen.append(key)
            result.append(item)
    return result


def default_choice(survivor_value: Any, merged_value: Any) -> str:
    """The survivor's value wins unless it is blank and the merged record's is not."""
    return MERGED if blank(survivor_value) and not blank(merged_value) else SURVIVOR


def check_choices(model, survivor, merged, choices: Mapping[str, str], *, actor) -> None:
    """Every key names a choosable field (or `map.key`) and says survivor or merged."""
    personal = set(_personal_fields(model))
    allowed: dict[str, str] = {}
    for field in merge_fields(model):
        kind = field_kind(field)
        if kind == "scalar":
            allowed[field.name] = field.name
        elif kind == "map":
            keys = set(_value(survivor, field) or {}) | set(_value(merged, field) or {})
            for key in keys:
                allowed[f"{field.name}.{key}"] = field.name
    errors: dict[str, list[str]] = {}
    for key, value in (choices or {}).items():
        name = f"choices.{key}"
        if key not in allowed:
            errors[name] = [_("There is no such field to choose.")]
        elif value not in (SURVIVOR, MERGED):
            errors[name] = [_("Choose “survivor” or “merged”.")]
        elif allowed[key] in personal and not permissions.has_field_permission(
            actor, permissions.PERSONAL_DATA
        ):
            raise FieldPermissionDenied(name, _("You may not see or change personal data."))
    if errors:
        raise ValidationError(errors)


def resolve_values(model, survivor, merged, choices: Mapping[str, str]) -> dict[str, Any]:
    """{attname: value} the survivor ends up with, before derived fields."""
    values: dict[str, Any] = {}
    for field in merge_fields(model):
        mine, theirs = _value(survivor, field), _value(merged, field)
        kind = field_kind(field)
        if kind == "list":
            values[field.attname] = _union(mine, theirs)
        elif kind == "map":
            mine, theirs = dict(mine or {}), dict(theirs or {})
            result = {}
            for key in list(mine) + [k for k in theirs if k not in mine]:
                pick = choices.get(f"{field.name}.{key}") or default_choice(
                    mine.get(key), theirs.get(key)
                )
                result[key] = theirs.get(key) if pick == MERGED else mine.get(key)
            values[field.attname] = result
        else:
            pick = choices.get(field.name) or default_choice(mine, theirs)
            values[field.attname] = theirs if pick == MERGED else mine
            for coupled, leader in COUPLED.items():
                if leader == field.name:
                    source = merged if pick == MERGED else survivor
                    values[coupled] = getattr(source, coupled)
            if field.is_relation and field.related_model is model:
                if values[field.attname] in (survivor.pk, merged.pk):
                    values[field.attname] = None  # a record cannot be its own parent
    return values


def _personal_fields(model) -> frozenset[str]:
    entity = registry.for_model(model)
    return entity.personal_fields if entity else frozenset()


# --- derived fields ------------------------------------------------------------------


def refresh_derived(obj) -> None:
    """Recompute what other fields determine (sort keys, primary email and phone,
    current employer, primary domain, match key) after a merge or its undo."""
    key = obj.entity_key()
    if key == "person":
        from rapport.contacts.services.relations import _refresh_current_employer

        primary = obj.emails.order_by("-primary", "position", "id").first()
        obj.primary_email = primary.address if primary else ""
        phone = obj.phones.order_by("position", "id").first()
        obj.primary_phone = phone.number if phone else ""
        obj.sort_key = fold(f"{obj.last_name} {obj.first_name} {obj.middle_name}")[:320]
        _refresh_current_employer(obj)
    elif key == "company":
        obj.primary_domain = obj.domains[0] if obj.domains else ""
        obj.sort_key = fold(obj.name)[:200]
        obj.revenue_currency = (obj.revenue_currency or "").upper()
    _refresh_match_key(obj)


def _refresh_match_key(obj) -> None:
    """The duplicate scan's blocking key follows the surviving name."""
    try:
        from rapport.core import matching
    except ImportError:  # the scan is not installed: nothing to keep in step
        return
    key = obj.entity_key()
    if key == "person" and hasattr(matching, "person_match_key"):
        obj.match_key = matching.person_match_key(obj.first_name, obj.last_name)
    elif key == "company" and hasattr(matching, "company_match_key"):
        obj.match_key = matching.company_match_key(obj.name)


def snapshot(obj) -> dict[str, Any]:
    """Every column of the record as JSON, for undo."""
    return row_values(type(obj), obj)


# --- the service ---------------------------------------------------------------------


def _entity_model(entity: str):
    declared = registry.get(entity)
    if declared is None:
        raise ValidationError({"entity": [_("There is no such record type.")]})
    return declared.model


def _check_pair(model, survivor, merged) -> None:
    if type(survivor) is not model or type(merged) is not model:
        raise ValidationError({"merged_id": [_("Only records of the same type can be merged.")]})
    if survivor.pk == merged.pk:
        raise ValidationError(
            {"merged_id": [ValidationError(_("A record cannot be merged with itself."), "self")]}
        )
    for name, obj in (("survivor_id", survivor), ("merged_id", merged)):
        if obj.merged_into is not None:
            raise ValidationError({name: [_("This record was already merged into another.")]})
        if obj.deleted_at is not None:
            raise ValidationError({name: [_("This record is in the trash; restore it first.")]})


@service
def record_merge(
    *,
    actor,
    entity: str,
    survivor,
    merged,
    choices: Mapping[str, str] | None = None,
    survivor_version: int | None = None,
    merged_version: int | None = None,
) -> Merge:
    """Merge `merged` into `survivor`: chosen values survive, multi-values are united,
    every related row moves, the merged record becomes a tombstone; audited, undoable."""
    model = _entity_model(entity)
    choices = dict(choices or {})
    _check_pair(model, survivor, merged)  # before locking: the ids must be of this model
    first, second = sorted([survivor.pk, merged.pk])
    locked = {pk: lock_for_update(model, pk) for pk in (first, second)}
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    _check_pair(model, survivor, merged)
    require(actor, "change", survivor)
    require(actor, "change", merged)
    require(actor, "delete", merged)
    check_version(survivor, survivor_version)
    check_version(merged, merged_version)
    check_choices(model, survivor, merged, choices, actor=actor)
    survivor_before, merged_before = snapshot(survivor), snapshot(merged)
    values = resolve_values(model, survivor, merged, choices)

    moved: dict[str, Any] = {}
    for fk in relations(model):
        entry = move_relation(fk, survivor, merged)
        if entry:
            moved[label_of(fk)] = entry
    moved.update(move_soft(entity, survivor, merged))

    survivor = model.all_objects.get(pk=survivor.pk)
    for attname, value in values.items():
        setattr(survivor, attname, value)
    refresh_derived(survivor)
    stamp(survivor, actor=actor, creating=False)
    survivor.save()
    merged = model.all_objects.get(pk=merged.pk)
    merged.deleted_at = timezone.now()
    merged.deleted_by = actor if getattr(actor, "pk", None) else None
    merged.merged_into = survivor.pk
    stamp(merged, actor=actor, creating=False)
    merged.save()
    moved["_after"] = {"survivor_version": survivor.version, "merged_version": merged.version}
    merge = Merge.objects.create(
        entity=entity,
        survivor_id=survivor.pk,
        merged_id=merged.pk,
        actor=actor if getattr(actor, "pk", None) else None,
        choices=choices,
        survivor_before=survivor_before,
        merged_before=merged_before,
        moved=moved,
    )
    counts = moved_counts(moved)
    changes = audit.diff(_audited(model, survivor_before), _audited(model, snapshot(survivor)))
    extra = {"merged_id": merged.pk, "merge_id": merge.pk, "moved": counts}
    audit.record(audit.Action.MERGE, actor=actor, obj=survivor, changes=changes, extra=extra)
    audit.record(
        audit.Action.MERGE,
        actor=actor,
        obj=merged,
        extra={"survivor_id": survivor.pk, "merge_id": merge.pk},
    )
    reindex_after(entity, survivor, merged, moved)
    return merge


def _audited(model, values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a person chose or that were united, by name (as other audit rows)."""
    fields = merge_fields(model) + [
        model._meta.get_field(name) for name in COUPLED if hasattr(model, name)
    ]
    return {f.name: values.get(f.attname) for f in fields}


def moved_counts(moved: Mapping[str, Any]) -> dict[str, int]:
    """{relation: rows moved or united} for display."""
    return {
        label: len(entry.get("ids", [])) + len(entry.get("dropped", []))
        for label, entry in moved.items()
        if not label.startswith("_")
    }


def reindex_after(entity: str, survivor, merged, moved: Mapping[str, Any]) -> None:
    """The survivor is reindexed, the tombstone leaves the index (it is deleted), and
    records whose search text names the moved ones (people of a company) are refreshed."""
    reindex_on_commit(survivor)
    reindex_on_commit(merged)
    people = moved.get("contacts.person.company", {}).get("ids", [])
    if people:
        from rapport.contacts.models import Person

        search.index_on_commit(list(Person.all_objects.filter(pk__in=people)))
