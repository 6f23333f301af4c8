"""Form plumbing the entity kit shares: repeated rows, custom fields, ownership, errors.

Forms only parse and display. They turn POST data into the `data` dict an entity's
service takes, and put the service's ValidationError (keys such as
"emails.1.address" or "custom_fields.size") next to the field it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rapport.accounts.models import Team
from rapport.core import customfields, permissions
from rapport.core.models import CustomFieldDefinition

Kind = CustomFieldDefinition.Kind


# --- repeated rows --------------------------------------------------------------------


@dataclass(frozen=True)
class RowField:
    name: str
    label: Any
    kind: str = "text"  # text, email, tel, url, select, primary (one radio per set)
    choices: tuple = ()
    placeholder: Any = ""


@dataclass
class Row:
    index: int
    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)


class RowSet:
    """A list of small records (emails, phones, addresses) posted as `<prefix>-<i>-<field>`.

    The service validates the values; the row set only carries them and shows errors.
    Row indexes are kept as posted so "emails.1.address" lands on the second row.
    """

    def __init__(self, prefix: str, fields: list[RowField], *, label, extra: int = 1):
        self.prefix = prefix
        self.fields = fields
        self.label = label
        self.extra = extra
        self.rows: list[Row] = []
        self.errors: list[str] = []

    @property
    def primary_field(self) -> str | None:
        return next((f.name for f in self.fields if f.kind == "primary"), None)

    def load_initial(self, items: list[dict]) -> None:
        self.rows = [Row(i, dict(item)) for i, item in enumerate(items)]
        self._pad()

    def load_post(self, data) -> None:
        count = _int(data.get(f"{self.prefix}-count"), 0)
        primary = data.get(f"{self.prefix}-primary")
        self.rows = []
        for i in range(min(count, 100)):
            values = {}
            for f in self.fields:
                if f.kind == "primary":
                    values[f.name] = primary == str(i)
                else:
                    values[f.name] = str(data.get(f"{self.prefix}-{i}-{f.name}", "")).strip()
            self.rows.append(Row(i, values))

    def _pad(self) -> None:
        start = len(self.rows)
        for i in range(start, start + self.extra):
            self.rows.append(
                Row(i, {f.name: (False if f.kind == "primary" else "") for f in self.fields})
            )

    def value(self) -> list[dict]:
        """All rows in posted order (blank ones too, so indexes match service errors)."""
        return [dict(row.values) for row in self.rows]

    def add_error(self, index: int, name: str | None, messages: list[str]) -> bool:
        for row in self.rows:
            if row.index == index:
                row.errors.setdefault(name or "__all__", []).extend(messages)
                return True
        return False

    @property
    def next_index(self) -> int:
        return len(self.rows)

    @property
    def blank_row(self) -> Row:
        return Row(-1, {f.name: "" for f in self.fields})


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- custom fields --------------------------------------------------------------------


def custom_form_field(definition: CustomFieldDefinition) -> forms.Field:
    common = {
        "label": definition.label,
        "required": definition.required,
        "help_text": definition.help_text,
    }
    kind = definition.kind
    if kind == Kind.NUMBER:
        return forms.DecimalField(**common)
    if kind == Kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == Kind.BOOLEAN:
        return forms.NullBooleanField(
            widget=forms.Select(choices=[("unknown", "—"), ("true", _("Yes")), ("false", _("No"))]),
            **{**common, "required": False},
        )
    if kind == Kind.URL:
        return forms.URLField(assume_scheme="https", **common)
    if kind == Kind.CHOICE:
        return forms.ChoiceField(
            choices=[("", "—")] + [(c, c) for c in definition.choices], **common
        )
    if kind == Kind.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=[(c, c) for c in definition.choices],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    return forms.CharField(max_length=2000, **common)


def split_names(text: str) -> list[str]:
    """Comma or newline separated names, blanks dropped."""
    return [part.strip() for part in str(text or "").replace("\n", ",").split(",") if part.strip()]


# --- the base form ---------------------------------------------------------------------


class EntityForm(forms.Form):
    """Base of every entity's create/edit form.

    Subclasses declare plain fields, `entity_key`, `rowsets()` and `to_data()`; this base
    adds the version, owner/team (with the assign permission), custom fields, and maps
    service errors back onto fields and rows.
    """

    entity_key = ""
    personal_fields: tuple[str, ...] = ()
    field_aliases: dict[str, str] = {}  # service field name -> form field name

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user, instance=None, **kwargs):
        self.user = user
        self.instance = instance
        super().__init__(*args, **kwargs)
        self.rowsets = self.make_rowsets()
        if not permissions.has_field_permission(user, permissions.PERSONAL_DATA):
            for name in self.personal_fields:
                self.fields.pop(name, None)
        self._add_ownership_fields()
        self.custom_definitions = customfields.definitions(self.entity_key)
        for definition in self.custom_definitions:
            self.fields[f"cf_{definition.slug}"] = custom_form_field(definition)
        if instance is not None and not self.is_bound:
            self.initial.update(self.initial_from(instance))
            self.initial["version"] = instance.version
        if self.is_bound:
            for rowset in self.rowsets.values():
                rowset.load_post(self.data)
        else:
            for name, rowset in self.rowsets.items():
                rowset.load_initial(self.initial_rows(name, instance))

    # hooks -------------------------------------------------------------------------
    def make_rowsets(self) -> dict[str, RowSet]:
        return {}

    def initial_rows(self, name: str, instance) -> list[dict]:
        return []

    def initial_from(self, instance) -> dict[str, Any]:
        data = {name: getattr(instance, name) for name in self.fields if hasattr(instance, name)}
        if "tags" in self.fields:
            data["tags"] = ", ".join(t.name for t in instance.tags.all())
        for definition in self.custom_definitions:
            data[f"cf_{definition.slug}"] = self._custom_initial(definition, instance)
        if "owner" in self.fields:
            data["owner"] = instance.owner_id
        if "team" in self.fields:
            data["team"] = instance.team_id
        return data

    def to_data(self) -> dict[str, Any]:
        """The service's `data` dict from cleaned_data; every entity form defines it."""
        raise TypeError(f"{type(self).__name__} must define to_data()")

    # shared pieces -----------------------------------------------------------------
    @property
    def sections_custom(self):
        return [self[f"cf_{d.slug}"] for d in self.custom_definitions]

    def _add_ownership_fields(self) -> None:
        if not permissions.can(self.user, self.entity_key, "assign"):
            return
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["owner"] = forms.ModelChoiceField(users, label=_("Owner"), required=False)
        self.fields["team"] = forms.ModelChoiceField(
            Team.objects.order_by("name"), label=_("Team"), required=False
        )

    @staticmethod
    def _custom_initial(definition, instance):
        value = (instance.custom_fields or {}).get(definition.slug)
        if definition.kind == Kind.BOOLEAN:
            return {True: "true", False: "false"}.get(value, "unknown")
        return value

    def common_data(self) -> dict[str, Any]:
        """Owner, team and custom fields in the service's vocabulary."""
        data: dict[str, Any] = {}
        for name in ("owner", "team"):
            if name in self.fields and self.cleaned_data.get(name) is not None:
                data[name] = self.cleaned_data[name]
        if self.custom_definitions:
            values = {}
            for definition in self.custom_definitions:
                value = self.cleaned_data.get(f"cf_{definition.slug}")
                if hasattr(value, "isoformat"):
                    value = value.isoformat()
                values[definition.slug] = value if value not in ("", []) else None
            data["custom_fields"] = values
        return data

    def apply_service_errors(self, exc: ValidationError) -> None:
        """Show each service error next to the field or row it names."""
        messages = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        for key, errors in messages.items():
            self.place_error(key, list(errors))

    def place_error(self, key: str, errors: list[str]) -> None:
        parts = key.split(".")
        parts[0] = self.field_aliases.get(parts[0], parts[0])
        if parts[0] == "custom_fields" and len(parts) > 1 and f"cf_{parts[1]}" in self.fields:
            self.add_error(f"cf_{parts[1]}", errors)
            return
        if parts[0] in self.rowsets:
            rowset = self.rowsets[parts[0]]
            index = _int(parts[1], -1) if len(parts) > 1 else -1
            name = parts[2] if len(parts) > 2 else None
            if not rowset.add_error(index, name, errors):
                rowset.errors.extend(errors)
            return
        if parts[0] in self.fields and parts[0] != "version":
            self.add_error(parts[0], errors)
            return
        self.add_error(None, errors)

    def conflicts_with(self, current) -> list[dict[str, str]]:
        return conflicts_with(self, current)

    @property
    def has_row_errors(self) -> bool:
        return any(r.errors for rs in self.rowsets.values() for r in rs.rows) or any(
            rs.errors for rs in self.rowsets.values()
        )


# --- list pages -----------------------------------------------------------------------


class BulkForm(forms.Form):
    """What the bulk bar posts: selected ids and one action with its value."""

    ACTIONS = [
        ("tag_add", _("Add tags")),
        ("tag_remove", _("Remove tags")),
        ("assign", _("Assign")),
        ("trash", _("Move to trash")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True)
    tags = forms.CharField(required=False)
    owner = forms.IntegerField(required=False)
    team = forms.IntegerField(required=False)
    next = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        posted = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        self.fields["ids"].choices = [(v, v) for v in posted if str(v).isdigit()]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") in {"tag_add", "tag_remove"} and not split_names(
            cleaned.get("tags")
        ):
            self.add_error("tags", _("Enter at least one tag."))
        return cleaned

    def value(self):
        action = self.cleaned_data["action"]
        if action in {"tag_add", "tag_remove"}:
            return split_names(self.cleaned_data["tags"])
        if action == "assign":
            from rapport.accounts.models import User

            owner = self.cleaned_data.get("owner")
            team = self.cleaned_data.get("team")
            return {
                "owner": User.objects.filter(pk=owner, is_active=True).first() if owner else None,
                "team": Team.objects.filter(pk=team).first() if team else None,
            }
        return None


class SavedViewForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("thing", "Name"), max_length=100)
    shared = forms.BooleanField(label=_("Share with everyone"), required=False)
    query = forms.CharField(required=False, widget=forms.HiddenInput)


def _norm(value) -> str:
    if value is None or value is False:
        return ""
    if hasattr(value, "pk"):
        return str(value.pk)
    if isinstance(value, list | tuple):
        return ", ".join(_norm(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def conflicts_with(form: EntityForm, current) -> list[dict[str, str]]:
    """Fields where the submitted value differs from the record as it is now."""
    theirs = form.initial_from(current)
    rows = []
    for name, bound in form.fields.items():
        if name in {"version", "photo"} or name not in form.cleaned_data:
            continue
        mine = form.cleaned_data.get(name)
        now = theirs.get(name)
        if _norm(mine) != _norm(now):
            rows.append(
                {
                    "label": str(bound.label or name),
                    "yours": _norm(mine) or "—",
                    "current": _norm(now) or "—",
                }
            )
    for name, rowset in form.rowsets.items():
        key = rowset.fields[0].name
        mine = [r[key] for r in rowset.value() if r.get(key)]
        now = [r.get(key) for r in form.initial_rows(name, current) if r.get(key)]
        if mine != now:
            rows.append(
                {
                    "label": str(rowset.label),
                    "yours": ", ".join(mine) or "—",
                    "current": ", ".join(map(str, now)) or "—",
                }
            )
    return rows
