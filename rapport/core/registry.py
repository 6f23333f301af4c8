"""The entity kit's declaration and registry.

One `Entity` subclass per model declares everything the kit needs to give that
model a list, detail, forms, API CRUD, search entry, exports and audit. Views,
API routers, search and the test mixins read only this declaration, so a new
entity gets them all by registering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db.models import Manager, Model, QuerySet


@dataclass(frozen=True)
class Column:
    """A list column: `key` names it in URLs and saved views; `order` is the ordering key
    (from `Entity.orderings`) clicking its header uses, if any."""

    key: str
    label: Any
    order: str | None = None
    personal: bool = False


@dataclass
class Entity:
    """Declaration of one entity. Subclass, fill in the class attributes, then `register`."""

    key: ClassVar[str]  # registry key: "person"; audit object_type; API resource name source
    model: ClassVar[type[Model]]
    verbose_name: ClassVar[Any]
    verbose_name_plural: ClassVar[Any]
    url_base: ClassVar[str]  # "people": UI at /people/, API at /api/v1/people
    icon: ClassVar[str] = "circle"
    nav_group: ClassVar[str] = "contacts"  # DESIGN.md §1 block the navigation puts it under

    filterset_class: ClassVar[type | None] = None  # django-filter FilterSet for UI, API, export
    form_class: ClassVar[type | None] = None
    columns: ClassVar[list[Column]] = []
    default_columns: ClassVar[list[str]] = []
    # ordering key -> model fields; each list ends with "id" so keyset pages are total
    orderings: ClassVar[dict[str, list[str]]] = {}
    default_ordering: ClassVar[str] = "-created_at"
    personal_fields: ClassVar[frozenset[str]] = frozenset()
    audited_fields: ClassVar[list[str]] = []
    detail_template: ClassVar[str | None] = None
    list_row_template: ClassVar[str | None] = None

    # Services: callables with keyword-only arguments, named in the domain's words:
    # create(*, actor, data) -> obj; update(*, actor, <model_name>=obj, data,
    # expected_version) -> obj (e.g. person_update(*, actor, person, ...)). Callers use
    # Entity.create() / Entity.update(), which pass the right keyword.
    create_service: ClassVar[Callable[..., Model] | None] = None
    update_service: ClassVar[Callable[..., Model] | None] = None

    # Fields a list page never shows (big JSON and text): left out of its query. Exports
    # keep them (they may write custom fields), so this applies to list pages only.
    list_page_defer: ClassVar[tuple[str, ...]] = ()

    # --- hooks an entity overrides -------------------------------------------------
    @classmethod
    def list_page_queryset(cls, qs: QuerySet, column_keys: frozenset[str]) -> QuerySet:
        """The list page's query for the columns it shows: an entity may join and
        prefetch only what those columns read (default: everything `list_queryset` does)."""
        qs = cls.list_queryset(qs)
        return qs.defer(*cls.list_page_defer) if cls.list_page_defer else qs

    @classmethod
    def detail_page_queryset(cls, qs: QuerySet) -> QuerySet:
        """The record page's query (default: `detail_queryset`); an entity may leave some
        related rows to `detail_page_prefetch`."""
        return cls.detail_queryset(qs)

    @classmethod
    def detail_page_prefetch(cls, obj) -> None:
        """Fills what `detail_page_queryset` left out, on the one record, for display only
        (default: nothing)."""

    @classmethod
    def shown_record(cls, user, pk: int, *, trashed: bool = False):
        """The record `user` may view with what its page and the API's answer show, or
        None: `restrict(user, "view")` (the trash too when `trashed`, never a merged
        record) with `detail_page_queryset`, compiled once per scope (`prepared.fetch`,
        keyed on the scope filter itself), then `detail_page_prefetch`. Its related rows
        may be partial model rows: for display only, never for a write."""
        from rapport.core import permissions, prepared

        manager = cls.model.all_objects if trashed else cls.model.objects
        scope = permissions.scope_q(user, cls.key, "view")

        def build(mark):
            visible = manager.restrict(user, "view").filter(merged_into__isnull=True, pk=mark)
            return cls.detail_page_queryset(visible)

        found = prepared.fetch(cls.model, ("shown", cls, trashed, scope), build, int(pk))
        if not found:
            return None
        cls.detail_page_prefetch(found[0])
        return found[0]

    @classmethod
    def api_list_queryset(cls, qs: QuerySet) -> QuerySet:
        """What an API list page reads (default: the detail query, serialised per row)."""
        return cls.detail_queryset(qs)

    @classmethod
    def api_list_fetch(cls, qs: QuerySet) -> list:
        """Runs one sliced `api_list_queryset` (an entity that builds items from raw cells
        uses `rawvalues.fetch`)."""
        return list(qs)

    @classmethod
    def api_list_items(cls, items: list, user) -> list[dict[str, Any]]:
        """An API list page's items: the same JSON `serialize` gives for each record (an
        entity may build them from values with one query per relation instead)."""
        return [cls.serialize(obj, user) for obj in items]

    @classmethod
    def list_page_rows(cls, items: list, column_keys: frozenset[str]) -> list:
        """What `list_page_queryset` fetched, as the rows the page renders (an entity whose
        query returns values turns them into light row objects here)."""
        return items

    @classmethod
    def list_queryset(cls, qs: QuerySet) -> QuerySet:
        """Joins and prefetches a list page needs (no N+1)."""
        return qs.select_related("owner", "team")

    @classmethod
    def detail_queryset(cls, qs: QuerySet) -> QuerySet:
        return cls.list_queryset(qs)

    @classmethod
    def search_document(cls, obj: Model) -> dict[str, str]:
        """Text the global search indexes: {"title", "subtitle", "text"} (text: everything
        matchable: names, emails, phone digits, domains)."""
        return {"title": str(obj), "subtitle": "", "text": str(obj)}

    @classmethod
    def serialize(cls, obj: Model, user) -> dict[str, Any]:
        """The API/export representation; personal fields left out unless permitted."""
        raise TypeError(f"entity {cls.key!r} must define serialize()")

    @classmethod
    def export_queryset(cls, qs: QuerySet, fmt: str) -> QuerySet:
        """Joins and prefetches an export needs: a table reads the list's columns, a
        record format (JSON, vCard) reads what `serialize` reads."""
        return cls.list_queryset(qs) if fmt in {"csv", "xlsx"} else cls.detail_queryset(qs)

    @classmethod
    def export_value(cls, obj: Model, key: str, user) -> Any:
        """A list column's value in a CSV/XLSX export: typed (numbers and dates stay
        values, phones E.164), a related record by name, related rows as a list."""
        from rapport.core.presenters import ALIASES

        name = ALIASES.get(key, key)
        if not hasattr(obj, name):
            name = key if hasattr(obj, key) else f"{key}s"
        value = getattr(obj, name, None)
        if isinstance(value, Manager):  # prefetched by export_queryset
            return [getattr(item, "number", None) or str(item) for item in value.all()]
        if isinstance(value, Model):
            return str(value)
        display = getattr(obj, f"get_{name}_display", None)
        return display() if callable(display) else value

    @classmethod
    def likely_duplicates(cls, user, data, *, exclude_pk: int | None = None, instance=None):
        """Records `user` may view that `data` probably duplicates, checked before a
        create or edit is saved (the duplicates feature answers for its entities)."""
        from django.apps import apps

        if not apps.is_installed("rapport.dataio"):
            return []
        from rapport.dataio.dedup.candidates import likely_duplicates

        return likely_duplicates(cls.key, user, data, exclude_pk=exclude_pk, instance=instance)

    @classmethod
    def create(cls, *, actor, data) -> Model:
        return cls.create_service(actor=actor, data=data)

    @classmethod
    def update(cls, *, actor, obj: Model, data, expected_version: int | None = None) -> Model:
        keyword = cls.model._meta.model_name
        return cls.update_service(
            actor=actor, data=data, expected_version=expected_version, **{keyword: obj}
        )

    @classmethod
    def get_absolute_url(cls, obj: Model) -> str:
        from django.urls import reverse

        return reverse(f"{cls.url_base}:detail", args=[obj.pk])


@dataclass
class Registry:
    entities: dict[str, type[Entity]] = field(default_factory=dict)

    def register(self, entity: type[Entity]) -> type[Entity]:
        if entity.key in self.entities:
            raise ValueError(f"entity {entity.key!r} registered twice")
        self.entities[entity.key] = entity
        return entity

    def get(self, key: str) -> type[Entity] | None:
        return self.entities.get(key)

    def for_model(self, model: type[Model]) -> type[Entity] | None:
        for entity in self.entities.values():
            if entity.model is model:
                return entity
        return None

    def __iter__(self) -> Iterator[type[Entity]]:
        return iter(self.entities.values())


registry = Registry()
register = registry.register
