"""Bulk paths for imports, the demo and benchmark loaders: the rules of the single
writes, validated up front, written in a few statements per batch."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.contacts.models import (
    Company,
    EmailAddress,
    Employment,
    Person,
    PhoneNumber,
)
from rapport.contacts.services.cleaning import (
    COMPANY_SCALARS,
    PERSON_PERSONAL,
    PERSON_SCALARS,
    check_personal,
    groups_from_names,
)
from rapport.contacts.services.companies import (
    _apply_company,
)
from rapport.contacts.services.people import (
    _apply_person,
)
from rapport.core import audit
from rapport.core.bulk import insert_rows
from rapport.core.models import AuditEvent
from rapport.core.services import (
    apply_ownership,
    require,
    require_add,
    service,
    stamp,
    tags_from_names,
)


def _index_on_commit(objs) -> None:
    from rapport.core import search

    search.index_on_commit(objs)


def _index_now(objs: list, children: list[dict[str, list]]) -> None:
    """Index freshly created records inside the current transaction from what is in
    memory (their children given as the prefetch caches `search_document` reads), so the
    entries commit or roll back with the records and nothing is read back."""
    from rapport.core import search

    for obj, cache in zip(objs, children, strict=True):
        obj._prefetched_objects_cache = cache
    try:
        search.index_built(objs)
    finally:
        for obj in objs:
            obj.__dict__.pop("_prefetched_objects_cache", None)


def _fresh_instances(model, prepare=None):
    """A factory of unsaved `model()` instances that copies one default instance instead
    of running `Model.__init__` (a third of the per-row cost for wide models); mutable
    defaults are copied per instance, so no two share a dict or list. `prepare(obj)`, when
    given, is applied to the default instance once (the same for every row of a batch)
    and its cached related objects are kept."""
    template = model()
    if prepare is not None:
        prepare(template)
    mutable = [
        k for k, v in template.__dict__.items() if isinstance(v, dict | list) and k != "_state"
    ]
    state_class = type(template._state)
    cached = template._state.fields_cache

    def make():
        obj = model.__new__(model)
        values = template.__dict__.copy()
        for key in mutable:
            value = values[key]
            values[key] = type(value)() if not value else copy.deepcopy(value)
        state = values["_state"] = state_class()
        if cached:
            state.fields_cache = dict(cached)
        obj.__dict__ = values
        return obj

    return make


_EMPTY = (None, "", [], {})
_PLAIN = (str, int, bool, float, type(None))  # what `audit.jsonable` returns unchanged


def _create_event(actor, obj, data: dict, now, template: AuditEvent) -> AuditEvent:
    """The audit row of a bulk-created record: what `audit.build(CREATE, actor=actor,
    obj=obj, changes=audit.initial(audit.jsonable(data)))` makes. `template` is that
    event built once for the batch's first record (same actor, request context and
    object type); each row copies it and sets what differs, and converts the changes
    once instead of three times."""
    changes = {}
    for key in sorted(data):
        value = data[key]
        kind = type(value)
        if kind is str:  # most values: kept unless empty
            if value:
                changes[key] = [None, value]
            continue
        if value is None:
            continue
        if kind is list:
            if not value:
                continue
            value = list(value) if all(type(v) is str for v in value) else audit.jsonable(value)
        elif kind not in _PLAIN:
            value = audit.jsonable(value)
        if value not in _EMPTY:
            changes[key] = [None, value]
    event = AuditEvent.__new__(AuditEvent)
    values = template.__dict__.copy()
    values["_state"] = type(template._state)()
    event.__dict__ = values
    event.object_id = obj.pk
    event.object_repr = str(obj)[:200]
    event.object_type = obj.entity_key()
    event.changes = changes
    event.extra = {}
    event.at = now
    return event


def _bulk_errors(index: int, exc: ValidationError) -> dict[str, list]:
    return {f"{index}.{field}": messages for field, messages in exc.message_dict.items()}


def _names_to_objects(rows_children: list[dict], key: str, resolve) -> dict[str, Any]:
    """Resolve every distinct tag/group name of a batch once (case-insensitive)."""
    names: list[str] = []
    for children in rows_children:
        names.extend(children.get(key) or [])
    return {obj.name.lower(): obj for obj in resolve(names)}


def _resolve(resolved: dict[str, Any], name) -> Any:
    text = " ".join(str(name).split()).lower()
    return resolved.get(text) or resolved.get(text[:60])


def _resolved_names(resolved: dict[str, Any], names) -> list[str]:
    return sorted({item.name for item in (_resolve(resolved, n) for n in names or []) if item})


def _bulk_link(
    model,
    through_field: str,
    owners: list,
    rows_children: list[dict],
    key: str,
    resolved: dict[str, Any],
) -> None:
    """Write many-to-many rows for freshly created records in one statement."""
    relation = getattr(model, key)
    through = relation.through
    target = relation.field.m2m_reverse_field_name()
    links = []
    for obj, children in zip(owners, rows_children, strict=True):
        seen = set()
        for name in children.get(key) or []:
            item = _resolve(resolved, name)
            if item is not None and item.pk not in seen:
                seen.add(item.pk)
                links.append(through(**{f"{through_field}_id": obj.pk, f"{target}_id": item.pk}))
    through.objects.bulk_create(links, batch_size=1000)


@service
def person_bulk_create(*, actor, rows: list[Mapping[str, Any]]) -> list[Person]:
    """Create many people in one transaction with the rules of `person_create`.

    Every row is validated first (errors keyed `<row>.<field>`, nothing written when
    any row is bad); then rows, emails, phones, tags and groups are bulk-inserted, one
    audit row per person is written in bulk and the search index is updated once on
    commit — thousands of rows per second instead of a dozen queries each.
    """
    require_add(actor, "person")
    people: list[Person] = []
    rows_children: list[dict] = []
    errors: dict[str, list] = {}
    fresh = _fresh_instances(Person)

    def owned_and_stamped(person: Person) -> None:
        apply_ownership(person, actor=actor, creating=True)
        stamp(person, actor=actor, creating=True)

    # A row without its own owner or team starts as every other such row: owned and
    # stamped for the actor (done once; the timestamps are set for the batch below).
    default = _fresh_instances(Person, owned_and_stamped)
    for index, data in enumerate(rows):
        try:
            check_personal(actor, data)
            if data.get("owner") is None and data.get("team") is None:
                person = default()
                children = _apply_person(person, data, actor=actor, creating=True)
            else:
                person = fresh()
                apply_ownership(
                    person,
                    actor=actor,
                    owner=data.get("owner"),
                    team=data.get("team"),
                    creating=True,
                )
                children = _apply_person(person, data, actor=actor, creating=True)
                stamp(person, actor=actor, creating=True)
        except ValidationError as exc:
            errors.update(_bulk_errors(index, exc))
            continue
        emails = children.get("emails") or []
        person.primary_email = next((e["address"] for e in emails if e["primary"]), "")
        numbers = children.get("phones") or []
        person.primary_phone = numbers[0]["number"] if numbers else ""
        people.append(person)
        rows_children.append(children)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    for person in people:  # one moment for the whole transaction
        person.created_at = person.updated_at = now
    insert_rows(Person, people, returning=True)
    emails_of: list[list[EmailAddress]] = []
    numbers_of: list[list[PhoneNumber]] = []
    new_email, new_phone = _fresh_instances(EmailAddress), _fresh_instances(PhoneNumber)
    for person, children in zip(people, rows_children, strict=True):
        emails = []
        for i, e in enumerate(children.get("emails") or []):
            email = new_email()
            email.person_id, email.address, email.normalized = (
                person.pk,
                e["address"],
                e["address"].lower(),
            )
            email.label, email.primary, email.position = e["label"], e["primary"], i
            emails.append(email)
        numbers = []
        for i, p in enumerate(children.get("phones") or []):
            number = new_phone()
            number.person_id, number.number, number.label, number.position = (
                person.pk,
                p["number"],
                p["label"],
                i,
            )
            numbers.append(number)
        emails_of.append(emails)
        numbers_of.append(numbers)
    insert_rows(EmailAddress, [e for row in emails_of for e in row])
    insert_rows(PhoneNumber, [p for row in numbers_of for p in row])
    tags = _names_to_objects(rows_children, "tags", tags_from_names)
    _bulk_link(Person, "person", people, rows_children, "tags", tags)
    groups = _names_to_objects(rows_children, "groups", groups_from_names)
    _bulk_link(Person, "person", people, rows_children, "groups", groups)
    events = []
    template = audit.build(audit.Action.CREATE, actor=actor, obj=people[0]) if people else None
    for person, children in zip(people, rows_children, strict=True):
        data = {name: getattr(person, name) for name in PERSON_SCALARS + PERSON_PERSONAL}
        data.update(owner=person.owner_id, team=person.team_id, custom_fields=person.custom_fields)
        data["emails"] = [e["address"] for e in children.get("emails") or []]
        data["phones"] = [p["number"] for p in children.get("phones") or []]
        data["tags"] = _resolved_names(tags, children.get("tags"))
        data["groups"] = _resolved_names(groups, children.get("groups"))
        events.append(_create_event(actor, person, data, now, template))
    insert_rows(AuditEvent, events)
    _index_now(
        people, [{"emails": e, "phones": p} for e, p in zip(emails_of, numbers_of, strict=True)]
    )
    return people


@service
def company_bulk_create(*, actor, rows: list[Mapping[str, Any]]) -> list[Company]:
    """Create many companies in one transaction with the rules of `company_create`."""
    require_add(actor, "company")
    companies: list[Company] = []
    rows_children: list[dict] = []
    errors: dict[str, list] = {}
    for index, data in enumerate(rows):
        try:
            company = Company()
            apply_ownership(
                company, actor=actor, owner=data.get("owner"), team=data.get("team"), creating=True
            )
            children = _apply_company(company, data, actor=actor, creating=True)
        except ValidationError as exc:
            errors.update(_bulk_errors(index, exc))
            continue
        stamp(company, actor=actor, creating=True)
        companies.append(company)
        rows_children.append(children)
    if errors:
        raise ValidationError(errors)
    Company.objects.bulk_create(companies, batch_size=500)
    PhoneNumber.objects.bulk_create(
        [
            PhoneNumber(company=company, number=p["number"], label=p["label"], position=i)
            for company, children in zip(companies, rows_children, strict=True)
            for i, p in enumerate(children.get("phones") or [])
        ],
        batch_size=1000,
    )
    tags = _names_to_objects(rows_children, "tags", tags_from_names)
    _bulk_link(Company, "company", companies, rows_children, "tags", tags)
    events = []
    for company, children in zip(companies, rows_children, strict=True):
        data = {name: getattr(company, name) for name in COMPANY_SCALARS}
        data.update(
            domains=list(company.domains or []),
            parent=company.parent_id,
            owner=company.owner_id,
            team=company.team_id,
            custom_fields=company.custom_fields,
            phones=[p["number"] for p in children.get("phones") or []],
            tags=_resolved_names(tags, children.get("tags")),
        )
        events.append(
            audit.build(
                audit.Action.CREATE,
                actor=actor,
                obj=company,
                changes=audit.initial(audit.jsonable(data)),
            )
        )
    audit.record_many(events)
    _index_on_commit(companies)
    return companies


def _set_current_employers(people: list[Person]) -> None:
    """One parameterised UPDATE run for many rows (bulk_update's CASE expressions cost
    more to compile than the writes themselves)."""
    from django.db import connection

    meta = Person._meta
    quote = connection.ops.quote_name
    # Identifiers come from model metadata; every value is a query parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {quote(meta.get_field('company').column)} = %s, "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
        f"{quote(meta.get_field('job_title').column)} = %s WHERE {quote(meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(p.company_id, p.job_title, p.pk) for p in people])


@service
def employment_bulk_add(*, actor, links: list[Mapping[str, Any]]) -> list[Employment]:
    """Link many people to companies (`person`, `company`, `title`, `department`,
    `start_date`, `end_date` per link) with the rules of `employment_add`: the actor
    must be allowed to change each person, each person's current employer is
    recomputed, one audit row per link, search updated once on commit."""
    employments: list[Employment] = []
    errors: dict[str, list] = {}
    for index, link in enumerate(links):
        person = link["person"]
        require(actor, "change", person)
        start, end = link.get("start_date"), link.get("end_date")
        if start and end and end < start:
            errors[f"{index}.end_date"] = [_("The end is before the start.")]
            continue
        employments.append(
            Employment(
                person=person,
                company=link["company"],
                title=str(link.get("title") or "")[:150],
                department=str(link.get("department") or "")[:150],
                start_date=start,
                end_date=end,
            )
        )
    if errors:
        raise ValidationError(errors)
    Employment.objects.bulk_create(employments, batch_size=1000)
    people = {e.person_id: e.person for e in employments}
    today = timezone.localdate()
    current: dict[int, Employment] = {}
    candidates = (
        Employment.objects.filter(person_id__in=list(people), company__deleted_at__isnull=True)
        .exclude(end_date__lt=today)
        .select_related("company")
        .order_by("person_id", "-start_date", "-id")
    )
    for employment in candidates:
        current.setdefault(employment.person_id, employment)
    changed = []
    for pk, person in people.items():
        job = current.get(pk)
        person.company = job.company if job else None
        person.job_title = job.title if job else ""
        changed.append(person)
    _set_current_employers(changed)
    audit.record_many(
        audit.build(
            audit.Action.UPDATE,
            actor=actor,
            obj=e.person,
            changes={
                "employment": [
                    None,
                    {"company": e.company_id, "company_name": e.company.name, "title": e.title},
                ]
            },
        )
        for e in employments
    )
    _index_on_commit(changed)
    return employments
