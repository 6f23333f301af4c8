"""Writes on companies: create and update with their domains, phones and tags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from rapport.contacts.models import (
    Company,
    Person,
    PhoneNumber,
)
from rapport.contacts.services.cleaning import (
    COMPANY_SCALARS,
    clean_addresses,
    clean_domains,
    clean_phones,
    clean_websites,
)
from rapport.core import audit, customfields, phones
from rapport.core.matching import company_match_key
from rapport.core.models import RowStatements
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
                value = clean_addresses(value)
            elif field == "websites":
                value = clean_websites(value)
            elif value is None and field != "annual_revenue":
                value = ""
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        setattr(company, field, value)
    if "domains" in data:
        try:
            company.domains = clean_domains(data["domains"])
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
            children["phones"] = clean_phones(data["phones"], region=phones.default_region(actor))
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
    company.match_key = company_match_key(company.name)
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
    read = RowStatements.of(Company).state(company)
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
    RowStatements.of(Company).update(company, since=read)  # the columns that changed
    audit.record(audit.Action.UPDATE, actor=actor, obj=company, changes=changes)
    reindex_on_commit(company)
    if {"name"} & set(changes):
        for person in Person.objects.filter(company=company):
            reindex_on_commit(person)
    return company
