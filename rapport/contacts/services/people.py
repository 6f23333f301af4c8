"""Writes on people: create and update with their emails, phones, tags and groups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from rapport.contacts.models import (
    EmailAddress,
    Person,
    PhoneNumber,
)
from rapport.contacts.services.cleaning import (
    PERSON_PERSONAL,
    PERSON_SCALARS,
    check_personal,
    clean_addresses,
    clean_emails,
    clean_phones,
    clean_social,
    clean_websites,
    groups_from_names,
)
from rapport.core import audit, customfields, phones, search
from rapport.core.matching import person_match_key
from rapport.core.services import (
    apply_ownership,
    check_version,
    lock_for_update,
    reindex_on_commit,
    require,
    require_add,
    service,
    stamp,
    tags_from_names,
)
from rapport.core.text import fold


def person_snapshot(person: Person) -> dict[str, Any]:
    """The audited view of a person, including child rows, as JSON values."""
    data = {name: getattr(person, name) for name in PERSON_SCALARS + PERSON_PERSONAL}
    data["owner"] = person.owner_id
    data["team"] = person.team_id
    data["custom_fields"] = dict(person.custom_fields or {})
    if person.pk:
        data["emails"] = [e.address for e in person.emails.all()]
        data["phones"] = [p.number for p in person.phones.all()]
        data["tags"] = sorted(t.name for t in person.tags.all())
        data["groups"] = sorted(g.name for g in person.groups.all())
    return audit.jsonable(data)


def _apply_person(person: Person, data: Mapping[str, Any], *, actor, creating: bool) -> dict:
    """Set fields from `data` (merge-patch: only keys present change). Returns the cleaned
    child collections to write after the row is saved."""
    errors: dict[str, list] = {}
    children: dict[str, Any] = {}
    for field in PERSON_SCALARS + PERSON_PERSONAL:
        if field not in data:
            continue
        value = data[field]
        try:
            if field == "addresses":
                value = clean_addresses(value)
            elif field == "websites":
                value = clean_websites(value)
            elif field == "social_profiles":
                value = clean_social(value)
            elif value is None:
                value = None if field == "birthday" else ""
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        setattr(person, field, value)
    collectors = {
        "emails": lambda v: clean_emails(v),
        "phones": lambda v: clean_phones(v, region=phones.default_region(actor)),
    }
    for key, clean in collectors.items():
        if key in data:
            try:
                children[key] = clean(data[key])
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if "custom_fields" in data:
        try:
            person.custom_fields = customfields.clean_values(
                "person", data["custom_fields"] or {}, current=person.custom_fields
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    elif creating:
        try:
            person.custom_fields = customfields.clean_values("person", {}, current={})
        except ValidationError as exc:
            errors.update(exc.message_dict)
    for key in ("tags", "groups"):
        if key in data:
            children[key] = list(data[key] or [])
    try:
        person.full_clean(
            exclude=["owner", "team", "created_by", "updated_by", "deleted_by", "photo"]
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, messages)
    has_email = bool(children.get("emails")) or (
        not creating and "emails" not in data and person.emails.exists()
    )
    if not (person.first_name or person.last_name or has_email):
        errors.setdefault("first_name", [_("Enter a name or an email address.")])
    if errors:
        raise ValidationError(errors)
    person.sort_key = fold(f"{person.last_name} {person.first_name} {person.middle_name}")[:320]
    person.match_key = person_match_key(person.first_name, person.last_name)
    return children


def _remember(person: Person, name: str, items) -> None:
    """Store what a relation now holds as its prefetch cache, as `prefetch_related` would,
    so the snapshot, the search entry and the API answer read it without a query."""
    manager = getattr(person, name)
    key = getattr(manager, "prefetch_cache_name", None) or manager.field.remote_field.cache_name
    cache = getattr(person, "_prefetched_objects_cache", None)
    if cache is None:
        cache = person._prefetched_objects_cache = {}
    cache.pop(key, None)
    queryset = manager.get_queryset()  # the relation's own filter, for later .filter() calls
    queryset._result_cache = list(items)
    queryset._prefetch_done = True
    cache[key] = queryset


def _prefetch_children(person: Person) -> None:
    """Read emails, phones, tags and groups once (four queries) into prefetch caches."""
    _remember(
        person, "emails", EmailAddress.objects.filter(person=person).order_by("position", "id")
    )
    _remember(
        person, "phones", PhoneNumber.objects.filter(person=person).order_by("position", "id")
    )
    _remember(person, "tags", person.tags.all().order_by("name"))
    _remember(person, "groups", person.groups.all())


def _set_primaries(person: Person, children: Mapping[str, Any]) -> None:
    """The denormalised primary email and phone, set before the row is saved."""
    if "emails" in children:
        person.primary_email = next((e["address"] for e in children["emails"] if e["primary"]), "")
    if "phones" in children:
        person.primary_phone = children["phones"][0]["number"] if children["phones"] else ""


def _replace_m2m(person: Person, name: str, wanted: list, *, creating: bool) -> None:
    """Make a many-to-many relation hold exactly `wanted`: only the difference is written."""
    manager = getattr(person, name)
    current = [] if creating else list(manager.all())
    current_ids = {obj.pk for obj in current}
    wanted_ids = {obj.pk for obj in wanted}
    removed = [obj for obj in current if obj.pk not in wanted_ids]
    added = [obj for obj in wanted if obj.pk not in current_ids]
    if removed:
        manager.remove(*removed)
    if added:
        manager.add(*added)
    _remember(person, name, sorted(wanted, key=lambda obj: (obj.name, obj.pk)))


def _write_person_children(person: Person, children: Mapping[str, Any], *, creating: bool) -> None:
    """Write the child collections that were sent; every relation ends up in the prefetch
    cache (a new person has none to read)."""
    if "emails" in children:
        if not creating:
            person.emails.all().delete()
        emails = EmailAddress.objects.bulk_create(
            EmailAddress(
                person=person,
                address=e["address"],
                normalized=e["address"].lower(),
                label=e["label"],
                primary=e["primary"],
                position=i,
            )
            for i, e in enumerate(children["emails"])
        )
        _remember(person, "emails", emails)
    if "phones" in children:
        if not creating:
            person.phones.all().delete()
        numbers = PhoneNumber.objects.bulk_create(
            PhoneNumber(person=person, number=p["number"], label=p["label"], position=i)
            for i, p in enumerate(children["phones"])
        )
        _remember(person, "phones", numbers)
    if "tags" in children:
        _replace_m2m(person, "tags", tags_from_names(children["tags"]), creating=creating)
    if "groups" in children:
        _replace_m2m(person, "groups", groups_from_names(children["groups"]), creating=creating)
    if creating:
        for name in ("emails", "phones", "tags", "groups"):
            if name not in children:
                _remember(person, name, [])


def _index(person: Person) -> None:
    """The search entry, written now from the instance (its children are cached), inside
    the service's transaction: a rollback drops it with the change. Then the cache moves
    aside (`_written_relations`, which the API renders from): callers that keep the
    instance read its relations afresh, as from any saved model."""
    if person.deleted_at is None:
        search.index_built([person])
    else:
        reindex_on_commit(person)
    person._written_relations = person.__dict__.pop("_prefetched_objects_cache", {})


@service
def person_create(*, actor, data: Mapping[str, Any]) -> Person:
    """Create a person with emails, phones, tags and custom fields; audited and indexed."""
    require_add(actor, "person")
    check_personal(actor, data)
    person = Person()
    apply_ownership(
        person, actor=actor, owner=data.get("owner"), team=data.get("team"), creating=True
    )
    children = _apply_person(person, data, actor=actor, creating=True)
    from rapport.dataio.suppression import refuse_suppressed  # dataio builds on contacts

    refuse_suppressed(data, children, region=phones.default_region(actor))
    stamp(person, actor=actor, creating=True)
    if "photo" in data and data["photo"]:
        person.photo = data["photo"]
    _set_primaries(person, children)
    person.save(force_insert=True)
    _write_person_children(person, children, creating=True)
    after = person_snapshot(person)
    audit.record(audit.Action.CREATE, actor=actor, obj=person, changes=audit.initial(after))
    _index(person)
    return person


@service
def person_update(
    *, actor, person: Person, data: Mapping[str, Any], expected_version: int | None = None
) -> Person:
    """Change a person (merge-patch); a stale version raises ConflictError."""
    person = lock_for_update(Person, person.pk)
    require(actor, "change", person)
    _prefetch_children(person)
    check_version(person, expected_version)
    check_personal(actor, data)
    before = person_snapshot(person)
    apply_ownership(
        person, actor=actor, owner=data.get("owner"), team=data.get("team"), creating=False
    )
    children = _apply_person(person, data, actor=actor, creating=False)
    if "photo" in data:
        person.photo = data["photo"] or ""
    _write_person_children(person, children, creating=False)
    _set_primaries(person, children)
    after = person_snapshot(person)
    changes = audit.diff(before, after)
    if not changes and "photo" not in data:
        person._written_relations = person.__dict__.pop("_prefetched_objects_cache", {})
        return person
    stamp(person, actor=actor, creating=False)
    person.save()
    audit.record(audit.Action.UPDATE, actor=actor, obj=person, changes=changes)
    _index(person)
    return person
