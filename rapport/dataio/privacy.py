"""Data protection for people: the subject access export and, in `privacy_erase`, erasure.

Who may do what is decided here once (docs/decisions/0023-erasure.md): the subject
export needs the `export` permission on the person *and* the `personal_data` field
permission (it hands out every personal field); erasure is irreversible, so it is for
administrators only, on a person they may delete, confirmed by typing the record's id.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Iterator
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.contacts.models import Consent, EmailAddress, Employment, Person, PhoneNumber
from rapport.core import audit, customfields, permissions
from rapport.core.models import AuditEvent
from rapport.core.registry import registry
from rapport.core.services import deny, service
from rapport.dataio.models import ExternalKey, ImportRow, Merge

FORMAT_VERSION = 1
# Child rows the export and erasure treat one by one; every other model pointing at a
# person (relations, activities, deals of later modules) is found generically.
OWN_CHILDREN = (EmailAddress, PhoneNumber, Employment, Consent)


# --- who may ------------------------------------------------------------------------------


def is_administrator(user) -> bool:
    from rapport.accounts.services import is_administrator as check

    return check(user)


def may_export_subject(user, person: Person) -> bool:
    return permissions.allows(
        user, "person", "export", person
    ) and permissions.has_field_permission(user, permissions.PERSONAL_DATA)


def may_erase(user, person: Person) -> bool:
    return is_administrator(user) and permissions.allows(user, "person", "delete", person)


def subjects_visible_to(user):
    """People whose data requests the user may open: those they may view, the trash
    included (a trashed record still holds the data), merge tombstones not (they are
    part of their survivor)."""
    return Person.all_objects.restrict(user, "view").filter(merged_into__isnull=True)


def confirmation_matches(person: Person, typed: Any) -> bool:
    """Erasure is confirmed by typing the record's id (the same in every language)."""
    return str(typed or "").strip().lstrip("#") == str(person.pk)


# --- what belongs to a person ---------------------------------------------------------------


def person_ids(person: Person) -> list[int]:
    """The person and every tombstone merged into them (transitively): one subject."""
    ids = [person.pk]
    frontier = [person.pk]
    while frontier:
        found = list(
            Person.all_objects.filter(merged_into__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids += found
        frontier = found
    return ids


def related_relations() -> Iterator[tuple[type[models.Model], str]]:
    """(model, field name) of every relation from another model to Person (FK, one-to-one
    or many-to-many, hidden `related_name="+"` ones included), beyond OWN_CHILDREN."""
    for rel in Person._meta.get_fields(include_hidden=True):
        if not (rel.is_relation and rel.auto_created and not rel.concrete):
            continue
        model = rel.related_model
        if model._meta.auto_created or model in OWN_CHILDREN:
            continue
        yield model, rel.field.name


def related_rows(ids: list[int]) -> Iterator[tuple[type[models.Model], models.QuerySet]]:
    for model, name in related_relations():
        manager = getattr(model, "all_objects", None) or model._base_manager
        yield model, manager.filter(**{f"{name}__in": ids}).distinct().order_by("pk")


def row_data(obj: models.Model) -> dict[str, Any]:
    """Every concrete field of a row as JSON values (foreign keys as ids)."""
    data = {}
    for f in obj._meta.concrete_fields:
        value = getattr(obj, f.attname)
        data[f.name] = audit.jsonable(value)
    return data


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


# --- the subject access export ------------------------------------------------------------


def _person_section(person: Person) -> dict[str, Any]:
    data = row_data(person)
    data["full_name"] = person.full_name
    data["owner"] = {"id": person.owner_id, "name": str(person.owner or "")}
    data["team"] = {"id": person.team_id, "name": str(person.team or "")}
    data["photo_file"] = _photo(person)
    data["emails"] = [row_data(e) for e in person.emails.order_by("position", "id")]
    data["phones"] = [row_data(p) for p in person.phones.order_by("position", "id")]
    return data


def _photo(person: Person) -> dict[str, str] | None:
    """The photo itself (a copy of the data, not just its name), base64-encoded."""
    if not person.photo:
        return None
    try:
        with person.photo.open("rb") as handle:
            content = handle.read()
    except OSError:
        return None
    kind = mimetypes.guess_type(person.photo.name)[0] or "application/octet-stream"
    return {"content_type": kind, "base64": base64.b64encode(content).decode("ascii")}


def _custom_fields(person: Person) -> list[dict[str, Any]]:
    labels = {d.slug: str(d.label) for d in customfields.definitions("person")}
    return [
        {"key": key, "label": labels.get(key, key), "value": audit.jsonable(value)}
        for key, value in sorted((person.custom_fields or {}).items())
    ]


def _related_section(actor, ids: list[int]) -> tuple[dict[str, list], dict[str, int]]:
    """Rows of other models pointing at the person. Rows of registered entities the actor
    may not view are counted, not shown (a complete export is an administrator's)."""
    related: dict[str, list] = {}
    omitted: dict[str, int] = {}
    for model, queryset in related_rows(ids):
        entity = registry.for_model(model)
        rows = list(queryset)
        if entity is not None:
            visible = set(
                model.all_objects.restrict(actor, "view")
                .filter(pk__in=[r.pk for r in rows])
                .values_list("pk", flat=True)
            )
            hidden = [r for r in rows if r.pk not in visible]
            if hidden:
                omitted[_label(model)] = len(hidden)
            rows = [r for r in rows if r.pk in visible]
        if rows:
            related.setdefault(_label(model), []).extend(row_data(r) for r in rows)
    return related, omitted


def _imports(ids: list[int]) -> list[dict[str, Any]]:
    rows = (
        ImportRow.objects.filter(job__entity="person", object_id__in=ids)
        .select_related("job")
        .order_by("job__created_at", "number")
    )
    return [
        {
            "import": row.job_id,
            "file": row.job.filename,
            "imported_at": audit.jsonable(row.job.created_at),
            "row": row.number,
            "outcome": row.outcome,
            "reason": row.reason,
            "values": row.values,
            "record": row.object_id,
        }
        for row in rows
    ]


def _merges(ids: list[int]) -> list[dict[str, Any]]:
    merges = Merge.objects.filter(entity="person").filter(
        Q(survivor_id__in=ids) | Q(merged_id__in=ids)
    )
    return [
        {k: v for k, v in row_data(m).items() if k not in {"actor", "undone_by"}}
        for m in merges.order_by("at", "id")
    ]


def _history(ids: list[int]) -> list[dict[str, Any]]:
    events = AuditEvent.objects.filter(object_type="person", object_id__in=ids).order_by("at", "id")
    return [
        {
            "at": audit.jsonable(e.at),
            "action": e.action,
            "record": e.object_id,
            "by": e.actor_label,
            "changes": e.changes,
            "details": e.extra,
            "via": e.via,
        }
        for e in events
    ]


def subject_document(*, actor, person: Person) -> dict[str, Any]:
    """Everything Rapport holds about one person, as one JSON-ready document."""
    ids = person_ids(person)
    tombstones = Person.all_objects.filter(pk__in=ids[1:]).order_by("pk")
    related, omitted = _related_section(actor, ids)
    employments = person.employments.select_related("company").order_by("-start_date", "-id")
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": audit.jsonable(timezone.now()),
        "generated_by": actor.get_username(),
        "subject": {"type": "person", "id": person.pk},
        "person": _person_section(person),
        "employments": [{**row_data(e), "company_name": e.company.name} for e in employments],
        "consents": [row_data(c) for c in person.consents.order_by("created_at", "id")],
        "tags": sorted(t.name for t in person.tags.all()),
        "groups": sorted(g.name for g in person.groups.all()),
        "custom_fields": _custom_fields(person),
        "merged_records": [_person_section(t) for t in tombstones],
        "related": related,
        "related_not_shown": omitted,
        "imports": _imports(ids),
        "merges": _merges(ids),
        "external_ids": [
            row_data(k) for k in ExternalKey.objects.filter(entity="person", object_id__in=ids)
        ],
        "history": _history(ids),
    }


@service
def subject_export(*, actor, person: Person) -> dict[str, Any]:
    """The subject access export of one person (audited as SUBJECT_EXPORT).

    Needs the export permission on the person and the personal-data field permission;
    a refusal raises PermissionDenied and leaves a "denied" audit row.
    """
    if not may_export_subject(actor, person):
        raise deny(
            _("You may not export this person's personal data."),
            actor=actor,
            obj=person,
            extra={"action": "subject_export"},
        )
    document = subject_document(actor=actor, person=person)
    audit.record(
        audit.Action.SUBJECT_EXPORT,
        actor=actor,
        obj=person,
        extra={"format_version": FORMAT_VERSION, "records": person_ids(person)},
    )
    return document
