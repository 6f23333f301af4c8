"""Moving every row that points at a merged record to the survivor, recording how.

Rows are found by introspection: every foreign key pointing at the model (hidden ones
and M2M through tables included) plus the soft (type, id) references listed in
`soft_references`. A row that would collide with one of the survivor's (same tag,
same normalised email, any unique constraint) is dropped and kept in full in the
record, so undo can re-create it with its id.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from rapport.core import audit
from rapport.core.models import AuditEvent
from rapport.dataio.models import ExternalKey

# Child rows that are de-duplicated rather than moved when the survivor has the same value.
CHANNEL_KEYS = {"contacts.emailaddress": ("normalized",), "contacts.phonenumber": ("number",)}
CHUNK = 500


def relations(model: type[models.Model]) -> list[models.ForeignKey]:
    """Every foreign key (hidden ones and M2M through tables included) pointing here."""
    found = []
    for rel in model._meta.get_fields(include_hidden=True):
        if rel.is_relation and rel.auto_created and not rel.concrete:
            if rel.one_to_many or rel.one_to_one:
                found.append(rel.field)
    return sorted(found, key=label_of)


def label_of(fk: models.ForeignKey) -> str:
    return f"{fk.model._meta.label_lower}.{fk.name}"


def unique_groups(fk: models.ForeignKey) -> list[tuple[str, ...]]:
    """Other-field sets that must stay unique together with this key on the survivor."""
    meta = fk.model._meta
    groups: list[tuple[str, ...]] = []
    if fk.unique:
        groups.append(())
    sets = [tuple(t) for t in meta.unique_together]
    sets += [tuple(c.fields) for c in meta.total_unique_constraints]
    for names in sets:
        if fk.name in names or fk.attname in names:
            groups.append(tuple(n for n in names if n not in (fk.name, fk.attname)))
    channel = CHANNEL_KEYS.get(meta.label_lower)
    if channel:
        groups.append(channel)
    return groups


def row_values(model, row: models.Model) -> dict[str, Any]:
    return {f.attname: audit.jsonable(getattr(row, f.attname)) for f in model._meta.concrete_fields}


def _identity(row, fields: tuple[str, ...]) -> tuple:
    values = []
    for name in fields:
        value = getattr(row, row._meta.get_field(name).attname)
        values.append(value.casefold() if isinstance(value, str) else value)
    return tuple(values)


def move_relation(fk, survivor, merged) -> dict[str, Any]:
    """Re-point one relation's rows; collisions with the survivor's rows are dropped."""
    model = fk.model
    manager = model._base_manager
    rows = list(manager.filter(**{fk.attname: merged.pk}).order_by("pk"))
    if not rows:
        return {}
    groups = unique_groups(fk)
    theirs = list(manager.filter(**{fk.attname: survivor.pk}).order_by("pk")) if groups else []
    taken = [{_identity(r, g) for r in theirs} for g in groups]
    moved, dropped, cleared = [], [], []
    for row in rows:
        if model is type(survivor) and row.pk == survivor.pk:
            cleared.append(row.pk)  # the survivor pointed at the merged record itself
            continue
        keys = [_identity(row, g) for g in groups]
        if any(key in seen for key, seen in zip(keys, taken, strict=True)):
            dropped.append(row_values(model, row))
            continue
        for key, seen in zip(keys, taken, strict=True):
            seen.add(key)
        moved.append(row.pk)
    for start in range(0, len(moved), CHUNK):
        manager.filter(pk__in=moved[start : start + CHUNK]).update(**{fk.attname: survivor.pk})
    if cleared:
        manager.filter(pk__in=cleared).update(**{fk.attname: None})
    if dropped:
        manager.filter(pk__in=[r[model._meta.pk.attname] for r in dropped]).delete()
    changed = _place_after(model, fk, survivor, moved, theirs)
    result: dict[str, Any] = {"ids": moved}
    for key, value in (("dropped", dropped), ("cleared", cleared), ("changed", changed)):
        if value:
            result[key] = value
    return result


def _place_after(model, fk, survivor, moved: list[int], theirs: list) -> dict[str, dict]:
    """Moved channels line up after the survivor's; the survivor's primary stays primary."""
    names = {f.name for f in model._meta.concrete_fields}
    if not moved or not ({"position", "primary"} & names):
        return {}
    if not theirs:
        theirs = list(model._base_manager.filter(**{fk.attname: survivor.pk}).exclude(pk__in=moved))
    start = max([getattr(r, "position", 0) or 0 for r in theirs] + [-1]) + 1
    has_primary = any(getattr(r, "primary", False) for r in theirs)
    changed: dict[str, dict] = {}
    rows = sorted(
        model._base_manager.filter(pk__in=moved),
        key=lambda r: (getattr(r, "position", 0) or 0, r.pk),
    )
    for offset, row in enumerate(rows):
        old: dict[str, Any] = {}
        if "position" in names and theirs and row.position != start + offset:
            old["position"] = row.position
            row.position = start + offset
        if "primary" in names and has_primary and row.primary:
            old["primary"] = True
            row.primary = False
        if old:
            changed[str(row.pk)] = old
            row.save(update_fields=list(old))
    return changed


def soft_references(entity_key: str, pk: int) -> dict[str, models.QuerySet]:
    """Rows that name a record by (type, id) rather than by foreign key.

    Import report rows are deliberately not here: they say what the import did to which
    id, and import undo must see the tombstone there (and report it as merged) rather
    than trash or roll back the survivor, which the import never created."""
    return {
        "core.auditevent": AuditEvent.objects.filter(object_type=entity_key, object_id=pk),
        "dataio.externalkey": ExternalKey.objects.filter(entity=entity_key, object_id=pk),
    }


def move_soft(entity_key: str, survivor, merged) -> dict[str, dict]:
    result: dict[str, dict] = {}
    for label, queryset in soft_references(entity_key, merged.pk).items():
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        if not ids:
            continue
        entry: dict[str, Any] = {"ids": ids}
        model = queryset.model
        for start in range(0, len(ids), CHUNK):
            model.objects.filter(pk__in=ids[start : start + CHUNK]).update(object_id=survivor.pk)
        if model is AuditEvent:
            # History keeps saying where it came from: `extra.merged_from` (set once).
            events = list(AuditEvent.objects.filter(pk__in=ids).only("pk", "extra"))
            marked = [e for e in events if "merged_from" not in (e.extra or {})]
            for event in marked:
                event.extra = {**(event.extra or {}), "merged_from": merged.pk}
            AuditEvent.objects.bulk_update(marked, ["extra"], batch_size=CHUNK)
            if marked:
                entry["marked"] = [e.pk for e in marked]
        result[label] = entry
    return result
