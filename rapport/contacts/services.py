"""Writes on people, companies, employment and consent. UI, API, imports and the demo
loader all come through here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.contacts.models import (
    Company,
    Consent,
    ContactGroup,
    EmailAddress,
    Employment,
    Person,
    PhoneNumber,
    SocialNetwork,
)
from rapport.core import audit, customfields, permissions, phones
from rapport.core.exceptions import FieldPermissionDenied
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

PERSON_SCALARS = [
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "language",
    "time_zone",
    "source",
    "notes",
    "addresses",
    "websites",
    "social_profiles",
]
PERSON_PERSONAL = ["birthday", "gender", "family_status", "income_band"]
COMPANY_SCALARS = [
    "name",
    "legal_name",
    "registration_id",
    "vat_id",
    "industry",
    "size",
    "annual_revenue",
    "revenue_currency",
    "addresses",
    "websites",
]
ADDRESS_KEYS = ("label", "street", "city", "region", "postal_code", "country")


# --- shared cleaning ------------------------------------------------------------------


def _clean_emails(items: list[Mapping[str, Any]] | None) -> list[dict]:
    cleaned, errors, seen = [], {}, set()
    for index, item in enumerate(items or []):
        address = str((item or {}).get("address", "")).strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            errors[f"emails.{index}.address"] = [_("Enter a valid email address.")]
            continue
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        cleaned.append(
            {
                "address": address,
                "label": str(item.get("label") or "")[:30],
                "primary": bool(item.get("primary")),
            }
        )
    if errors:
        raise ValidationError(errors)
    if cleaned and not any(e["primary"] for e in cleaned):
        cleaned[0]["primary"] = True
    first_primary = next(i for i, e in enumerate(cleaned) if e["primary"]) if cleaned else None
    for index, email in enumerate(cleaned):
        email["primary"] = index == first_primary
    return cleaned


def _clean_phones(items: list[Mapping[str, Any]] | None, *, region: str) -> list[dict]:
    cleaned, errors, seen = [], {}, set()
    for index, item in enumerate(items or []):
        raw = str((item or {}).get("number", "")).strip()
        if not raw:
            continue
        try:
            number = phones.to_e164(raw, region=region)
        except ValidationError as exc:
            errors[f"phones.{index}.number"] = exc.messages
            continue
        if number in seen:
            continue
        seen.add(number)
        cleaned.append({"number": number, "label": str(item.get("label") or "")[:30]})
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_addresses(items) -> list[dict]:
    result = []
    for item in items or []:
        if not isinstance(item, Mapping):
            raise ValidationError({"addresses": [_("Each address must be an object.")]})
        address = {k: str(item.get(k) or "").strip()[:200] for k in ADDRESS_KEYS}
        if any(address[k] for k in ADDRESS_KEYS if k != "label"):
            result.append(address)
    return result


def _clean_websites(items) -> list[str]:
    validator = URLValidator(schemes=["http", "https"])
    result, errors = [], {}
    for index, item in enumerate(items or []):
        url = str(item.get("url") if isinstance(item, Mapping) else item or "").strip()
        if not url:
            continue
        if "://" not in url:
            url = "https://" + url
        try:
            validator(url)
        except ValidationError:
            errors[f"websites.{index}"] = [_("Enter a valid web address.")]
            continue
        result.append(url)
    if errors:
        raise ValidationError(errors)
    return result


def _clean_social(items) -> list[dict]:
    result, errors = [], {}
    networks = set(SocialNetwork.values)
    validator = URLValidator(schemes=["http", "https"])
    for index, item in enumerate(items or []):
        if not isinstance(item, Mapping):
            errors[f"social_profiles.{index}"] = [_("Each profile must be an object.")]
            continue
        network = str(item.get("network") or "other")
        handle = str(item.get("handle") or "").strip()[:100]
        url = str(item.get("url") or "").strip()
        if network not in networks:
            errors[f"social_profiles.{index}.network"] = [_("Unknown network.")]
            continue
        if url:
            try:
                validator(url)
            except ValidationError:
                errors[f"social_profiles.{index}.url"] = [_("Enter a valid web address.")]
                continue
        if handle or url:
            result.append({"network": network, "handle": handle, "url": url})
    if errors:
        raise ValidationError(errors)
    return result


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_domain(raw: str) -> str:
    text = str(raw or "").strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/")[0].split(":")[0]
    return text.removeprefix("www.")


def _clean_domains(items) -> list[str]:
    result, errors = [], {}
    for index, item in enumerate(items or []):
        domain = normalize_domain(item)
        if not domain:
            continue
        if not _DOMAIN.match(domain):
            errors[f"domains.{index}"] = [_("“%s” is not a domain name.") % item]
            continue
        if domain not in result:
            result.append(domain)
    if errors:
        raise ValidationError(errors)
    return result


def _check_personal(actor, data: Mapping[str, Any]) -> None:
    if permissions.has_field_permission(actor, permissions.PERSONAL_DATA):
        return
    for field in PERSON_PERSONAL:
        if field in data:
            raise FieldPermissionDenied(field, _("You may not see or change personal data."))


def _groups_from_names(names) -> list[ContactGroup]:
    groups = []
    for name in names or []:
        name = " ".join(str(name).split())[:100]
        if name:
            groups.append(ContactGroup.objects.get_or_create(name=name)[0])
    return groups


# --- people ------------------------------------------------------------------------------


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
                value = _clean_addresses(value)
            elif field == "websites":
                value = _clean_websites(value)
            elif field == "social_profiles":
                value = _clean_social(value)
            elif value is None:
                value = None if field == "birthday" else ""
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        setattr(person, field, value)
    collectors = {
        "emails": lambda v: _clean_emails(v),
        "phones": lambda v: _clean_phones(v, region=phones.default_region(actor)),
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
        person.groups.set(_groups_from_names(children["groups"]))


@service
def person_create(*, actor, data: Mapping[str, Any]) -> Person:
    """Create a person with emails, phones, tags and custom fields; audited and indexed."""
    require_add(actor, "person")
    _check_personal(actor, data)
    person = Person()
    apply_ownership(
        person, actor=actor, owner=data.get("owner"), team=data.get("team"), creating=True
    )
    children = _apply_person(person, data, actor=actor, creating=True)
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
    _check_personal(actor, data)
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


# --- companies ---------------------------------------------------------------------------


def company_snapshot(company: Company) -> dict[str, Any]:
    data = {name: getattr(company, name) for name in COMPANY_SCALARS}
    data.update(
        domains=list(company.domains or []),
        parent=company.parent_id,
        owner=company.owner_id,
        team=company.team_id,
        custom_fields=dict(company.custom_fields or {}),
    )
    if company.pk:
        data["phones"] = [p.number for p in company.phones.all()]
        data["tags"] = sorted(t.name for t in company.tags.all())
    return audit.jsonable(data)


def _apply_company(company: Company, data: Mapping[str, Any], *, actor, creating: bool) -> dict:
    errors: dict[str, list] = {}
    children: dict[str, Any] = {}
    for field in COMPANY_SCALARS:
        if field not in data:
            continue
        value = data[field]
        try:
            if field == "addresses":
                value = _clean_addresses(value)
            elif field == "websites":
                value = _clean_websites(value)
            elif value is None and field != "annual_revenue":
                value = ""
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        setattr(company, field, value)
    if "domains" in data:
        try:
            company.domains = _clean_domains(data["domains"])
            company.primary_domain = company.domains[0] if company.domains else ""
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "parent" in data:
        parent = data["parent"]
        if parent is not None and company.pk and parent.pk == company.pk:
            errors["parent"] = [_("A company cannot be its own parent.")]
        else:
            company.parent = parent
    if "phones" in data:
        try:
            children["phones"] = _clean_phones(data["phones"], region=phones.default_region(actor))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "custom_fields" in data or creating:
        try:
            company.custom_fields = customfields.clean_values(
                "company", data.get("custom_fields") or {}, current=company.custom_fields
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "tags" in data:
        children["tags"] = list(data["tags"] or [])
    if company.annual_revenue is not None and not company.revenue_currency:
        errors.setdefault("revenue_currency", [_("An amount needs its currency.")])
    try:
        company.full_clean(
            exclude=["owner", "team", "created_by", "updated_by", "deleted_by", "parent"]
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, messages)
    if errors:
        raise ValidationError(errors)
    company.revenue_currency = company.revenue_currency.upper()
    company.sort_key = fold(company.name)[:200]
    return children


def _write_company_children(company: Company, children: Mapping[str, Any]) -> None:
    if "phones" in children:
        company.phones.all().delete()
        PhoneNumber.objects.bulk_create(
            PhoneNumber(company=company, number=p["number"], label=p["label"], position=i)
            for i, p in enumerate(children["phones"])
        )
    if "tags" in children:
        company.tags.set(tags_from_names(children["tags"]))


@service
def company_create(*, actor, data: Mapping[str, Any]) -> Company:
    """Create a company; audited and indexed."""
    require_add(actor, "company")
    company = Company()
    apply_ownership(
        company, actor=actor, owner=data.get("owner"), team=data.get("team"), creating=True
    )
    children = _apply_company(company, data, actor=actor, creating=True)
    stamp(company, actor=actor, creating=True)
    company.save()
    _write_company_children(company, children)
    audit.record(
        audit.Action.CREATE,
        actor=actor,
        obj=company,
        changes=audit.initial(company_snapshot(company)),
    )
    reindex_on_commit(company)
    return company


@service
def company_update(
    *, actor, company: Company, data: Mapping[str, Any], expected_version: int | None = None
) -> Company:
    company = lock_for_update(Company, company.pk)
    require(actor, "change", company)
    check_version(company, expected_version)
    before = company_snapshot(company)
    apply_ownership(
        company, actor=actor, owner=data.get("owner"), team=data.get("team"), creating=False
    )
    children = _apply_company(company, data, actor=actor, creating=False)
    _write_company_children(company, children)
    changes = audit.diff(before, company_snapshot(company))
    if not changes:
        return company
    stamp(company, actor=actor, creating=False)
    company.save()
    audit.record(audit.Action.UPDATE, actor=actor, obj=company, changes=changes)
    reindex_on_commit(company)
    if {"name"} & set(changes):
        for person in Person.objects.filter(company=company):
            reindex_on_commit(person)
    return company


# --- employment and consent --------------------------------------------------------------


def _refresh_current_employer(person: Person) -> None:
    today = timezone.localdate()
    current = (
        person.employments.filter(company__deleted_at__isnull=True)
        .exclude(end_date__lt=today)
        .order_by("-start_date", "-id")
        .select_related("company")
        .first()
    )
    person.company = current.company if current else None
    person.job_title = current.title if current else ""
    Person.all_objects.filter(pk=person.pk).update(
        company=person.company, job_title=person.job_title
    )
    reindex_on_commit(person)


@service
def employment_add(
    *,
    actor,
    person: Person,
    company: Company,
    title: str = "",
    department: str = "",
    start_date=None,
    end_date=None,
) -> Employment:
    """Link a person to a company; changes on the person's record and history."""
    require(actor, "change", person)
    if start_date and end_date and end_date < start_date:
        raise ValidationError({"end_date": [_("The end is before the start.")]})
    employment = Employment(
        person=person,
        company=company,
        title=title[:150],
        department=department[:150],
        start_date=start_date,
        end_date=end_date,
    )
    employment.full_clean()
    employment.save()
    _refresh_current_employer(person)
    audit.record(
        audit.Action.UPDATE,
        actor=actor,
        obj=person,
        changes={
            "employment": [
                None,
                {"company": company.pk, "company_name": company.name, "title": title},
            ]
        },
    )
    return employment


@service
def employment_end(*, actor, employment: Employment, end_date=None) -> Employment:
    require(actor, "change", employment.person)
    employment.end_date = end_date or timezone.localdate()
    employment.save(update_fields=["end_date"])
    _refresh_current_employer(employment.person)
    audit.record(
        audit.Action.UPDATE,
        actor=actor,
        obj=employment.person,
        changes={
            "employment_end": [
                None,
                {"company": employment.company_id, "end_date": employment.end_date},
            ]
        },
    )
    return employment


@service
def employment_remove(*, actor, employment: Employment) -> None:
    person = employment.person
    require(actor, "change", person)
    audit.record(
        audit.Action.UPDATE,
        actor=actor,
        obj=person,
        changes={
            "employment": [{"company": employment.company_id, "title": employment.title}, None]
        },
    )
    employment.delete()
    _refresh_current_employer(person)


@service
def consent_record(
    *,
    actor,
    person: Person,
    channel: str,
    purpose: str,
    lawful_basis: str = "consent",
    source: str = "",
    given_at=None,
) -> Consent:
    """Record a consent as a new row; earlier rows stay as history."""
    require(actor, "change", person)
    consent = Consent(
        person=person,
        channel=channel,
        purpose=purpose,
        lawful_basis=lawful_basis,
        source=source,
        given_at=given_at or timezone.now(),
        recorded_by=actor,
    )
    consent.full_clean(exclude=["recorded_by"])
    consent.save()
    audit.record(
        audit.Action.UPDATE,
        actor=actor,
        obj=person,
        changes={"consent": [None, {"channel": channel, "purpose": purpose, "given": True}]},
    )
    return consent


@service
def consent_withdraw(*, actor, consent: Consent, at=None) -> Consent:
    require(actor, "change", consent.person)
    if consent.withdrawn_at is None:
        consent.withdrawn_at = at or timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        audit.record(
            audit.Action.UPDATE,
            actor=actor,
            obj=consent.person,
            changes={
                "consent": [{"channel": consent.channel, "purpose": consent.purpose}, "withdrawn"]
            },
        )
    return consent


# --- bulk paths (imports, demo and benchmark loaders) ------------------------------------


def _index_on_commit(objs) -> None:
    from rapport.core import search

    search.index_on_commit(objs)


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
    for index, data in enumerate(rows):
        try:
            _check_personal(actor, data)
            person = Person()
            apply_ownership(
                person, actor=actor, owner=data.get("owner"), team=data.get("team"), creating=True
            )
            children = _apply_person(person, data, actor=actor, creating=True)
        except ValidationError as exc:
            errors.update(_bulk_errors(index, exc))
            continue
        stamp(person, actor=actor, creating=True)
        emails = children.get("emails") or []
        person.primary_email = next((e["address"] for e in emails if e["primary"]), "")
        numbers = children.get("phones") or []
        person.primary_phone = numbers[0]["number"] if numbers else ""
        people.append(person)
        rows_children.append(children)
    if errors:
        raise ValidationError(errors)
    Person.objects.bulk_create(people, batch_size=500)
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(
                person=person,
                address=e["address"],
                normalized=e["address"].lower(),
                label=e["label"],
                primary=e["primary"],
                position=i,
            )
            for person, children in zip(people, rows_children, strict=True)
            for i, e in enumerate(children.get("emails") or [])
        ],
        batch_size=1000,
    )
    PhoneNumber.objects.bulk_create(
        [
            PhoneNumber(person=person, number=p["number"], label=p["label"], position=i)
            for person, children in zip(people, rows_children, strict=True)
            for i, p in enumerate(children.get("phones") or [])
        ],
        batch_size=1000,
    )
    tags = _names_to_objects(rows_children, "tags", tags_from_names)
    _bulk_link(Person, "person", people, rows_children, "tags", tags)
    groups = _names_to_objects(rows_children, "groups", _groups_from_names)
    _bulk_link(Person, "person", people, rows_children, "groups", groups)
    events = []
    for person, children in zip(people, rows_children, strict=True):
        data = {name: getattr(person, name) for name in PERSON_SCALARS + PERSON_PERSONAL}
        data.update(owner=person.owner_id, team=person.team_id, custom_fields=person.custom_fields)
        data["emails"] = [e["address"] for e in children.get("emails") or []]
        data["phones"] = [p["number"] for p in children.get("phones") or []]
        data["tags"] = _resolved_names(tags, children.get("tags"))
        data["groups"] = _resolved_names(groups, children.get("groups"))
        events.append(
            audit.build(
                audit.Action.CREATE,
                actor=actor,
                obj=person,
                changes=audit.initial(audit.jsonable(data)),
            )
        )
    audit.record_many(events)
    _index_on_commit(people)
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
        f"UPDATE {quote(meta.db_table)} SET {quote(meta.get_field('company').column)} = %s, "  # noqa: S608
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
