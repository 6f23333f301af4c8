"""The base FilterSet every entity's filters extend.

One FilterSet per entity serves the UI list, the API list, exports and saved views.
It adds the filters every TrackedModel shares (owner incl. "me", team, tag, created
and updated ranges, trash), one filter per custom field (`cf_<slug>`), and rejects
unknown keys so a typo is an error instead of an unfiltered list.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.api.schemas import MAX_ID
from rapport.core.models import CustomFieldDefinition

# Parameters that are not filters but travel with list requests.
RESERVED = frozenset({"ordering", "cursor", "limit", "columns", "view", "page", "format"})


class MultiValueCharFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """Repeated parameters OR: ?tag=a&tag=b (also a,b)."""


class LocalDateTimeFilter(django_filters.DateTimeFilter):
    """A zone-less date means midnight in the user's time zone."""

    field_class = forms.CharField

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        return super().filter(qs, parse_moment(value, self.field_name))


def parse_moment(value: str, field: str) -> datetime.datetime:
    text = str(value).strip()
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(
            {field: [_("Enter a date as YYYY-MM-DD or an ISO 8601 time.")]}
        ) from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _is_id(text: str) -> bool:
    """ASCII digits naming a 64-bit id ("²".isdigit() is true, but int() refuses it)."""
    return text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID


def is_id_filter(flt) -> bool:
    """A number filter on a foreign key (`parent_id`): its values are record ids."""
    return isinstance(flt, django_filters.NumberFilter) and "_id" in (flt.field_name or "")


class EntityFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    owner = django_filters.CharFilter(method="filter_owner", label=_("Owner"))
    team = MultiValueCharFilter(method="filter_team", label=_("Team"))
    tag = django_filters.CharFilter(method="filter_tag", label=_("Tag"))
    created_after = django_filters.CharFilter(
        method="filter_created_after", label=_("Created after")
    )
    created_before = django_filters.CharFilter(
        method="filter_created_before", label=_("Created before")
    )
    updated_after = django_filters.CharFilter(
        method="filter_updated_after", label=_("Updated after")
    )
    updated_before = django_filters.CharFilter(
        method="filter_updated_before", label=_("Updated before")
    )

    entity_key: str = ""

    def __init__(self, data=None, queryset=None, *, request=None, user=None, prefix=None):
        self.user = user if user is not None else getattr(request, "user", None)
        self._raw = data
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        for flt in self.filters.values():
            if is_id_filter(flt):  # an id past 64 bits is a 400, not a database overflow
                flt.extra.update(min_value=1, max_value=MAX_ID, decimal_places=0)
        for definition in CustomFieldDefinition.objects.filter(entity=self.entity_key):
            self.filters[f"cf_{definition.slug}"] = django_filters.CharFilter(
                method="filter_custom", label=definition.label, field_name=definition.slug
            )

    # --- strictness ------------------------------------------------------------------
    def unknown_keys(self) -> list[str]:
        keys = list(self._raw.keys()) if self._raw is not None else []
        return [k for k in keys if k not in self.filters and k not in RESERVED]

    @classmethod
    def param_names(cls) -> list[str]:
        return list(cls.base_filters)

    def _values(self, name: str) -> list[str]:
        if self._raw is None:
            return []
        getter = getattr(self._raw, "getlist", None)
        raw = getter(name) if getter else [self._raw.get(name)]
        values: list[str] = []
        for item in raw:
            if item is None:
                continue
            items = item if isinstance(item, list | tuple) else str(item).split(",")
            values.extend(str(v).strip() for v in items if str(v).strip())
        return values

    # --- shared filters --------------------------------------------------------------
    def filter_q(self, qs, name, value):
        from rapport.core import search

        return search.filter_queryset(qs, value)

    def filter_owner(self, qs, name, value):
        ids: list[int] = []
        for item in self._values("owner"):
            if item == "me" and self.user is not None and self.user.is_authenticated:
                ids.append(self.user.pk)
            elif _is_id(item):
                ids.append(int(item))
            else:
                raise ValidationError({"owner": [_("Use a user id or “me”.")]})
        return qs.filter(owner_id__in=ids)

    def filter_team(self, qs, name, value):
        ids = []
        for item in self._values("team"):
            if not _is_id(item):
                raise ValidationError({"team": [_("Use a team id.")]})
            ids.append(int(item))
        return qs.filter(team_id__in=ids)

    def filter_tag(self, qs, name, value):
        names = self._values("tag")
        from django.db.models import Q

        condition = Q()
        for tag in names:
            condition |= Q(tags__name__iexact=tag)
        return qs.filter(pk__in=qs.model.all_objects.filter(condition).values("pk"))

    def filter_created_after(self, qs, name, value):
        return qs.filter(created_at__gte=parse_moment(value, "created_after"))

    def filter_created_before(self, qs, name, value):
        return qs.filter(created_at__lt=parse_moment(value, "created_before"))

    def filter_updated_after(self, qs, name, value):
        return qs.filter(updated_at__gte=parse_moment(value, "updated_after"))

    def filter_updated_before(self, qs, name, value):
        return qs.filter(updated_at__lt=parse_moment(value, "updated_before"))

    def filter_custom(self, qs, name, value):
        slug = name.removeprefix("cf_")
        definition = CustomFieldDefinition.objects.filter(entity=self.entity_key, slug=slug).first()
        if definition is None:
            return qs
        key = f"custom_fields__{slug}"
        kind = definition.kind
        if kind == CustomFieldDefinition.Kind.BOOLEAN:
            return qs.filter(**{key: str(value).lower() in {"1", "true", "yes", "on"}})
        if kind == CustomFieldDefinition.Kind.NUMBER:
            try:
                number = float(value)
            except ValueError as exc:
                raise ValidationError({name: [_("Enter a number.")]}) from exc
            return qs.filter(**{key: int(number) if number.is_integer() else number})
        if kind == CustomFieldDefinition.Kind.MULTI_CHOICE:
            return qs.filter(**{f"{key}__icontains": f'"{value}"'})
        if kind == CustomFieldDefinition.Kind.TEXT:
            return qs.filter(**{f"{key}__icontains": value})
        return qs.filter(**{key: value})
