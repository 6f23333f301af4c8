"""The base FilterSet every entity's filters extend.

One FilterSet per entity serves the UI list, the API list, exports and saved views.
It adds the filters every TrackedModel shares (owner incl. "me", team, tag, created
and updated ranges, trash), one filter per custom field (`cf_<slug>`), and rejects
unknown keys so a typo is an error instead of an unfiltered list.
"""

from __future__ import annotations

import contextlib
import datetime
import functools

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import F, Func, OrderBy
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThan, Lookup
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core import customfields, schema_indexes
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


# --- date ranges on SQLite (decision 0033) ------------------------------------------------
# SQLite as built here keeps no histogram (no STAT4), so its planner cannot tell a week
# of `created_at` from three years: it always reads the range from the created index and
# sorts all of it by name (0.8 s for a year of a 300,000-person team). A range this wide
# or wider is filtered while walking the sort index instead; narrower ones are sorted.
WALK_MIN_ROWS = 600


class WalkOrderIndex(Func):
    """A column that SQLite must not use an index for (`+column`) in a query ordered by
    another column whose index also carries this one: SQLite then walks that index in
    order and checks the range from the index entries, reading only the rows shown.
    Unordered queries (counts), other orderings and other engines get the plain column."""

    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = self.as_sql(compiler, connection, **extra_context)
        column = self.source_expressions[0].target.name
        lead = _order_lead(compiler.query)
        if lead is not None and lead in walkable_orders(compiler.query.model, column):
            sql = f"+{sql}"
        return sql, params


class _RareIn(Lookup):
    """`likelihood(<pk> IN (<ids from one index>), 0.0001)`: SQLite reads the few ids
    from the named index and fetches and sorts their rows, instead of walking the list's
    order index through every row in scope (see `equal`)."""

    lookup_name = "rare_in"
    prepare_rhs = False

    def __init__(self, lhs, sql: str, params: list):
        self.ids_sql, self.ids_params = sql, list(params)
        super().__init__(lhs, None)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = compiler.compile(self.lhs)
        return f"{lhs} IN ({self.ids_sql})", [*lhs_params, *self.ids_params]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = compiler.compile(self.lhs)
        return f"likelihood({lhs} IN ({self.ids_sql}), 0.0001)", [*lhs_params, *self.ids_params]


def _indexed_by(connection, model, sql: str, index: str) -> str:
    """The ORM's `sql` reading `model`'s table through `index` (SQLite's `INDEXED BY`)."""
    table = connection.ops.quote_name(model._meta.db_table)
    return sql.replace(
        f"FROM {table}", f"FROM {table} INDEXED BY {connection.ops.quote_name(index)}", 1
    )


def among(qs, *parts):
    """`qs` limited to the ids the `parts` select, a set known to be small: each part is
    `(ids, index)`, `ids` a queryset of the model's `pk` values and `index` the index it
    reads (forced on SQLite; None: the planner's choice). United in one subquery; on
    SQLite marked as rare, so the list takes those few rows and sorts them instead of
    walking its order index through every row in scope (see `equal`)."""
    connection = connections[qs.db]
    sqls, params = [], []
    for ids, index in parts:
        sql, ids_params = ids.order_by().query.get_compiler(using=qs.db).as_sql()
        if index and connection.vendor == "sqlite":
            sql = _indexed_by(connection, ids.model, sql, index)
        sqls.append(sql)
        params.extend(ids_params)
    return qs.filter(_RareIn(F("pk"), " UNION ".join(sqls), params))


def equal(qs, lhs, value, *, index: str | None = None):
    """`qs` where `lhs` (a column, or the expression `index` holds) equals `value`.

    SQLite as built here keeps no histograms, so it judges `language = 'pl'` by the
    column's average rows per value: it walks the list's order index and reads every
    row in scope looking for the few that match (1.6 s for a rare language in a
    300,000-person team at 1M people), and it may pass over an expression index even
    when told the value is rare. So on SQLite the ids are first counted from `index`
    (named: `INDEXED BY`; by default the plain index on the column `lhs` names), capped
    at WALK_MIN_ROWS; when fewer match, the list takes them from that index and sorts
    them (decision 0042). A value that many rows hold keeps the plain equality, and the
    list walks its order index and stops at a page. PostgreSQL's statistics let its
    planner choose by itself."""
    condition = Exact(lhs, value)
    connection = connections[qs.db]
    if connection.vendor != "sqlite":
        return qs.filter(condition)
    model = qs.model
    if index is None:  # a foreign key's own index (`db_index`)
        index = schema_indexes.field_index_name(connection, model, lhs.name)
        if index is None:
            return qs.filter(condition)
    ids = model._base_manager.using(qs.db).filter(condition).order_by().values("pk")
    sql, params = ids.query.get_compiler(using=qs.db).as_sql()
    sql = _indexed_by(connection, model, sql, index)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql} LIMIT {WALK_MIN_ROWS})", params)  # noqa: S608  # nosec B608 # the ORM's SQL, values as parameters
        rows = cursor.fetchone()[0]
    if rows >= WALK_MIN_ROWS:
        return qs.filter(condition)
    return qs.filter(_RareIn(F("pk"), sql, params))


def _order_lead(query) -> str | None:
    """The field the query's ORDER BY starts with, if it names one."""
    for item in query.order_by:
        expression = item.expression if isinstance(item, OrderBy) else item
        if isinstance(expression, str):
            return expression.lstrip("-")
        if isinstance(expression, F):
            return expression.name
        target = getattr(expression, "target", None)
        return getattr(target, "name", None)
    return None


@functools.cache
def walkable_orders(model, column: str) -> frozenset[str]:
    """Fields whose index (alone or after a foreign key: team, owner) also holds `column`,
    so a walk in that order checks `column` without reading the row."""
    leads: set[str] = set()
    for index in model._meta.indexes:
        names = [name.lstrip("-") for name in index.fields]
        if column not in names[1:]:
            continue
        first = names[0]
        if model._meta.get_field(first).is_relation:
            first = names[1]
        if first != column:
            leads.add(first)
    return frozenset(leads)


@functools.cache
def indexed_leads(model) -> frozenset[str]:
    """Fields an index of `model` is ordered by first (alone or after a foreign key: team,
    owner), and the primary key: orders a query can walk from an index."""
    leads = {model._meta.pk.name}
    for index in model._meta.indexes:
        names = [name.lstrip("-") for name in index.fields]
        if names and model._meta.get_field(names[0]).is_relation:
            names = names[1:]
        if names:
            leads.add(names[0])
    return frozenset(leads)


def _ordering_lead(entity_key: str, raw) -> str | None:
    """The model field a list of `entity_key` sorts by first, as `raw` asks or by default."""
    from rapport.core.registry import registry

    entity = registry.get(entity_key)
    if entity is None:
        return None
    asked = raw.get("ordering") if raw is not None else None
    if isinstance(asked, list | tuple):
        asked = asked[-1] if asked else None
    key = str(asked or entity.default_ordering).split(",")[0].strip().lstrip("-+")
    fields = entity.orderings.get(key) or []
    return fields[0] if fields else None


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

    def __init__(
        self,
        data=None,
        queryset=None,
        *,
        request=None,
        user=None,
        prefix=None,
        given_only: bool = False,
    ):
        """With `given_only`, only the filters `data` names are built (and custom-field
        definitions are read only when a `cf_` key is given): the same rows and the same
        errors, without copying a dozen filters and form fields that would only be
        skipped. Lists use it; a filter panel takes its fields from `panel_fields`."""
        self.user = user if user is not None else getattr(request, "user", None)
        self._raw = data
        keys = frozenset(data.keys()) if given_only and data is not None else None
        if keys is not None:
            self.base_filters = {k: f for k, f in type(self).base_filters.items() if k in keys}
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        for flt in self.filters.values():
            if is_id_filter(flt):  # an id past 64 bits is a 400, not a database overflow
                flt.extra.update(min_value=1, max_value=MAX_ID, decimal_places=0)
        if keys is not None and not any(k.startswith("cf_") for k in keys):
            return
        for definition in customfields.definitions(self.entity_key):
            name = f"cf_{definition.slug}"
            if keys is None or name in keys:
                flt = django_filters.CharFilter(
                    method="filter_custom", label=definition.label, field_name=definition.slug
                )
                flt.parent = self  # what FilterSet.__init__ does for declared filters
                self.filters[name] = flt

    def panel_fields(self) -> list[tuple[str, str]]:
        """(name, label) of every filter the whole form would show, custom fields last,
        whether or not this instance built them (`given_only`)."""
        fields = [(name, str(flt.label)) for name, flt in type(self).base_filters.items()]
        definitions = customfields.definitions(self.entity_key)
        fields += [(f"cf_{d.slug}", d.label) for d in definitions]
        return fields

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

        return search.filter_queryset(qs, value, self.user)

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
        moment = parse_moment(value, "created_after")
        return qs.filter(GreaterThanOrEqual(self._created_column(qs), moment))

    def filter_created_before(self, qs, name, value):
        moment = parse_moment(value, "created_before")
        return qs.filter(LessThan(self._created_column(qs), moment))

    def _created_column(self, qs):
        """`created_at`, or on SQLite for a window too wide to sort, the column as an
        ordered walk reads it (decision 0033). Decided once, for both bounds."""
        if not hasattr(self, "_created_walk"):
            self._created_walk = self._window_is_wide(qs)
        if self._created_walk:
            return WalkOrderIndex(
                F("created_at"), output_field=qs.model._meta.get_field("created_at")
            )
        return F("created_at")

    def _window_is_wide(self, qs) -> bool:
        """Whether the created range holds WALK_MIN_ROWS or more of the rows asked for, on
        SQLite, with the list sorted by a column that an index carrying `created_at`
        serves. One capped count, answered from the created index alone."""
        if connections[qs.db].vendor != "sqlite":
            return False
        if _ordering_lead(self.entity_key, self._raw) not in walkable_orders(
            qs.model, "created_at"
        ):
            return False
        bounds = {}
        for key, lookup in (("created_after", "gte"), ("created_before", "lt")):
            value = self.form.cleaned_data.get(key)
            if value:
                try:
                    bounds[f"created_at__{lookup}"] = parse_moment(value, key)
                except ValidationError:
                    return False  # the filter itself reports it
        from rapport.core.selectors import COUNT_CAP

        # Counted far enough to also be the list's capped count when the range is the
        # only filter (`known_count`): one count instead of two.
        self._window_limit = max(WALK_MIN_ROWS, COUNT_CAP + 1)
        window = qs.filter(**bounds).order_by().values("pk")[: self._window_limit]
        self._window_rows = window.count()
        return self._window_rows >= WALK_MIN_ROWS

    def planned(self):
        """A context for reading this filter set's rows: with the text filter, whose
        best plan depends on what was typed, PostgreSQL plans each statement for its
        values (`search.planned_for_values`); else nothing."""
        from rapport.core import search

        data = getattr(self.form, "cleaned_data", None) or {}
        if not data.get("q"):
            return contextlib.nullcontext()
        return search.planned_for_values(self.queryset.db)

    def known_count(self, cap: int) -> int | None:
        """The filtered rows counted up to `cap + 1` another way than counting the
        list's own query, or None (the caller counts):
        - the text filter alone: from the search index's side, which stops at the cap
          (`search.count_matches`, decision 0047);
        - a created range alone, when its probe already counted exactly those rows, at
          least that far (decision 0033)."""
        given = {k for k, v in self.form.cleaned_data.items() if v not in (None, "", [], ())}
        if given == {"q"}:
            from rapport.core import search

            text = self.form.cleaned_data["q"]
            return search.count_matches(self.queryset, text, cap, self.user)
        rows = getattr(self, "_window_rows", None)
        if rows is None or self._window_limit < cap + 1:
            return None
        if not given <= {"created_after", "created_before"}:
            return None
        return min(rows, cap + 1)

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
                raise ValidationError({f"cf_{slug}": [_("Enter a number.")]}) from exc
            return qs.filter(**{key: int(number) if number.is_integer() else number})
        if kind == CustomFieldDefinition.Kind.MULTI_CHOICE:
            return qs.filter(**{f"{key}__icontains": f'"{value}"'})
        if kind == CustomFieldDefinition.Kind.TEXT:
            return qs.filter(**{f"{key}__icontains": value})
        return qs.filter(**{key: value})
