"""Writes on people: create and update with their emails, phones, tags and groups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from rapport.contacts.models import (
    ContactGroup,
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
from rapport.core.models import RowStatements, Tag, batched_statements
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
    unchecked_fields,
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
    exclude = {"owner", "team", "created_by", "updated_by", "deleted_by", "photo"}
    # Checked: what the write sends, and a new record's custom fields (set above).
    exclude.update(unchecked_fields(Person, data, creating=creating))
    if creating:
        exclude.discard("custom_fields")
    try:
        person.full_clean(exclude=exclude)
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
    """Read emails, phones, tags and groups in one round trip into prefetch caches."""
    from django.db import connection

    emails, numbers, tags, groups = [], [], [], []
    alias = connection.alias
    with connection.cursor() as cursor:
        cursor.execute(_children_sql(connection), [person.pk] * 4)
        rows = sorted(cursor.fetchall(), key=lambda row: row[:3])
    for kind, position, pk, text, label, primary, normalized in rows:
        if kind == "e":
            email = EmailAddress(
                id=pk,
                person_id=person.pk,
                address=text,
                normalized=normalized,
                label=label,
                primary=bool(primary),
                position=position,
            )
            emails.append(email)
        elif kind == "p":
            numbers.append(
                PhoneNumber(id=pk, person_id=person.pk, number=text, label=label, position=position)
            )
        elif kind == "t":
            tags.append(Tag.from_db(alias, ["id", "name"], [pk, text]))
        else:
            groups.append(ContactGroup.from_db(alias, ["id", "name"], [pk, text]))
    for obj in (*emails, *numbers):
        obj._state.adding, obj._state.db = False, alias
    _remember(person, "emails", emails)
    _remember(person, "phones", numbers)
    _remember(person, "tags", sorted(tags, key=lambda tag: (tag.name, tag.pk)))
    _remember(person, "groups", sorted(groups, key=lambda group: (group.name, group.pk)))


_children_statements: dict[tuple[str, str], str] = {}


def _children_sql(connection) -> str:
    """(kind, position, id, text, label, primary, normalized) of one person's emails
    ("e"), phones ("p"), tags ("t") and groups ("g"): what an update reads before it
    writes, as one statement (four ORM queries cost more to build than to run)."""
    key = (connection.alias, connection.vendor)
    sql = _children_statements.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        parts = []
        for name in ("tags", "groups"):
            field = Person._meta.get_field(name)
            link = quote(field.remote_field.through._meta.db_table)
            target = quote(field.related_model._meta.db_table)
            parts.append(
                f"SELECT '{name[0]}', 0, x.id, x.name, '', NULL, NULL FROM {link} l "  # noqa: S608  # nosec B608
                f"JOIN {target} x ON x.id = l.{quote(field.m2m_reverse_name())} "
                f"WHERE l.{quote(field.m2m_column_name())} = %s"
            )
        # Emails first: PostgreSQL types the columns from the first branch.
        sql = " UNION ALL ".join(  # identifiers from model metadata, values as parameters
            [
                f"SELECT 'e', position, id, address, label, {quote('primary')}, normalized "  # noqa: S608  # nosec B608
                f"FROM {quote(EmailAddress._meta.db_table)} WHERE person_id = %s",
                "SELECT 'p', position, id, number, label, NULL, NULL "  # noqa: S608  # nosec B608
                f"FROM {quote(PhoneNumber._meta.db_table)} WHERE person_id = %s",
                *parts,
            ]
        )
        _children_statements[key] = sql
    return sql


def _set_primaries(person: Person, children: Mapping[str, Any]) -> None:
    """The denormalised primary email and phone, set before the row is saved."""
    if "emails" in children:
        person.primary_email = next((e["address"] for e in children["emails"] if e["primary"]), "")
    if "phones" in children:
        person.primary_phone = children["phones"][0]["number"] if children["phones"] else ""


def _replace_m2m(person: Person, name: str, wanted: list, *, creating: bool) -> None:
    """Make a many-to-many relation hold exactly `wanted`: only the difference is written
    (the link rows themselves, in one statement each way; nothing listens to m2m signals)."""
    current = [] if creating else list(getattr(person, name).all())
    current_ids = {obj.pk for obj in current}
    wanted_ids = {obj.pk for obj in wanted}
    removed = sorted(obj.pk for obj in current if obj.pk not in wanted_ids)
    added = sorted({obj.pk for obj in wanted if obj.pk not in current_ids})
    if removed or added:
        from django.db import connection

        field = Person._meta.get_field(name)
        quote = connection.ops.quote_name
        link = quote(field.remote_field.through._meta.db_table)
        source, target = quote(field.m2m_column_name()), quote(field.m2m_reverse_name())
        with connection.cursor() as cursor:
            if removed:
                marks = ", ".join(["%s"] * len(removed))
                cursor.execute(
                    f"DELETE FROM {link} WHERE {source} = %s AND {target} IN ({marks})",  # noqa: S608  # nosec B608 # identifiers from code
                    [person.pk, *removed],
                )
            if added:
                rows = ", ".join(["(%s, %s)"] * len(added))
                cursor.execute(
                    f"INSERT INTO {link} ({source}, {target}) VALUES {rows}",  # noqa: S608  # nosec B608 # identifiers from code
                    [value for pk in added for value in (person.pk, pk)],
                )
    _remember(person, name, sorted(wanted, key=lambda obj: (obj.name, obj.pk)))


def _find_labels(children: dict[str, Any]) -> None:
    """Tag and group names become the rows they name (created when new), before anything
    is written: the writes that follow need no answers and can travel together."""
    if "tags" in children:
        children["tags"] = tags_from_names(children["tags"])
    if "groups" in children:
        children["groups"] = groups_from_names(children["groups"])


def _write_person_children(person: Person, children: Mapping[str, Any], *, creating: bool) -> None:
    """Write the child collections that were sent (tags and groups as rows, from
    `_find_labels`); every relation ends up in the prefetch cache (a new person has none
    to read). Email and phone rows are written without reading their ids back: only the
    answer and the search entry read them, and neither shows ids."""
    if "emails" in children:
        if not creating:
            _delete_rows(EmailAddress, person)
        emails = [
            EmailAddress(
                person=person,
                address=e["address"],
                normalized=e["address"].lower(),
                label=e["label"],
                primary=e["primary"],
                position=i,
            )
            for i, e in enumerate(children["emails"])
        ]
        RowStatements.of(EmailAddress).insert(emails, returning=False)
        _remember(person, "emails", emails)
    if "phones" in children:
        if not creating:
            _delete_rows(PhoneNumber, person)
        numbers = [
            PhoneNumber(person=person, number=p["number"], label=p["label"], position=i)
            for i, p in enumerate(children["phones"])
        ]
        RowStatements.of(PhoneNumber).insert(numbers, returning=False)
        _remember(person, "phones", numbers)
    if "tags" in children:
        _replace_m2m(person, "tags", children["tags"], creating=creating)
    if "groups" in children:
        _replace_m2m(person, "groups", children["groups"], creating=creating)
    if creating:
        for name in ("emails", "phones", "tags", "groups"):
            if name not in children:
                _remember(person, name, [])


def _delete_rows(model, person: Person) -> None:
    """Delete a person's emails or phones (rows nothing else points to) in one statement."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE person_id = %s", [person.pk])  # noqa: S608  # nosec B608 # identifiers from code


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
    _find_labels(children)
    RowStatements.of(Person).insert([person])
    with batched_statements():  # children, audit row, search entry: one round trip on PostgreSQL
        _write_person_children(person, children, creating=True)
        after = person_snapshot(person)
        changes = audit.initial(after)
        audit.record(audit.Action.CREATE, actor=actor, obj=person, changes=changes, keep_id=False)
        _index(person)
    return person


@service
def person_update(
    *, actor, person: Person, data: Mapping[str, Any], expected_version: int | None = None
) -> Person:
    """Change a person (merge-patch); a stale version raises ConflictError."""
    person = lock_for_update(Person, person.pk)
    read = RowStatements.of(Person).state(person)
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
    _find_labels(children)
    with batched_statements():  # children, row, audit row, search entry: one PostgreSQL round trip
        _write_person_children(person, children, creating=False)
        _set_primaries(person, children)
        after = person_snapshot(person)
        changes = audit.diff(before, after)
        if not changes and "photo" not in data:
            person._written_relations = person.__dict__.pop("_prefetched_objects_cache", {})
            return person
        stamp(person, actor=actor, creating=False)
        RowStatements.of(Person).update(person, since=read)
        audit.record(audit.Action.UPDATE, actor=actor, obj=person, changes=changes, keep_id=False)
        _index(person)
    return person
