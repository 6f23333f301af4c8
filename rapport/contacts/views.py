"""People- and company-specific pages the entity kit does not cover: the extra detail
sections, employment and consent forms, and the permission-checked photo."""

from __future__ import annotations

import mimetypes

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from rapport.contacts import services
from rapport.contacts.models import Company, Consent, Employment, Person
from rapport.core import permissions, prepared


class QuickSelect(forms.Select):
    """A select written in one pass in Python: the stock widget renders a template per
    option, which made 200 companies most of the person page's time."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, mark_safe(" selected") if str(key) in selected else "", label)  # noqa: S308  # nosec B308 B703 # a constant
                for key, label in self.choices
            ),
        )
        final_attrs = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html('<select name="{}"{}>{}</select>', name, final_attrs, options)


class EmploymentForm(forms.Form):
    company = forms.ModelChoiceField(
        Company.objects.none(), label=gettext_lazy("Company"), widget=QuickSelect
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=150, required=False)
    department = forms.CharField(label=gettext_lazy("Department"), max_length=150, required=False)
    start_date = forms.DateField(
        label=gettext_lazy("Start"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end_date = forms.DateField(
        label=gettext_lazy("End"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        companies = Company.objects.restrict(user, "view").order_by("sort_key", "id")
        self.fields["company"].queryset = companies
        self.fields["company"].widget.choices = [("", "—")] + list(
            companies.values_list("pk", "name")[:200]
        )


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=Consent.Channel.choices)
    purpose = forms.CharField(label=gettext_lazy("Purpose"), max_length=100)
    lawful_basis = forms.ChoiceField(
        label=gettext_lazy("Lawful basis"), choices=Consent.LawfulBasis.choices, initial="consent"
    )
    source = forms.CharField(label=gettext_lazy("Source"), max_length=100, required=False)


# --- detail sections ----------------------------------------------------------------------


def person_detail_extra(request, person: Person) -> dict:
    """Employments (company links only where the company is visible) and consents."""
    employments = prepared.fetch(
        Employment,
        "person-page-employments",
        lambda mark: (
            Employment.objects.filter(person_id=mark)
            .select_related("company")
            .order_by("-start_date", "-id")
        ),
        person.pk,
    )
    visible = (
        set(
            Company.objects.restrict(request.user, "view")
            .filter(pk__in=[e.company_id for e in employments])
            .values_list("pk", flat=True)
        )
        if employments
        else set()
    )
    return {
        "photo_url": reverse("people:photo", args=[person.pk]) if person.photo else None,
        "employments": [(e, e.company_id in visible) for e in employments],
        "consents": prepared.fetch(
            Consent,
            "person-page-consents",
            lambda mark: Consent.objects.filter(person_id=mark),  # in the model's order
            person.pk,
        ),
    }


def company_detail_extra(request, company: Company) -> dict:
    """People employed there and subsidiaries, as far as the user may see them."""
    people = Person.objects.restrict(request.user, "view")
    employments = (
        Employment.objects.filter(company=company, person__in=people)
        .select_related("person")
        .order_by("end_date", "-start_date", "-id")[:100]
    )
    subsidiaries = Company.objects.restrict(request.user, "view").filter(parent=company)
    return {
        "staff": list(employments),
        "subsidiaries": list(subsidiaries.order_by("sort_key", "id")[:100]),
    }


# --- employment and consent writes ----------------------------------------------------------


def _person(request, pk: int) -> Person:
    return get_object_or_404(Person.objects.restrict(request.user, "view"), pk=pk)


def _side_form(request, person: Person, make_form, *, action: str, heading: str, submit: str):
    """An add form of the person page, asked for when its section is opened: the bare
    form for the page's HTMX request, a page of its own without JavaScript. Only for
    those who may change the person (the forms' posts check it again in the services)."""
    if not permissions.allows(request.user, "person", "change", person):
        raise Http404  # before the form, whose company picker is a query
    context = {
        "object": person,
        "form": make_form(),
        "action": reverse(action, args=[person.pk]),
        "heading": heading,
        "submit": submit,
    }
    template = "contacts/_side_form.html" if request.htmx else "contacts/side_form_page.html"
    return render(request, template, context)


def _report(request, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        messages.error(
            request, f"{field}: {' '.join(errors)}" if field != "__all__" else " ".join(errors)
        )


@login_required
@require_http_methods(["GET", "POST"])
def employment_add(request, pk: int):
    person = _person(request, pk)
    if request.method == "GET":
        return _side_form(
            request,
            person,
            lambda: EmploymentForm(user=request.user),
            action="people:employment_add",
            heading=_("Add employment"),
            submit=_("Add"),
        )
    form = EmploymentForm(request.POST, user=request.user)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(
                request,
                f"{form.fields[field].label if field in form.fields else ''}: {' '.join(errors)}",
            )
        return redirect("people:detail", person.pk)
    try:
        services.employment_add(actor=request.user, person=person, **form.cleaned_data)
    except ValidationError as exc:
        _report(request, exc)
    else:
        messages.success(request, _("Employment added."))
    return redirect("people:detail", person.pk)


def _employment(request, pk: int, employment_id: int) -> Employment:
    person = _person(request, pk)
    return get_object_or_404(
        Employment.objects.select_related("person", "company"), pk=employment_id, person=person
    )


@login_required
@require_POST
def employment_end(request, pk: int, employment_id: int):
    employment = _employment(request, pk, employment_id)
    services.employment_end(actor=request.user, employment=employment)
    messages.success(request, _("Employment ended."))
    return redirect("people:detail", pk)


@login_required
@require_POST
def employment_remove(request, pk: int, employment_id: int):
    employment = _employment(request, pk, employment_id)
    services.employment_remove(actor=request.user, employment=employment)
    messages.success(request, _("Employment removed."))
    return redirect("people:detail", pk)


@login_required
@require_http_methods(["GET", "POST"])
def consent_record(request, pk: int):
    person = _person(request, pk)
    if request.method == "GET":
        return _side_form(
            request,
            person,
            ConsentForm,
            action="people:consent_record",
            heading=_("Record consent"),
            submit=_("Record"),
        )
    form = ConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a channel and a purpose."))
        return redirect("people:detail", person.pk)
    try:
        services.consent_record(actor=request.user, person=person, **form.cleaned_data)
    except ValidationError as exc:
        _report(request, exc)
    else:
        messages.success(request, _("Consent recorded."))
    return redirect("people:detail", person.pk)


@login_required
@require_POST
def consent_withdraw(request, pk: int, consent_id: int):
    person = _person(request, pk)
    consent = get_object_or_404(
        Consent.objects.select_related("person"), pk=consent_id, person=person
    )
    services.consent_withdraw(actor=request.user, consent=consent)
    messages.success(request, _("Consent withdrawn."))
    return redirect("people:detail", person.pk)


@login_required
def person_photo(request, pk: int):
    """Uploads are served only here, to users who may view the person."""
    person = _person(request, pk)
    if not person.photo:
        raise Http404
    content_type = mimetypes.guess_type(person.photo.name)[0] or "application/octet-stream"
    if not content_type.startswith("image/"):
        raise Http404
    response = FileResponse(person.photo.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
