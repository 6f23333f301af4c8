"""Entity list pages: filters, sort, columns, keyset pages, saved views, bulk actions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rapport.core import bulk, listing, listrows, permissions, selectors
from rapport.core.forms import BulkForm, SavedViewForm
from rapport.core.models import SavedView
from rapport.core.views.base import KitView


class EntityListView(KitView):
    def get(self, request):
        page = listing.entity_list(self.entity, request.user, request.GET)
        context = self.base_context(
            page=page,
            assign=selectors.assign_choices()
            if permissions.can(request.user, self.entity.key, "assign")
            else None,
            saved_views=listing.saved_views(self.entity, request.user),
            query=request.GET.urlencode(),
            # One string: fifty rows through a template loop cost a node render each.
            rows_html=mark_safe(  # noqa: S308  # nosec B308 B703 # each row is escaped markup
                "\n".join(listrows.render_rows(page.rows, page.columns, self.entity.url_base))
            ),
            header_html=listrows.header_cells_html(
                page.columns, page.sortable, page.ordering, self.url("list"), request.GET
            ),
            columns_html=listrows.column_choices_html(page.all_columns, page.columns),
            filter_fields=listrows.filter_fields_html(
                page.filterset.panel_fields(), request.GET, page.field_errors
            ),
        )
        template = self.template("list")
        if request.htmx and request.htmx.target == "list-results":
            template = f"{template}#results"
        return render(request, template, context)


class EntityBulkView(KitView):
    def post(self, request):
        form = BulkForm(request.POST)
        if not form.is_valid():
            for error in form.errors.values():
                messages.error(request, " ".join(error))
            return self.back(self.url("list"))
        result = bulk.bulk_apply(
            self.entity,
            actor=request.user,
            ids=form.cleaned_data["ids"],
            action=form.cleaned_data["action"],
            value=form.value(),
        )
        messages.success(
            request,
            ngettext("%d record updated.", "%d records updated.", result.done) % result.done,
        )
        if result.skipped:
            skipped = len(result.skipped)
            messages.warning(
                request,
                ngettext(
                    "%d record was skipped: you may not do that to it.",
                    "%d records were skipped: you may not do that to them.",
                    skipped,
                )
                % skipped,
            )
        return self.back(self.url("list"))


class SavedViewCreateView(KitView):
    def post(self, request):
        form = SavedViewForm(request.POST)
        query = QueryDict(request.POST.get("query", ""))
        if not form.is_valid():
            messages.error(request, _("Give the view a name."))
            return redirect(f"{self.url('list')}?{query.urlencode()}")
        try:
            bulk.savedview_create(
                actor=request.user,
                entity=self.entity,
                name=form.cleaned_data["name"],
                params={k: query.getlist(k) for k in query if k != "columns"},
                columns=[c for v in query.getlist("columns") for c in v.split(",") if c],
                shared=form.cleaned_data["shared"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("View “%s” saved.") % form.cleaned_data["name"])
        return redirect(f"{self.url('list')}?{query.urlencode()}")


class SavedViewDeleteView(KitView):
    def post(self, request, view_id: int):
        view = get_object_or_404(SavedView, pk=view_id, entity=self.entity.key, user=request.user)
        bulk.savedview_delete(actor=request.user, view=view)
        messages.success(request, _("View “%s” deleted.") % view.name)
        return redirect(self.url("list"))
