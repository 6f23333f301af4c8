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
from rapport.core import audit, customfields, phones
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


def _write_person_children(person: Person, children: Mapping[str, Any]) -> None:
    if "emails" in children:
        person.emails.all().delete()
        EmailAddress.objects.bulk_create(
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
        primary = next((e["address"] for e in children["emails"] if e["primary"]), "")
        person.primary_email = primary
    if "phones" in children:
        person.phones.all().delete()
        PhoneNumber.objects.bulk_create(
            PhoneNumber(person=person, number=p["number"], label=p["label"], position=i)
            for i, p in enumerate(children["phones"])
        )
        person.primary_phone = children["phones"][0]["number"] if children["phones"] else ""
    if "tags" in children:
        person.tags.set(tags_from_names(children["tags"]))
    if "groups" in children:
        person.groups.set(groups_from_names(children["groups"]))


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
    person.save()
    _write_person_children(person, children)
    person.save(update_fields=["primary_email", "primary_phone"])
    after = person_snapshot(person)
    audit.record(audit.Action.CREATE, actor=actor, obj=person, changes=audit.initial(after))
    reindex_on_commit(person)
    return person


@service
def person_update(
    *, actor, person: Person, data: Mapping[str, Any], expected_version: int | None = None
) -> Person:
    """Change a person (merge-patch); a stale version raises ConflictError."""
    person = lock_for_update(Person, person.pk)
    require(actor, "change", person)
    check_version(person, expected_version)
    check_personal(actor, data)
    before = person_snapshot(person)
    apply_ownership(
        person, actor=actor, owner=data.get("owner"), team=data.get("team"), creating=False
    )
    children = _apply_person(person, data, actor=actor, creating=False)
    if "photo" in data:
        person.photo = data["photo"] or ""
    _write_person_children(person, children)
    after = person_snapshot(person)
    changes = audit.diff(before, after)
    if not changes and "photo" not in data:
        return person
    stamp(person, actor=actor, creating=False)
    person.save()
    audit.record(audit.Action.UPDATE, actor=actor, obj=person, changes=changes)
    reindex_on_commit(person)
    return person
