"""The writes of an import batch: bulk creation with per-row rejection, updates of
matched records through the update services, company links and external keys."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from rapport.contacts import services as contacts
from rapport.contacts.models import Company
from rapport.core import permissions
from rapport.core.exceptions import PermissionDenied
from rapport.core.text import fold
from rapport.dataio import import_snapshots as snapshots
from rapport.dataio.models import ExternalKey, ImportRow

if TYPE_CHECKING:
    from rapport.dataio.import_batch import Batch, Item


def _bulk_create(batch: Batch, items: list[Item]) -> list[tuple[Item, object]]:
    """Create what the service accepts; a refused row is rejected alone, the rest retried."""
    create = (
        contacts.person_bulk_create if batch.entity == "person" else contacts.company_bulk_create
    )
    remaining = items
    while remaining:
        try:
            objects = create(actor=batch.actor, rows=[i.record.data for i in remaining])
        except ValidationError as exc:
            bad: dict[int, dict[str, list]] = defaultdict(dict)
            for key, messages in exc.message_dict.items():
                index, _sep, name = key.partition(".")
                if index.isdigit():
                    bad[int(index)][name] = messages
            if not bad:
                raise
            for index, fields in bad.items():
                item = remaining[index]
                batch.reject(item, batch.field_reason(fields, item.record))
            remaining = [item for i, item in enumerate(remaining) if i not in bad]
            continue
        return list(zip(remaining, objects, strict=True))
    return []


def create_pending(batch: Batch, items: list[Item]) -> None:
    created = _bulk_create(batch, items)
    extras: dict[int, dict] = {}
    if batch.entity == "person":
        links = [(obj, item) for item, obj in created if item.record.company_name]
        extras = link_companies(batch, links)
    keys = [
        ExternalKey(entity=batch.entity, object_id=obj.pk, key=item.record.external_id)
        for item, obj in created
        if item.record.external_id
    ]
    ExternalKey.objects.bulk_create(keys, batch_size=500)
    for item, obj in created:
        batch._row(
            item,
            ImportRow.Outcome.CREATED,
            object_id=obj.pk,
            version_after=obj.version,
            before=extras.get(obj.pk) or None,
        )
        batch.remember(item, obj.pk)


def link_companies(batch: Batch, pairs: list[tuple]) -> dict[int, dict]:
    """Employ each person at the visible company of that (folded) name, creating the
    companies nobody has yet. Returns, per person, the companies and employments made
    for them (kept on the report row for undo)."""
    if not pairs:
        return {}
    names: dict[str, str] = {}
    for _person, item in pairs:
        names.setdefault(fold(item.record.company_name)[:200], item.record.company_name)
    names.pop("", None)
    found: dict[str, int] = {}
    visible = Company.objects.restrict(batch.actor, "view").filter(sort_key__in=list(names))
    for sort_key, pk in visible.order_by("pk").values_list("sort_key", "pk"):
        found.setdefault(sort_key, pk)
    missing = [name for key, name in names.items() if key not in found]
    new_ids: set[int] = set()
    if missing and permissions.can(batch.actor, "company", "add"):
        for company in contacts.company_bulk_create(
            actor=batch.actor, rows=[{"name": name} for name in missing]
        ):
            found.setdefault(company.sort_key, company.pk)
            new_ids.add(company.pk)
    companies = Company.objects.in_bulk(list(found.values()))
    links, owners = [], []
    for person, item in pairs:
        company = companies.get(found.get(fold(item.record.company_name)[:200]))
        if company is None or not permissions.allows(batch.actor, "person", "change", person):
            continue
        links.append({"person": person, "company": company, "title": item.record.job_title})
        owners.append(person.pk)
    extras: dict[int, dict] = defaultdict(lambda: {"companies": [], "employments": []})
    if links:
        for employment in contacts.employment_bulk_add(actor=batch.actor, links=links):
            extras[employment.person_id]["employments"].append(employment.pk)
            if employment.company_id in new_ids:
                new_ids.discard(employment.company_id)
                extras[employment.person_id]["companies"].append(employment.company_id)
    return dict(extras)


def update_one(batch: Batch, item: Item, object_id: int, kind: str) -> None:
    """Update a matched record (the update service, audited); keep what undo needs."""
    obj = (
        batch.take(object_id)
        or batch.model.objects.restrict(batch.actor, "view").filter(pk=object_id).first()
    )
    if obj is None:
        batch.reject(item, _("The matching record is no longer there."))
        return
    if not batch.may("change", obj):
        batch.reject(item, _("Matches #%(id)s, which you may not change.") % {"id": object_id})
        return
    before = snapshots.snapshot(batch.entity, obj)
    data = snapshots.merge(batch.entity, before, item.record.data)
    update = contacts.person_update if batch.entity == "person" else contacts.company_update
    try:
        updated = update(actor=batch.actor, data=data, **{batch.entity: obj}) if data else obj
    except PermissionDenied:
        batch.reject(item, _("Matches #%(id)s, which you may not change.") % {"id": object_id})
        return
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        batch.reject(item, batch.field_reason(fields, item.record))
        return
    extra: dict = {"record": before}
    record = item.record
    if batch.entity == "person" and record.company_name:
        current = updated.company.name if updated.company_id else ""
        if fold(current) != fold(record.company_name):
            extra.update(link_companies(batch, [(updated, item)]).get(updated.pk, {}))
    if (
        record.external_id
        and not ExternalKey.objects.filter(
            entity=batch.entity, object_id=updated.pk, key=record.external_id
        ).exists()
    ):
        ExternalKey.objects.create(
            entity=batch.entity, object_id=updated.pk, key=record.external_id
        )
        extra["external_key"] = record.external_id
    batch.remember(item, updated.pk)
    if updated.version == obj.version and len(extra) == 1:
        batch._row(
            item,
            ImportRow.Outcome.SKIPPED,
            _("Already up to date (#%(id)s).") % {"id": updated.pk},
            object_id=updated.pk,
        )
        return
    batch._row(
        item,
        ImportRow.Outcome.UPDATED,
        object_id=updated.pk,
        before=extra,
        version_after=updated.version,
    )
