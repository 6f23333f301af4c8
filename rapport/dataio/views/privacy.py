"""Pages for a person's data-protection requests: download everything held about them
(a JSON file) and erase them after an explicit confirmation."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from rapport.contacts.models import Person
from rapport.dataio.privacy import (
    confirmation_matches,
    may_erase,
    subject_export,
    subjects_visible_to,
)
from rapport.dataio.privacy_erase import MAX_REASON, person_erase


class ErasureForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is this person's data erased?"),
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3, "class": "input"}),
        help_text=gettext_lazy("For example: the person asked for erasure on 2 May by email."),
    )
    confirm = forms.CharField(
        label=gettext_lazy("Type the record's id to confirm"),
        max_length=30,
        widget=forms.TextInput(attrs={"class": "input", "autocomplete": "off"}),
    )

    def __init__(self, *args, person: Person, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = person

    def clean_confirm(self):
        value = self.cleaned_data["confirm"]
        if not confirmation_matches(self.person, value):
            raise ValidationError(_("Type %(id)s to confirm the erasure.") % {"id": self.person.pk})
        return value


def _person(request, pk: int) -> Person:
    return get_object_or_404(subjects_visible_to(request.user), pk=pk)


@login_required
@require_GET
def export_view(request, pk: int):
    person = _person(request, pk)
    document = subject_export(actor=request.user, person=person)
    response = HttpResponse(
        json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="person-{person.pk}-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def erase_view(request, pk: int):
    person = _person(request, pk)
    if not may_erase(request.user, person):
        raise PermissionDenied("erase")
    form = ErasureForm(request.POST or None, person=person)
    if request.method == "POST" and form.is_valid():
        try:
            person_erase(actor=request.user, person=person, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request,
                _("The personal data of record #%(id)s was erased.") % {"id": person.pk},
            )
            if person.deleted_at is not None:  # erased in the trash: it stays there
                return redirect("core:trash")
            return redirect("people:detail", person.pk)
    return render(request, "dataio/privacy_erase.html", {"form": form, "object": person})


urlpatterns = [
    path("person/<int:pk>/export.json", export_view, name="subject_export"),
    path("person/<int:pk>/erase/", erase_view, name="person_erase"),
]
