"""Recomputing stored match keys, after the nickname table or key rules change
(`rapport reindex` runs it; services keep keys current on every write)."""

from __future__ import annotations

from rapport.contacts.models import Company, Person
from rapport.core.matching import company_match_key, person_match_key

BATCH = 2000


def _refresh(model, fields, key_of) -> int:
    changed, total = [], 0
    rows = model.all_objects.order_by("pk").values_list("pk", "match_key", *fields)
    for pk, current, *values in rows.iterator(chunk_size=BATCH):
        key = key_of(*values)
        if key != current:
            changed.append(model(pk=pk, match_key=key))
        if len(changed) >= BATCH:
            model.all_objects.bulk_update(changed, ["match_key"])
            total += len(changed)
            changed = []
    if changed:
        model.all_objects.bulk_update(changed, ["match_key"])
        total += len(changed)
    return total


def refresh_match_keys() -> dict[str, int]:
    """How many stored keys changed, per entity."""
    return {
        "person": _refresh(Person, ("first_name", "last_name"), person_match_key),
        "company": _refresh(Company, ("name",), company_match_key),
    }
