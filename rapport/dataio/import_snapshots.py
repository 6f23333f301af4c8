"""What an import keeps about a record it updates, and how it merges a row into one.

The snapshot holds everything an update can change, with labels of emails and phones,
so undo can put the record back exactly; undo only sends the keys that differ, so a
field the importer could not touch (personal data) is never part of the restore.
An update adds: emails, phones, tags, groups, websites and domains are united with
what the record has, filled cells replace values, empty cells change nothing.
"""

from __future__ import annotations

from typing import Any

from rapport.contacts.models import Company, Person
from rapport.contacts.services.cleaning import COMPANY_SCALARS, PERSON_PERSONAL, PERSON_SCALARS
from rapport.core import audit
from rapport.core.text import fold


def name_key(entity: str, data: dict, company_name: str) -> str:
    """The folded name (as the record's stored sort_key) plus, for people, the company."""
    if entity == "company":
        return fold(data.get("name", ""))[:200]
    parts = (data.get("last_name", ""), data.get("first_name", ""), data.get("middle_name", ""))
    name = fold(" ".join(parts))[:320]
    if not name:
        return ""
    return f"{name}|{fold(company_name)[:200]}"


def name_matches(entity: str, visible, keys: set[str]):
    if entity == "company":
        return visible.filter(sort_key__in=keys).values_list("sort_key", "pk")
    names = {k.split("|")[0] for k in keys}
    rows = visible.filter(sort_key__in=names).values_list("sort_key", "company__sort_key", "pk")
    return [(f"{name}|{company or ''}", pk) for name, company, pk in rows]


def snapshot(entity: str, obj) -> dict[str, Any]:
    if entity == "person":
        data = {name: getattr(obj, name) for name in PERSON_SCALARS + PERSON_PERSONAL}
        data["emails"] = [
            {"address": e.address, "label": e.label, "primary": e.primary} for e in obj.emails.all()
        ]
        data["groups"] = sorted(g.name for g in obj.groups.all())
    else:
        data = {name: getattr(obj, name) for name in COMPANY_SCALARS}
        data["domains"] = list(obj.domains or [])
    data["custom_fields"] = dict(obj.custom_fields or {})
    data["phones"] = [{"number": p.number, "label": p.label} for p in obj.phones.all()]
    data["tags"] = sorted(t.name for t in obj.tags.all())
    return audit.jsonable(data)


def restore_data(before: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in before.items() if current.get(key) != value}


def _union(existing: list, new: list, key) -> list:
    seen = {key(x) for x in existing}
    added = [x for x in new if key(x) not in seen]
    return existing + added


def merge(entity: str, before: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The update data for one row: multi-value fields united with the record's."""
    merged = dict(data)
    lower = lambda v: str(v).lower()  # noqa: E731
    if "emails" in data:
        merged["emails"] = _union(before["emails"], data["emails"], lambda e: e["address"].lower())
    if "phones" in data:
        merged["phones"] = _union(before["phones"], data["phones"], lambda p: p["number"])
    for name in ("tags", "groups"):
        if name in data and name in before:
            merged[name] = _union(before[name], data[name], lower)
    if "websites" in data:
        merged["websites"] = _union(before["websites"], data["websites"], lower)
    if "domains" in data:
        merged["domains"] = _union(before["domains"], data["domains"], lower)
    if "social_profiles" in data:
        merged["social_profiles"] = _union(
            before["social_profiles"],
            data["social_profiles"],
            lambda s: (s["network"], s.get("url") or s.get("handle")),
        )
    if "addresses" in data:
        new = data["addresses"][0]
        others = [a for a in before["addresses"] if {**a, "label": ""} != {**new, "label": ""}]
        merged["addresses"] = [new, *others]
    return {key: value for key, value in merged.items() if before.get(key) != value}


MODELS = {"person": Person, "company": Company}
