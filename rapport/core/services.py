"""Generic write steps every entity service is built from.

Entity services (`person_create`, `company_update` …) validate their own data and
then call these helpers, so versioning, trash, restore and audit behave the same
for every entity.
"""

from __future__ import annotations

import contextvars
import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Model, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import audit, permissions
from rapport.core.exceptions import ConflictError, FieldPermissionDenied, PermissionDenied
from rapport.core.models import RowStatements, Tag

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("rapport_service_depth", default=0)


def service[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """Run a service in one transaction; denials are audited after the rollback.

    A refused write must leave no change but must leave its "denied" audit row, so
    `require()` attaches the row to the exception and the outermost service writes it
    once its own transaction has been rolled back.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _depth.set(_depth.get() + 1)
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except PermissionDenied as exc:
            pending = getattr(exc, "audit_pending", None)
            if pending is not None and _depth.get() == 1:
                exc.audit_pending = None
                audit.record(audit.Action.DENIED, **pending)
            raise
        finally:
            _depth.reset(token)

    return wrapper


def deny(message: str = "", **audit_kwargs) -> PermissionDenied:
    """A PermissionDenied carrying its audit row (written by the outermost service)."""
    exc = PermissionDenied(message)
    exc.audit_pending = audit_kwargs
    if _depth.get() == 0:
        audit.record(audit.Action.DENIED, **audit_kwargs)
        exc.audit_pending = None
    return exc


def check_version(obj, expected_version: int | None) -> None:
    """Refuse a write based on an older read; None means the caller has no version to check."""
    if expected_version is not None and int(expected_version) != obj.version:
        raise ConflictError(
            current_version=obj.version, expected_version=int(expected_version), current=obj
        )


def lock_for_update(model, pk: int):
    """Re-read a row under a write lock (SELECT FOR UPDATE on PostgreSQL; SQLite's
    IMMEDIATE transactions already serialise writers). The statement is the ORM's,
    compiled once per model (`RowStatements`)."""
    obj = RowStatements.of(model).read(pk, for_update=True)
    if obj is None:
        raise model.DoesNotExist(f"{model._meta.object_name} {pk} does not exist")
    return obj


def stamp(obj, *, actor, creating: bool) -> None:
    now = timezone.now()
    obj.updated_at = now
    obj.updated_by = actor if getattr(actor, "pk", None) else None
    if creating:
        obj.created_at = now
        obj.created_by = obj.updated_by
        obj.version = 1
    else:
        obj.version = obj.version + 1


def unchecked_fields(model, data, *, creating: bool) -> frozenset[str]:
    """The fields `full_clean` may leave out for a write that sends `data`: those it does
    not name. An update's were valid when saved. A new record's hold what every new
    record holds (the model's defaults, or the stamps and keys the service sets), so
    their verdict is the same for every record; a field whose default fails its own
    checks is still checked (`_invalid_defaults`, once per model)."""
    unnamed = _concrete_names(model).difference(data)
    return frozenset(unnamed.difference(_invalid_defaults(model)) if creating else unnamed)


@functools.cache
def _concrete_names(model) -> frozenset[str]:
    return frozenset(field.name for field in model._meta.concrete_fields)


@functools.cache
def _invalid_defaults(model) -> frozenset[str]:
    from django.core.exceptions import ValidationError

    try:
        model().clean_fields()
    except ValidationError as exc:
        return frozenset(exc.error_dict)
    return frozenset()


def apply_ownership(obj, *, actor, owner=None, team=None, creating: bool) -> None:
    """Owner defaults to the actor and team to the actor's primary team; setting either
    to something else needs the assign permission."""
    entity = obj.entity_key()
    if creating:
        default_owner = actor if getattr(actor, "pk", None) else None
        default_team_id = getattr(actor, "primary_team_id", None)
        wants_owner = owner if owner is not None else default_owner
        wants_team_id = team.pk if team is not None else default_team_id
        if (wants_owner is not None and wants_owner != default_owner) or (
            wants_team_id != default_team_id
        ):
            if not permissions.can(actor, entity, "assign"):
                field = "owner" if wants_owner != default_owner else "team"
                raise FieldPermissionDenied(field, _("You may not assign records to others."))
        obj.owner = wants_owner
        obj.team_id = wants_team_id
        return
    for field, value in (("owner", owner), ("team", team)):
        if value is None:
            continue
        if getattr(obj, f"{field}_id") != value.pk:
            if not permissions.allows(actor, entity, "assign", obj):
                raise FieldPermissionDenied(field, _("You may not reassign this record."))
            setattr(obj, field, value)


def require(actor, action: str, obj) -> None:
    """Raise PermissionDenied (audited) unless the actor may do `action` on this object."""
    if not permissions.allows(actor, obj.entity_key(), action, obj):
        raise deny(action, actor=actor, obj=obj, extra={"action": action})


def require_add(actor, entity: str) -> None:
    if not permissions.can(actor, entity, "add"):
        raise deny("add", actor=actor, object_type=entity, extra={"action": "add"})


def tags_from_names(names: Iterable[str]) -> list[Tag]:
    """Tags by case-insensitive name, created when new (existing ones in one query)."""
    wanted: dict[str, str] = {}
    for raw in names:
        name = " ".join(str(raw).split())[:60]
        if name and name.lower() not in wanted:
            wanted[name.lower()] = name
    if not wanted:
        return []
    connection = transaction.get_connection()
    sql = _tag_lookup_sql(connection, len(wanted))
    prep = connection.ops.prep_for_iexact_query
    with connection.cursor() as cursor:
        cursor.execute(sql, [prep(name) for name in wanted.values()])
        rows = cursor.fetchall()
    found: dict[str, Tag] = {}
    for pk, name in rows:
        found.setdefault(name.lower(), Tag.from_db(connection.alias, ["id", "name"], [pk, name]))
    return [found.get(key) or Tag.objects.create(name=name) for key, name in wanted.items()]


_tag_lookups: dict[tuple[str, str, int], str] = {}


def _tag_lookup_sql(connection, count: int) -> str:
    """The ORM's SQL for `name__iexact=a | name__iexact=b …` (ids and names by name),
    compiled once per number of names: a write that tags a record runs it every time."""
    key = (connection.alias, connection.vendor, count)
    sql = _tag_lookups.get(key)
    if sql is None:
        marks = [f"tag-{i}" for i in range(count)]
        lookup = functools.reduce(operator.or_, (Q(name__iexact=m) for m in marks))
        queryset = Tag.objects.filter(lookup).order_by("name", "pk").values_list("pk", "name")
        sql, params = queryset.query.get_compiler(connection=connection).as_sql()
        if list(params) != [connection.ops.prep_for_iexact_query(m) for m in marks]:
            raise RuntimeError("unexpected parameters in the tag lookup")
        _tag_lookups[key] = sql
    return sql


@service
def trash(*, actor, obj, expected_version: int | None = None) -> None:
    """Move a record to the trash; its links stay so restore brings everything back."""
    obj = lock_for_update(type(obj), obj.pk)
    if obj.deleted_at is not None:
        return
    require(actor, "delete", obj)
    check_version(obj, expected_version)
    obj.deleted_at = timezone.now()
    obj.deleted_by = actor if getattr(actor, "pk", None) else None
    stamp(obj, actor=actor, creating=False)
    obj.save(update_fields=["deleted_at", "deleted_by", "updated_at", "updated_by", "version"])
    audit.record(audit.Action.DELETE, actor=actor, obj=obj)
    _reindex(obj)


class MergedRecordError(Exception):
    """A write aimed at a merge tombstone; `survivor_id` is where the record lives now."""

    def __init__(self, survivor_id: int):
        self.survivor_id = survivor_id
        super().__init__(_("This record was merged into another one (id %s).") % survivor_id)


def merged_survivor_id(model, pk: int) -> int | None:
    """The live record a merge tombstone leads to (following merge chains), or None."""
    seen: set[int] = set()
    current = pk
    while current not in seen:
        seen.add(current)
        row = model.all_objects.filter(pk=current).values("merged_into", "deleted_at").first()
        if row is None:
            return None
        if row["merged_into"] is None:
            return current if current != pk and row["deleted_at"] is None else None
        current = row["merged_into"]
    return None


@service
def restore(*, actor, obj) -> Model:
    """Bring a record back from the trash with all its links (never a merge tombstone:
    only undoing the merge brings that back)."""
    obj = lock_for_update(type(obj), obj.pk)
    if obj.merged_into is not None:
        raise MergedRecordError(obj.merged_into)
    if obj.deleted_at is None:
        return obj
    require(actor, "delete", obj)
    obj.deleted_at = None
    obj.deleted_by = None
    stamp(obj, actor=actor, creating=False)
    obj.save(update_fields=["deleted_at", "deleted_by", "updated_at", "updated_by", "version"])
    audit.record(audit.Action.RESTORE, actor=actor, obj=obj)
    _reindex(obj)
    return obj


def bulk_trash(*, actor, objects: Sequence[Model]) -> int:
    """Trash many records the actor may delete; returns how many moved."""
    count = 0
    for obj in objects:
        try:
            trash(actor=actor, obj=obj)
            count += 1
        except PermissionDenied:
            continue
    return count


def _reindex(obj) -> None:
    from rapport.core import search

    search.index_on_commit([obj])


def reindex_on_commit(obj) -> None:
    _reindex(obj)


def bump_version(model, pk: int) -> None:
    model.all_objects.filter(pk=pk).update(version=F("version") + 1, updated_at=timezone.now())


def snapshot(obj, fields: Iterable[str]) -> dict[str, Any]:
    return {name: audit.jsonable(getattr(obj, name)) for name in fields}
