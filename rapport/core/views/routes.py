"""URL patterns the entity kit gives every entity, under the entity's namespace."""

from __future__ import annotations

from django.urls import path

from rapport.core.registry import Entity
from rapport.core.views import lists, records


def entity_urls(entity: type[Entity], *, form_class, detail_extra=None, extra=()):
    """(patterns, namespace) for `include()`: list, create, detail, edit, delete, restore,
    bulk and saved views, plus any entity-specific `extra` patterns."""
    kw = {"entity": entity}
    form_kw = {**kw, "form_class": form_class}
    patterns = [
        path("", lists.EntityListView.as_view(**kw), name="list"),
        path("new/", records.EntityCreateView.as_view(**form_kw), name="create"),
        path("bulk/", lists.EntityBulkView.as_view(**kw), name="bulk"),
        path("views/", lists.SavedViewCreateView.as_view(**kw), name="save_view"),
        path(
            "views/<int:view_id>/delete/",
            lists.SavedViewDeleteView.as_view(**kw),
            name="delete_view",
        ),
        path(
            "<int:pk>/",
            records.EntityDetailView.as_view(**kw, detail_extra=detail_extra),
            name="detail",
        ),
        path("<int:pk>/edit/", records.EntityEditView.as_view(**form_kw), name="edit"),
        path("<int:pk>/delete/", records.EntityDeleteView.as_view(**kw), name="delete"),
        path("<int:pk>/restore/", records.EntityRestoreView.as_view(**kw), name="restore"),
        *extra,
    ]
    return patterns, entity.url_base
