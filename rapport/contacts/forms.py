"""Create/edit forms for people and companies: parse input into the services' `data`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rapport.contacts.models import Company, FamilyStatus, Gender, IncomeBand, SocialNetwork
from rapport.core.forms import EntityForm, RowField, RowSet, split_names

EMAIL_FIELDS = [
    RowField("address", _("Email"), "email", placeholder="name@example.com"),
    RowField("label", _("Label"), placeholder=_("work, home…")),
    RowField("primary", _("Primary"), "primary"),
]
PHONE_FIELDS = [
    RowField("number", _("Phone"), "tel", placeholder="+380 44 123 4567"),
    RowField("label", _("Label"), placeholder=_("mobile, office…")),
]
ADDRESS_FIELDS = [
    RowField("street", _("Street")),
    RowField("city", _("City")),
    RowField("postal_code", _("Postal code")),
    RowField("region", _("Region")),
    RowField("country", _("Country")),
    RowField("label", _("Label")),
]
SOCIAL_FIELDS = [
    RowField("handle", _("Handle")),
    RowField("network", _("Network"), "select", tuple(SocialNetwork.choices)),
    RowField("url", _("Profile URL"), "url", placeholder="https://"),
]


# Photos are shown in browsers: only the web's picture formats, and a size that a
# contact's picture needs (RAPPORT_PHOTO_MAX_BYTES overrides it).
PHOTO_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})
PHOTO_MAX_BYTES = 5 * 1024 * 1024


def clean_photo(photo):
    """Refuse a picture that is too big or not JPEG/PNG/GIF/WebP (Pillow has already
    checked it is a picture at all, including its decompression-bomb limit)."""
    if not photo:
        return photo
    limit = int(getattr(settings, "RAPPORT_PHOTO_MAX_BYTES", PHOTO_MAX_BYTES))
    if photo.size > limit:
        raise forms.ValidationError(
            _("The photo is too big (at most %(size)s KB).") % {"size": limit // 1024}
        )
    if getattr(getattr(photo, "image", None), "format", None) not in PHOTO_FORMATS:
        raise forms.ValidationError(_("Use a JPEG, PNG, GIF or WebP picture."))
    return photo


def _choices(enum) -> list[tuple[str, Any]]:
    return [("", "—"), *enum.choices]


def _lines(values) -> str:
    return "\n".join(values or [])


class PersonForm(EntityForm):
    entity_key = "person"
    personal_fields = ("birthday", "gender", "family_status", "income_band")
    field_aliases = {"prefix": "prefix_name"}

    prefix_name = forms.CharField(label=_("Prefix"), max_length=20, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    middle_name = forms.CharField(label=_("Middle name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    suffix = forms.CharField(label=_("Suffix"), max_length=20, required=False)
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate with commas."))
    groups = forms.CharField(
        label=_("Groups"), required=False, help_text=_("Separate with commas.")
    )
    websites = forms.CharField(
        label=_("Websites"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line."),
    )
    language = forms.CharField(label=_("Language"), max_length=10, required=False)
    time_zone = forms.CharField(label=_("Time zone"), max_length=64, required=False)
    source = forms.CharField(label=_("Source"), max_length=100, required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    photo = forms.ImageField(label=_("Photo"), required=False)
    birthday = forms.DateField(
        label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    gender = forms.ChoiceField(label=_("Gender"), choices=_choices(Gender), required=False)
    family_status = forms.ChoiceField(
        label=_("Family status"), choices=_choices(FamilyStatus), required=False
    )
    income_band = forms.ChoiceField(
        label=_("Income band"), choices=_choices(IncomeBand), required=False
    )

    def clean_photo(self):
        return clean_photo(self.cleaned_data.get("photo"))

    def make_rowsets(self):
        return {
            "emails": RowSet("emails", EMAIL_FIELDS, label=_("Emails"), extra=2),
            "phones": RowSet("phones", PHONE_FIELDS, label=_("Phones"), extra=1),
            "addresses": RowSet("addresses", ADDRESS_FIELDS, label=_("Addresses"), extra=1),
            "social_profiles": RowSet(
                "social_profiles", SOCIAL_FIELDS, label=_("Social profiles"), extra=1
            ),
        }

    def initial_rows(self, name, instance):
        if instance is None:
            return []
        if name == "emails":
            return [
                {"address": e.address, "label": e.label, "primary": e.primary}
                for e in instance.emails.all()
            ]
        if name == "phones":
            return [{"number": p.number, "label": p.label} for p in instance.phones.all()]
        return list(getattr(instance, name) or [])

    def initial_from(self, instance):
        data = super().initial_from(instance)
        data["prefix_name"] = instance.prefix
        data["groups"] = ", ".join(g.name for g in instance.groups.all())
        data["websites"] = _lines(instance.websites)
        data["photo"] = None
        return data

    def to_data(self) -> dict[str, Any]:
        c = self.cleaned_data
        data: dict[str, Any] = {
            "prefix": c["prefix_name"],
            **{k: c[k] for k in ("first_name", "middle_name", "last_name", "suffix")},
            **{k: c[k] for k in ("language", "time_zone", "source", "notes")},
            "tags": split_names(c["tags"]),
            "groups": split_names(c["groups"]),
            "websites": [w.strip() for w in c["websites"].splitlines() if w.strip()],
        }
        for name, rowset in self.rowsets.items():
            data[name] = rowset.value()
        for name in self.personal_fields:
            if name in self.fields:
                data[name] = c.get(name) or None if name == "birthday" else c.get(name, "")
        if c.get("photo"):
            data["photo"] = c["photo"]
        data.update(self.common_data())
        return data


class CompanyForm(EntityForm):
    entity_key = "company"

    name = forms.CharField(label=pgettext_lazy("thing", "Name"), max_length=200)
    legal_name = forms.CharField(label=_("Legal name"), max_length=250, required=False)
    registration_id = forms.CharField(label=_("Registration id"), max_length=50, required=False)
    vat_id = forms.CharField(label=_("VAT id"), max_length=50, required=False)
    domains = forms.CharField(
        label=_("Domains"),
        required=False,
        help_text=_("Separate with commas; the first is the main one."),
    )
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    size = forms.ChoiceField(
        label=_("Size"), choices=[("", "—"), *Company.Size.choices], required=False
    )
    annual_revenue = forms.DecimalField(
        label=_("Annual revenue"), max_digits=18, decimal_places=2, required=False
    )
    revenue_currency = forms.CharField(
        label=_("Currency"), max_length=3, required=False, help_text="EUR, USD, UAH…"
    )
    parent = forms.ModelChoiceField(
        Company.objects.none(), label=_("Parent company"), required=False
    )
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate with commas."))
    websites = forms.CharField(
        label=_("Websites"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line."),
    )

    def __init__(self, *args, user, instance=None, **kwargs):
        super().__init__(*args, user=user, instance=instance, **kwargs)
        companies = Company.objects.restrict(user, "view").order_by("sort_key", "id")
        if instance is not None:
            companies = companies.exclude(pk=instance.pk)
        self.fields["parent"].queryset = companies  # validates any visible company
        self.fields["parent"].widget.choices = self._parent_choices(companies, instance)

    def _parent_choices(self, companies, instance):
        """The select lists the first 200 by name plus the current parent."""
        shown = list(companies[:200])
        if instance is not None and instance.parent_id and instance.parent not in shown:
            shown.insert(0, instance.parent)
        return [("", "—")] + [(c.pk, c.name) for c in shown]

    def make_rowsets(self):
        return {
            "phones": RowSet("phones", PHONE_FIELDS, label=_("Phones"), extra=1),
            "addresses": RowSet("addresses", ADDRESS_FIELDS, label=_("Addresses"), extra=1),
        }

    def initial_rows(self, name, instance):
        if instance is None:
            return []
        if name == "phones":
            return [{"number": p.number, "label": p.label} for p in instance.phones.all()]
        return list(instance.addresses or [])

    def initial_from(self, instance):
        data = super().initial_from(instance)
        data["domains"] = ", ".join(instance.domains or [])
        data["websites"] = _lines(instance.websites)
        data["parent"] = instance.parent_id
        return data

    def to_data(self) -> dict[str, Any]:
        c = self.cleaned_data
        keys = (
            "name",
            "legal_name",
            "registration_id",
            "vat_id",
            "industry",
            "size",
            "annual_revenue",
            "revenue_currency",
        )
        data: dict[str, Any] = {k: c[k] for k in keys}
        data.update(
            domains=split_names(c["domains"]),
            parent=c["parent"],
            tags=split_names(c["tags"]),
            websites=[w.strip() for w in c["websites"].splitlines() if w.strip()],
        )
        for name, rowset in self.rowsets.items():
            data[name] = rowset.value()
        data.update(self.common_data())
        return data
