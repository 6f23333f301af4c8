"""Shared parts of the entity kit's views: the entity, scoped lookups, templates."""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import select_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from rapport.core import permissions
from rapport.core.registry import Entity
from rapport.core.services import merged_survivor_id


class MergedRedirect(Exception):
    """Raised by `get_visible` for a merged record's id: answer 308 to the survivor."""

    def __init__(self, url: str):
        self.url = url


class KitView(LoginRequiredMixin, View):
    """A view configured by an entity declaration (set through `as_view(entity=...)`)."""

    entity: type[Entity] | None = None
    form_class: type | None = None
    detail_extra = None  # callable(request, obj) -> dict, for entity-specific sections

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except MergedRedirect as exc:
            return HttpResponsePermanentRedirect(exc.url, preserve_request=True)  # 308

    def visible(self, *, trashed: bool = False):
        """Rows the user may view; `trashed=True` includes the trash (for restore)."""
        manager = self.entity.model.all_objects if trashed else self.entity.model.objects
        return manager.restrict(self.request.user, "view")

    def get_visible(
        self, pk: int, *, detail: bool = False, page: bool = False, trashed: bool = False
    ):
        """The record if the user may view it; 404 exactly as if it did not exist.
        `detail` loads what forms and services read; `page` what the record page shows
        (its related rows may be partial model rows: for display only)."""
        if page:
            return self._page_record(pk, trashed=trashed)
        qs = self.visible(trashed=trashed).filter(merged_into__isnull=True)
        if detail:
            qs = self.entity.detail_queryset(qs)
        try:
            return get_object_or_404(qs, pk=pk)
        except Http404:
            self.follow_merge(pk)
            raise

    def _page_record(self, pk: int, *, trashed: bool):
        """The record page's read (`Entity.shown_record`, which the API's GET shares)."""
        found = self.entity.shown_record(self.request.user, pk, trashed=trashed)
        if found is None:
            self.follow_merge(pk)
            raise Http404
        return found

    def follow_merge(self, pk: int) -> None:
        """Old links of a merged record (GET only) lead to the survivor, if visible."""
        if self.request.method not in ("GET", "HEAD"):
            return
        survivor = merged_survivor_id(self.entity.model, pk)
        if survivor is not None and self.visible().filter(pk=survivor).exists():
            path = self.request.path.replace(f"/{pk}/", f"/{survivor}/", 1)
            query = self.request.META.get("QUERY_STRING", "")
            raise MergedRedirect(f"{path}?{query}" if query else path)

    def require(self, action: str, obj=None) -> None:
        user = self.request.user
        allowed = (
            permissions.can(user, self.entity.key, action)
            if obj is None
            else permissions.allows(user, self.entity.key, action, obj)
        )
        if not allowed:
            raise PermissionDenied(action)

    def template(self, kind: str) -> str:
        meta = self.entity.model._meta
        names = [f"{meta.app_label}/{meta.model_name}_{kind}.html", f"kit/{kind}.html"]
        if kind == "detail" and self.entity.detail_template:
            names.insert(0, self.entity.detail_template)
        if settings.DEBUG:  # templates may come and go while developing
            return select_template(names).template.name
        return _first_template(tuple(names))

    def url(self, name: str, *args) -> str:
        return reverse(f"{self.entity.url_base}:{name}", args=args)

    def back(self, fallback: str):
        target = self.request.POST.get("next") or ""
        ok = url_has_allowed_host_and_scheme(
            target, {self.request.get_host()}, self.request.is_secure()
        )
        return redirect(target if target and ok else fallback)

    def base_context(self, **extra) -> dict:
        user = self.request.user
        key = self.entity.key
        return {
            "entity": self.entity,
            "url_base": self.entity.url_base,
            "can_add": permissions.can(user, key, "add"),
            "can_assign": permissions.can(user, key, "assign"),
            "can_bulk_change": permissions.can(user, key, "change"),
            "can_bulk_delete": permissions.can(user, key, "delete"),
            **extra,
        }


@functools.cache
def _first_template(names: tuple[str, ...]) -> str:
    """Which of `names` exists: the same answer for every request of a running process."""
    return select_template(list(names)).template.name
