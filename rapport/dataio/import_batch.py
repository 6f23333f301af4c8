"""One batch of an import: records built, matched, and created or updated.

Matching only ever sees records the importer may view (`restrict(actor, "view")`), so
an import never reveals or touches another team's data. Rows repeated within the file
follow the strategy too: a row that matches a record still waiting to be created
flushes the waiting creations first, then matches the record its earlier twin made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.contacts.models import Company, EmailAddress, Person, PhoneNumber
from rapport.core import permissions
from rapport.dataio import import_snapshots as snapshots
from rapport.dataio.mapping import BuildContext, Record, build_record
from rapport.dataio.models import ExternalKey, ImportJob, ImportRow
from rapport.dataio.suppression import suppressed_digests

MATCH_LABELS = {
    "email": gettext_lazy("email"),
    "phone": gettext_lazy("phone"),
    "name_company": gettext_lazy("name and company"),
    "external_id": gettext_lazy("external id"),
}


@dataclass(slots=True)
class Outcome:
    """A report line waiting to be written (plain data: thousands per batch)."""

    number: int
    outcome: str
    reason: str
    values: list[str]
    object_id: int | None = None
    before: dict | None = None
    version_after: int | None = None


@dataclass
class Item:
    number: int
    cells: list[str]
    record: Record
    keys: list[tuple[str, str]] = field(default_factory=list)


class Batch:
    def __init__(self, job: ImportJob, actor) -> None:
        self.job = job
        self.actor = actor
        self.entity = job.entity
        self.model = Person if self.entity == "person" else Company
        self.context = BuildContext(job.entity, job.mapping, actor=actor)
        self.headers = list(job.headers)
        self.strategy = job.strategy
        usable = ("email", "phone", "name_company", "external_id")
        if self.entity == "company":
            usable = ("phone", "name_company", "external_id")
        self.match_on = (
            []
            if self.strategy == ImportJob.Strategy.CREATE
            else [k for k in job.match_on if k in usable]
        )
        self.outcomes: dict[int, Outcome] = {}
        self.pending: list[Item] = []
        self.pending_keys: dict[tuple[str, str], Item] = {}
        self.known: dict[tuple[str, str], int] = {}
        self.row_of: dict[int, int] = {}
        self.existing: dict[tuple[str, str], int] = {}
        self.matched: dict[int, object] = {}

    # --- the batch ---------------------------------------------------------------------

    def process(self, rows: list[tuple[int, list[str]]]) -> list[Outcome]:
        items = []
        for number, cells in rows:
            record = build_record(
                self.entity, self.job.mapping, cells, actor=self.actor, context=self.context
            )
            item = Item(number, cells, record)
            if record.errors:
                self.reject(item, self.cell_reason(record.errors))
                continue
            item.keys = self.keys_of(record)
            items.append(item)
        if self.entity == "person":
            items = self.refuse_suppressed(items)
        if self.match_on:
            self.existing = self.lookup(items)
            if self.strategy == ImportJob.Strategy.UPDATE:
                self.prefetch_matched(items)
        for item in items:
            self.place(item)
        self.flush()
        return [self.outcomes[n] for n in sorted(self.outcomes)]

    def place(self, item: Item) -> None:
        match = self.find(item)
        if match is None and any(k in self.pending_keys for k in item.keys):
            self.flush()
            match = self.find(item)
        if match is None:
            self.pending.append(item)
            for key in item.keys:
                self.pending_keys.setdefault(key, item)
            return
        object_id, kind = match
        if self.strategy == ImportJob.Strategy.UPDATE:
            self.update(item, object_id, kind)
        else:
            self.skip(item, object_id, kind)

    def find(self, item: Item) -> tuple[int, str] | None:
        for key in item.keys:
            object_id = self.known.get(key) or self.existing.get(key)
            if object_id:
                return object_id, key[0]
        return None

    # --- outcomes ----------------------------------------------------------------------

    def _row(self, item: Item, outcome: str, reason: str = "", **extra) -> None:
        self.outcomes[item.number] = Outcome(item.number, outcome, reason, item.cells, **extra)

    def reject(self, item: Item, reason: str) -> None:
        self._row(item, ImportRow.Outcome.REJECTED, reason)

    def skip(self, item: Item, object_id: int, kind: str) -> None:
        label = _("name") if self.entity == "company" and kind == "name_company" else None
        row = self.row_of.get(object_id)
        if row is not None:
            reason = _("Same %(key)s as row %(row)s of this file.") % {
                "key": label or MATCH_LABELS[kind],
                "row": row,
            }
        else:
            reason = _("A record with this %(key)s exists (#%(id)s).") % {
                "key": label or MATCH_LABELS[kind],
                "id": object_id,
            }
        self._row(item, ImportRow.Outcome.SKIPPED, reason, object_id=object_id)

    def cell_reason(self, errors: dict[int, str]) -> str:
        return "; ".join(
            f"{self.header(col)}: {message}" for col, message in sorted(errors.items())
        )

    def field_reason(self, fields: dict[str, list], record: Record) -> str:
        parts = []
        for name, messages in fields.items():
            base = name.split(".")[0]
            column = record.columns.get(name)
            if column is None:
                column = record.columns.get(base)
            if column is None and base == "custom_fields":
                column = record.columns.get(".".join(name.split(".")[:2]))
            label = self.header(column) if column is not None else self.field_label(base)
            parts.append(f"{label}: {' '.join(str(m) for m in messages)}")
        return "; ".join(parts)

    def header(self, column: int) -> str:
        if column < len(self.headers) and self.headers[column]:
            return self.headers[column]
        return _("column %(n)s") % {"n": column + 1}

    def field_label(self, name: str) -> str:
        try:
            return str(self.model._meta.get_field(name).verbose_name)
        except Exception:  # not a model field (emails, phones …): the key says enough
            return name

    # --- matching ----------------------------------------------------------------------

    def keys_of(self, record: Record) -> list[tuple[str, str]]:
        data, keys = record.data, []
        for kind in self.match_on:
            if kind == "external_id" and record.external_id:
                keys.append(("external_id", record.external_id))
            elif kind == "email":
                keys += [("email", e["address"].lower()) for e in data.get("emails", [])]
            elif kind == "phone":
                keys += [("phone", p["number"]) for p in data.get("phones", [])]
            elif kind == "name_company":
                key = snapshots.name_key(self.entity, data, record.company_name)
                if key:
                    keys.append(("name_company", key))
        return keys

    def lookup(self, items: list[Item]) -> dict[tuple[str, str], int]:
        """Existing visible records for every key of the batch, a few queries in all."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for item in items:
            for kind, value in item.keys:
                wanted[kind].add(value)
        visible = self.model.objects.restrict(self.actor, "view")
        found: dict[tuple[str, str], int] = {}

        def add(kind, pairs):
            for value, object_id in pairs:
                key = (kind, value)
                if key not in found or object_id < found[key]:
                    found[key] = object_id

        if wanted.get("email"):
            pairs = EmailAddress.objects.filter(normalized__in=wanted["email"]).order_by()
            add("email", self.only_visible(pairs.values_list("normalized", "person_id")))
        if wanted.get("phone"):
            owner = "person" if self.entity == "person" else "company"
            pairs = PhoneNumber.objects.filter(
                number__in=wanted["phone"], **{f"{owner}__isnull": False}
            ).order_by()
            add("phone", self.only_visible(pairs.values_list("number", f"{owner}_id")))
        if wanted.get("name_company"):
            add(
                "name_company", snapshots.name_matches(self.entity, visible, wanted["name_company"])
            )
        if wanted.get("external_id"):
            keys = list(
                ExternalKey.objects.filter(
                    entity=self.entity, key__in=wanted["external_id"]
                ).values_list("key", "object_id")
            )
            ids = set(visible.filter(pk__in={i for _k, i in keys}).values_list("pk", flat=True))
            add("external_id", [(k, i) for k, i in keys if i in ids])
        return found

    def prefetch_matched(self, items: list[Item]) -> None:
        """The visible records this batch's rows match, with what the update snapshot
        reads, in a few queries instead of five per row. Each is used once (`take`): a
        record updated by one row is read again for the next row that matches it."""
        ids = {self.existing[key] for item in items for key in item.keys if key in self.existing}
        if not ids:
            return
        related = ["phones", "tags"] + (["emails", "groups"] if self.entity == "person" else [])
        qs = self.model.objects.restrict(self.actor, "view").filter(pk__in=ids)
        self.matched = {obj.pk: obj for obj in qs.prefetch_related(*related)}

    def take(self, object_id: int):
        """The prefetched record `object_id`, or None (read it afresh)."""
        return self.matched.pop(object_id, None)

    def only_visible(self, pairs) -> list[tuple[str, int]]:
        """The (value, id) pairs whose record the importer may view. Two index-driven
        queries (the values, then their ids in the scoped queryset): one statement
        joining the scope would scan every visible record of a million-row table."""
        pairs = list(pairs)
        ids = {object_id for _value, object_id in pairs}
        if not ids:
            return []
        visible = set(
            self.model.objects.restrict(self.actor, "view")
            .filter(pk__in=ids)
            .order_by()
            .values_list("pk", flat=True)
        )
        return [(value, object_id) for value, object_id in pairs if object_id in visible]

    def refuse_suppressed(self, items: list[Item]) -> list[Item]:
        emails = {e["address"].lower() for i in items for e in i.record.data.get("emails", [])}
        numbers = {p["number"] for i in items for p in i.record.data.get("phones", [])}
        bad_emails = suppressed_digests("email", emails)
        bad_phones = suppressed_digests("phone", numbers)
        if not bad_emails and not bad_phones:
            return items
        kept = []
        for item in items:
            data = item.record.data
            if {e["address"].lower() for e in data.get("emails", [])} & bad_emails or {
                p["number"] for p in data.get("phones", [])
            } & bad_phones:
                self.reject(item, _("erased person; not re-created"))
            else:
                kept.append(item)
        return kept

    # --- writes ------------------------------------------------------------------------

    def update(self, item: Item, object_id: int, kind: str) -> None:
        from rapport.dataio.import_writes import update_one

        update_one(self, item, object_id, kind)

    def flush(self) -> None:
        from rapport.dataio.import_writes import create_pending

        if self.pending:
            items, self.pending, self.pending_keys = self.pending, [], {}
            create_pending(self, items)

    def remember(self, item: Item, object_id: int) -> None:
        for key in item.keys:
            self.known.setdefault(key, object_id)
        self.row_of.setdefault(object_id, item.number)

    def may(self, action: str, obj) -> bool:
        return permissions.allows(self.actor, self.entity, action, obj)
