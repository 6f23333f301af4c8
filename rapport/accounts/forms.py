"""Forms of "my profile" and the administration area: they parse and show errors; the
services validate again and write."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.accounts.admin_services import phone_regions, time_zone_names
from rapport.accounts.models import Role, Team, User
from rapport.core import permissions
from rapport.core.models import AuditEvent, CustomFieldDefinition
from rapport.core.registry import registry

INPUT = "input"
SELECT = "input"
CHECKBOX = "checkbox"


class StyledForm(forms.Form):
    """Adds the shared Tailwind component classes to every widget."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                css = CHECKBOX
            elif isinstance(widget, forms.Select):
                css = SELECT
            else:
                css = INPUT
            widget.attrs.setdefault("class", css)

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError next to the fields it names."""
        if hasattr(error, "error_dict"):
            for name, errors in error.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error.messages)


def _language_choices():
    return [("", _("Browser default")), *settings.LANGUAGES]


class ProfileForm(StyledForm):
    language = forms.ChoiceField(label=_("Language"), choices=_language_choices, required=False)
    time_zone = forms.CharField(
        label=_("Time zone"),
        required=False,
        max_length=64,
        help_text=_("A name such as Europe/Kyiv, Europe/Warsaw or UTC."),
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )
    theme = forms.ChoiceField(label=_("Theme"), choices=User.Theme.choices)
    phone_region = forms.CharField(
        label=_("Default phone region"),
        required=False,
        max_length=2,
        help_text=_("Two letters, such as UA or PL: numbers typed without +country use it."),
        widget=forms.TextInput(attrs={"list": "phone-regions", "autocomplete": "off"}),
    )

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"].strip()
        if value and value not in time_zone_names():
            raise ValidationError(_("Choose a time zone such as Europe/Kyiv."))
        return value

    def clean_phone_region(self) -> str:
        value = self.cleaned_data["phone_region"].strip().upper()
        if value and value not in phone_regions():
            raise ValidationError(_("Enter a two-letter country code such as UA or PL."))
        return value


class TokenCreateForm(StyledForm):
    name = forms.CharField(label=_("Token name"), max_length=100, required=False)


class UserCreateForm(StyledForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("Email"), required=False)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("No team")
    )
    role = forms.ModelChoiceField(
        label=_("Role"),
        queryset=Role.objects.all(),
        required=False,
        empty_label=_("No role"),
        help_text=_("Granted on the team chosen above (or on all teams without one)."),
    )
    admin = forms.BooleanField(label=_("Administrator"), required=False)


class TeamCreateForm(StyledForm):
    name = forms.CharField(label=_("Team name"), max_length=100)


class MemberAddForm(StyledForm):
    user = forms.ModelChoiceField(label=_("User"), queryset=User.objects.none())

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (
            User.objects.filter(is_active=True).exclude(memberships__team=team).order_by("username")
        )


class RoleGrantForm(StyledForm):
    user = forms.ModelChoiceField(label=_("Member"), queryset=User.objects.none())
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.all())

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = members.order_by("username")


class GlobalRoleGrantForm(StyledForm):
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.all())
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("All teams")
    )


class FieldGrantForm(StyledForm):
    permission = forms.ChoiceField(
        label=_("Field permission"),
        choices=[(permissions.PERSONAL_DATA, _("Personal data"))],
    )


def _entity_choices():
    return [(e.key, str(e.verbose_name_plural).capitalize()) for e in registry]


class CustomFieldForm(StyledForm):
    entity = forms.ChoiceField(label=_("Entity"), choices=_entity_choices)
    label = forms.CharField(label=_("Label"), max_length=100)
    slug = forms.CharField(
        label=_("Key"),
        max_length=50,
        required=False,
        help_text=_("Used in the API and imports; made from the label when empty. Cannot change."),
    )
    kind = forms.ChoiceField(label=_("Type"), choices=CustomFieldDefinition.Kind.choices)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line; needed for choice and multiple choice fields."),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Help text"), max_length=200, required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0, required=False)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            for name in ("entity", "slug"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    @classmethod
    def initial_for(cls, definition: CustomFieldDefinition) -> dict:
        return {
            "entity": definition.entity,
            "label": definition.label,
            "slug": definition.slug,
            "kind": definition.kind,
            "choices": "\n".join(definition.choices),
            "required": definition.required,
            "help_text": definition.help_text,
            "position": definition.position,
        }


class AuditFilterForm(StyledForm):
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", _("Any action")), *AuditEvent.Action.choices],
    )
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=50)
    object_id = forms.IntegerField(label=_("Object id"), required=False, min_value=1)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_actor(self):
        name = self.cleaned_data["actor"].strip()
        if not name:
            return None
        user = User.objects.filter(username__iexact=name).first()
        if user is None:
            raise ValidationError(_("There is no user with this username."))
        return user

    def filters(self) -> dict:
        """Cleaned values for the selector; dates are whole days in the reader's time zone."""
        data = dict(self.cleaned_data)
        zone = timezone.get_current_timezone()
        for name, days in (("since", 0), ("until", 1)):
            day = data.get(name)
            if day is not None:
                data[name] = datetime.datetime.combine(
                    day + datetime.timedelta(days=days), datetime.time.min, tzinfo=zone
                )
        return data
