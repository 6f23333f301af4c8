"""Writing and reading audit rows.

Services call `record()` (or `record_many()` for bulk paths) inside their
transaction, so an audit row exists exactly when the change does. Readers get
values through `visible_changes()`, which drops personal-data fields for users
without that permission.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from rapport.core import context, permissions
from rapport.core.models import AuditEvent, RowStatements

Action = AuditEvent.Action
_SCALARS = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """A JSON-safe form of a field value for the changes column."""
    if type(value) in _SCALARS:  # most values: nothing to convert
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or None
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for every field whose JSON value changed."""
    changes = {}
    for key in sorted(set(before) | set(after)):
        old, new = jsonable(before.get(key)), jsonable(after.get(key))
        if old != new:
            changes[key] = [old, new]
    return changes


def initial(after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The changes of a create: every field that holds a value."""
    return {k: v for k, v in diff({}, after).items() if v[1] not in (None, "", [], {})}


def build(
    action: str,
    *,
    actor=None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: int | None = None,
    object_repr: str = "",
    changes: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> AuditEvent:
    ctx = context.current()
    if obj is not None:
        object_type = object_type or obj.entity_key()
        object_id = object_id if object_id is not None else obj.pk
        object_repr = object_repr or str(obj)[:200]
    actor_obj = actor if actor is not None and getattr(actor, "pk", None) else None
    return AuditEvent(
        actor=actor_obj,
        actor_label=(actor_obj.get_username() if actor_obj else "system")[:150],
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        changes=jsonable(dict(changes or {})),
        extra=jsonable(dict(extra or {})),
        ip=ctx.ip,
        request_id=ctx.request_id,
        via=ctx.via,
    )


def record(action: str, *, keep_id: bool = True, **kwargs) -> AuditEvent:
    """Write one audit row now (in the caller's transaction): the INSERT `save()` would
    run, from SQL compiled once (`RowStatements`). `keep_id=False` leaves the event's id
    unread, so the INSERT needs no answer and can share a round trip
    (`batched_statements`)."""
    event = build(action, **kwargs)
    RowStatements.of(AuditEvent).insert([event], returning=keep_id)
    return event


def record_many(events: Iterable[AuditEvent]) -> None:
    AuditEvent.objects.bulk_create(list(events), batch_size=500)


def hidden_fields(object_type: str, user) -> frozenset[str]:
    """The changed fields of this kind of record a reader may not see: its personal-data
    fields, without the permission."""
    from rapport.core.registry import registry

    entity = registry.get(object_type)
    if entity is None or permissions.has_field_permission(user, permissions.PERSONAL_DATA):
        return frozenset()
    return entity.personal_fields


def visible_changes(event: AuditEvent, user, hidden: frozenset[str] | None = None) -> dict:
    """The changes a reader may see: personal-data fields vanish without the permission
    (`hidden`: `hidden_fields` of the event's kind, when the caller has it already)."""
    if hidden is None:
        hidden = hidden_fields(event.object_type, user)
    if not hidden:
        return event.changes
    return {k: v for k, v in event.changes.items() if k not in hidden}


def history(obj: models.Model, user, *, limit: int = 50):
    """The newest audit rows of one record, for its timeline."""
    events = list(
        AuditEvent.objects.filter(object_type=obj.entity_key(), object_id=obj.pk)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
    for event in events:
        event.visible = visible_changes(event, user)
    return events
