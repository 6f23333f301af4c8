"""Entity record pages: detail with history, create, edit (with stale-edit refusal),
delete to trash and restore."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from rapport.core import customfields, permissions, presenters, selectors, services
from rapport.core.bulk import update_record
from rapport.core.exceptions import ConflictError, FieldPermissionDenied
from rapport.core.views.base import KitView


class EntityDetailView(KitView):
    def get(self, request, pk: int):
        obj = self.get_visible(pk, page=True)
        user = request.user
        history = presenters.timeline(selectors.record_history(obj, user), self.entity.model, obj)
        context = self.base_context(
            object=obj,
            history=history,
            history_html=presenters.timeline_html(history),
            can_change=permissions.allows(user, self.entity.key, "change", obj),
            can_delete=permissions.allows(user, self.entity.key, "delete", obj),
            personal=permissions.has_field_permission(user, permissions.PERSONAL_DATA),
            custom_definitions=customfields.definitions(self.entity.key),
        )
        if self.detail_extra is not None:
            context.update(self.detail_extra(request, obj))
        return render(request, self.template("detail"), context)


class EntityFormMixin:
    def save(self, form, call):
        """Run the service; service errors land on the form. Returns the record or None."""
        try:
            return call(form.to_data())
        except ValidationError as exc:
            form.apply_service_errors(exc)
        except FieldPermissionDenied as exc:
            form.place_error(exc.field, [str(exc.message)])
        return None

    def render_form(self, form, obj=None, **extra):
        context = self.base_context(form=form, object=obj, **extra)
        return render(self.request, self.template("form"), context)

    def duplicates(self, form, obj=None) -> list:
        """Likely duplicates to confirm before saving (none once "Save anyway" is sent)."""
        if self.request.POST.get("confirm_duplicates"):
            return []
        return self.entity.likely_duplicates(
            self.request.user,
            form.to_data(),
            exclude_pk=obj.pk if obj else None,
            instance=obj,
        )


class EntityCreateView(EntityFormMixin, KitView):
    def get(self, request):
        self.require("add")
        return self.render_form(self.form_class(user=request.user))

    def post(self, request):
        self.require("add")
        form = self.form_class(request.POST, request.FILES, user=request.user)
        if form.is_valid() and (duplicates := self.duplicates(form)):
            return self.render_form(form, duplicates=duplicates)
        create = self.entity.create_service
        obj = form.is_valid() and self.save(
            form, lambda data: create(actor=request.user, data=data)
        )
        if not obj:
            return self.render_form(form)
        messages.success(request, _("“%s” created.") % obj)
        return redirect(self.entity.get_absolute_url(obj))


class EntityEditView(EntityFormMixin, KitView):
    def get(self, request, pk: int):
        obj = self.get_visible(pk, detail=True)
        self.require("change", obj)
        return self.render_form(self.form_class(user=request.user, instance=obj), obj)

    def post(self, request, pk: int):
        obj = self.get_visible(pk, detail=True)
        self.require("change", obj)
        form = self.form_class(request.POST, request.FILES, user=request.user, instance=obj)
        version = form.data.get("version")

        def update(data):
            return update_record(
                self.entity,
                actor=request.user,
                obj=obj,
                data=data,
                expected_version=int(version) if str(version).isdigit() else obj.version,
            )

        if form.is_valid() and (duplicates := self.duplicates(form, obj)):
            return self.render_form(form, obj, duplicates=duplicates)
        try:
            saved = form.is_valid() and self.save(form, update)
        except ConflictError as exc:
            conflicts = form.conflicts_with(exc.current)
            form.data = form.data.copy()
            form.data["version"] = exc.current_version  # saving again overwrites, knowingly
            return self.render_form(
                form, obj, conflicts=conflicts, current_version=exc.current_version
            )
        if not saved:
            return self.render_form(form, obj)
        messages.success(request, _("“%s” saved.") % saved)
        return redirect(self.entity.get_absolute_url(saved))


class EntityDeleteView(KitView):
    def post(self, request, pk: int):
        obj = self.get_visible(pk)
        services.trash(actor=request.user, obj=obj)
        messages.success(
            request,
            _("“%s” moved to the trash.") % obj,
            extra_tags=f"undo:{self.url('restore', obj.pk)}",
        )
        return redirect(self.url("list"))


class EntityRestoreView(KitView):
    def post(self, request, pk: int):
        obj = self.get_visible(pk, trashed=True)
        restored = services.restore(actor=request.user, obj=obj)
        messages.success(request, _("“%s” restored.") % restored)
        return redirect(self.entity.get_absolute_url(restored))
