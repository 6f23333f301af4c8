"""Entity-kit declarations for people and companies."""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rapport.contacts import services
from rapport.contacts.filters import CompanyFilterSet, PersonFilterSet
from rapport.contacts.models import Company, ContactGroup, EmailAddress, Person, PhoneNumber
from rapport.core import permissions, rawvalues
from rapport.core.models import Tag
from rapport.core.registry import Column, Entity, register
from rapport.core.text import digits, fold


class PersonRow:
    """One person as a list page shows it, made from a values() row."""

    FIELDS = (
        "id",
        "prefix",
        "first_name",
        "middle_name",
        "last_name",
        "suffix",
        "primary_email",
        "primary_phone",
        "job_title",
        "birthday",
        "created_at",
        "updated_at",
    )
    JOINED = {
        "owner": ["owner__username", "owner__first_name", "owner__last_name"],
        "team": ["team__name"],
    }

    def __init__(self, values: dict):
        self.__dict__.update(values)
        self.pk = values["id"]
        self.company = values.get("company_label") or ""
        self.team = values.get("team__name") or ""
        full = f"{values.get('owner__first_name') or ''} {values.get('owner__last_name') or ''}"
        self.owner = full.strip() or values.get("owner__username") or ""
        self.tags: list[str] = []

    def __str__(self) -> str:
        parts = [self.prefix, self.first_name, self.middle_name, self.last_name, self.suffix]
        return " ".join(p for p in parts if p) or self.primary_email or f"#{self.pk}"


def _company_name(db: str):
    """The person's company name for a list row. On PostgreSQL a subquery, which it asks
    only for the rows shown (after the sort and LIMIT): joined, a sorted page of a few
    thousand rows (a text filter's matches) was planned as a hash join over every
    company, 43 of its 65 ms at 1M people. SQLite joins row by row either way, and the
    join cost it less (9.4 against 9.9 ms a page)."""
    if connections[db].vendor == "postgresql":
        return Subquery(Company.all_objects.filter(pk=OuterRef("company_id")).values("name")[:1])
    return F("company__name")


@register
class PersonEntity(Entity):
    key = "person"
    model = Person
    verbose_name = _("person")
    verbose_name_plural = _("people")
    url_base = "people"
    icon = "user"
    nav_group = "contacts"
    filterset_class = PersonFilterSet
    columns = [
        Column("name", _("Name"), order="name"),
        Column("company", _("Company")),
        Column("email", _("Email"), order="email"),
        Column("phone", _("Phone")),
        Column("job_title", _("Job title")),
        Column("tags", _("Tags")),
        Column("owner", _("Owner")),
        Column("team", _("Team")),
        Column("birthday", _("Birthday"), order="birthday", personal=True),
        Column("created_at", _("Created"), order="created_at"),
        Column("updated_at", _("Updated"), order="updated_at"),
    ]
    default_columns = ["name", "company", "email", "phone", "owner", "created_at"]
    # Only columns with an index behind them sort (decision 0030): a joined column (company,
    # owner) would sort the whole scope on every page, seconds at a million people.
    orderings = {
        "name": ["sort_key", "id"],
        "email": ["primary_email", "id"],
        "birthday": ["birthday", "id"],
        "created_at": ["created_at", "id"],
        "updated_at": ["updated_at", "id"],
    }
    default_ordering = "name"
    list_page_defer = (
        "addresses",
        "websites",
        "social_profiles",
        "notes",
        "photo",
        "custom_fields",
        "company__domains",
        "company__addresses",
        "company__websites",
        "company__custom_fields",
    )
    personal_fields = frozenset(services.PERSON_PERSONAL)
    create_service = staticmethod(services.person_create)
    update_service = staticmethod(services.person_update)

    @classmethod
    def list_queryset(cls, qs: QuerySet) -> QuerySet:
        return qs.select_related("owner", "team", "company").prefetch_related("tags")

    @classmethod
    def list_page_queryset(cls, qs: QuerySet, column_keys: frozenset[str]) -> QuerySet:
        """Values, not instances: a list page reads a dozen columns of 50 rows, and
        building model instances (with their joined owner, company, team) was most of
        its time."""
        fields = list(PersonRow.FIELDS)
        for key, names in PersonRow.JOINED.items():
            if key in column_keys:
                fields += names
        if "company" in column_keys:
            qs = qs.annotate(company_label=_company_name(qs.db))
            fields.append("company_label")
        return qs.values(*fields)

    @classmethod
    def list_page_rows(cls, items: list, column_keys: frozenset[str]) -> list:
        rows = [PersonRow(item) for item in items]
        if "tags" in column_keys and rows:
            through = Person.tags.through
            names: dict[int, list[str]] = {}
            pairs = (
                through.objects.filter(person_id__in=[r.pk for r in rows])
                .order_by("tag__name")
                .values_list("person_id", "tag__name")
            )
            for person_id, name in pairs:
                names.setdefault(person_id, []).append(name)
            for row in rows:
                row.tags = names.get(row.pk, [])
        return rows

    @classmethod
    def detail_queryset(cls, qs: QuerySet) -> QuerySet:
        return qs.select_related(
            "owner", "team", "company", "created_by", "updated_by"
        ).prefetch_related(
            "tags",
            "groups",
            Prefetch("emails", queryset=EmailAddress.objects.order_by("position", "id")),
            Prefetch("phones", queryset=PhoneNumber.objects.order_by("position", "id")),
        )

    @classmethod
    def detail_page_queryset(cls, qs: QuerySet) -> QuerySet:
        return qs.select_related("owner", "team", "company", "created_by", "updated_by")

    @classmethod
    def detail_page_prefetch(cls, obj: Person) -> None:
        """Emails, phones, tags and groups in one statement (the four prefetches of
        `detail_queryset` were four), in the same order, as rows of those models holding
        the columns the page shows (any other column is read if asked for)."""
        db = obj._state.db
        emails, phones, tags, groups = [], [], [], []
        for kind, pk, position, rid, text, label, primary in _related_rows([obj.pk]):
            if kind == "e":
                values = [rid, pk, text, label, bool(primary), position]
                emails.append(EmailAddress.from_db(db, _EMAIL_FIELDS, values))
            elif kind == "p":
                phones.append(
                    PhoneNumber.from_db(db, _PHONE_FIELDS, [rid, pk, text, label, position])
                )
            elif kind == "t":
                tags.append(Tag.from_db(db, ["id", "name"], [rid, text]))
            else:
                groups.append(ContactGroup.from_db(db, ["id", "name"], [rid, text]))
        _fill_prefetched(obj, "emails", emails)
        _fill_prefetched(obj, "phones", phones)
        _fill_prefetched(obj, "tags", sorted(tags, key=lambda t: (t.name, t.pk)))
        _fill_prefetched(obj, "groups", sorted(groups, key=lambda g: (g.name, g.pk)))

    @classmethod
    def search_document(cls, obj: Person) -> dict[str, str]:
        emails = [e.address for e in obj.emails.all()]
        numbers = [p.number for p in obj.phones.all()]
        company = obj.company.name if obj.company_id and obj.company else ""
        subtitle = " · ".join(x for x in [company, obj.primary_email] if x)
        text = " ".join(
            [obj.full_name, fold(obj.full_name), company, fold(company)]
            + emails
            + [digits(n) for n in numbers]
            + [digits(n)[-9:] for n in numbers]
        )
        return {"title": obj.full_name or obj.primary_email, "subtitle": subtitle, "text": text}

    @classmethod
    def export_value(cls, obj: Person, key: str, user) -> Any:
        if key == "name":
            return obj.full_name
        return super().export_value(obj, key, user)

    # The API list reads values: the same JSON as `serialize`, without building model
    # instances and their joined rows (one query per relation for the whole page).
    API_FIELDS = (
        "id",
        "prefix",
        "first_name",
        "middle_name",
        "last_name",
        "suffix",
        "company_id",
        "job_title",
        "addresses",
        "websites",
        "social_profiles",
        "language",
        "time_zone",
        "source",
        "notes",
        "custom_fields",
        "owner_id",
        "team_id",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
        "birthday",
        "gender",
        "family_status",
        "income_band",
    )

    @classmethod
    def api_list_queryset(cls, qs: QuerySet) -> QuerySet:
        return qs.values(*cls.API_FIELDS)

    @classmethod
    def api_list_fetch(cls, qs: QuerySet) -> list:
        return rawvalues.fetch(qs)

    @classmethod
    def api_list_items(cls, items: list, user) -> list[dict[str, Any]]:
        """`serialize`'s JSON for each raw row (`rawvalues.fetch`) and its related rows."""
        ids = [row["id"] for row in items]
        emails: dict[int, list] = {}
        phones: dict[int, list] = {}
        tags: dict[int, list] = {}
        groups: dict[int, list] = {}
        for kind, pk, _position, _id, text, label, primary in _related_rows(ids):
            if kind == "e":
                emails.setdefault(pk, []).append(
                    {"address": text, "label": label, "primary": bool(primary)}
                )
            elif kind == "p":
                phones.setdefault(pk, []).append({"number": text, "label": label})
            elif kind == "t":
                tags.setdefault(pk, []).append(text)
            else:
                groups.setdefault(pk, []).append(text)
        personal = permissions.has_field_permission(user, permissions.PERSONAL_DATA)
        column = rawvalues.json_column
        moment = rawvalues.json_datetime
        out = []
        for row in items:
            pk = row["id"]
            data = {key: row[key] for key in cls.API_FIELDS[:6]}
            data["emails"] = emails.get(pk, [])
            data["phones"] = phones.get(pk, [])
            data["company"] = row["company_id"]
            data["job_title"] = row["job_title"]
            data["addresses"] = column(row["addresses"])
            data["websites"] = column(row["websites"])
            data["social_profiles"] = column(row["social_profiles"])
            for key in ("language", "time_zone", "source", "notes"):
                data[key] = row[key]
            data["tags"] = sorted(tags.get(pk, []))
            data["groups"] = sorted(groups.get(pk, []))
            data["custom_fields"] = column(row["custom_fields"])
            data["owner"] = row["owner_id"]
            data["team"] = row["team_id"]
            data["version"] = row["version"]
            data["created_at"] = moment(row["created_at"])
            data["updated_at"] = moment(row["updated_at"])
            data["deleted_at"] = moment(row["deleted_at"])
            if personal:
                data["birthday"] = rawvalues.json_date(row["birthday"])
                for key in ("gender", "family_status", "income_band"):
                    data[key] = row[key]
            out.append(data)
        return out

    @classmethod
    def serialize(cls, obj: Person, user) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": obj.pk,
            "prefix": obj.prefix,
            "first_name": obj.first_name,
            "middle_name": obj.middle_name,
            "last_name": obj.last_name,
            "suffix": obj.suffix,
            "emails": [
                {"address": e.address, "label": e.label, "primary": e.primary}
                for e in obj.emails.all()
            ],
            "phones": [{"number": p.number, "label": p.label} for p in obj.phones.all()],
            "company": obj.company_id,
            "job_title": obj.job_title,
            "addresses": obj.addresses,
            "websites": obj.websites,
            "social_profiles": obj.social_profiles,
            "language": obj.language,
            "time_zone": obj.time_zone,
            "source": obj.source,
            "notes": obj.notes,
            "tags": sorted(t.name for t in obj.tags.all()),
            "groups": sorted(g.name for g in obj.groups.all()),
            "custom_fields": obj.custom_fields,
            "owner": obj.owner_id,
            "team": obj.team_id,
            "version": obj.version,
            "created_at": obj.created_at,
            "updated_at": obj.updated_at,
            "deleted_at": obj.deleted_at,
        }
        if permissions.has_field_permission(user, permissions.PERSONAL_DATA):
            data.update(
                birthday=obj.birthday,
                gender=obj.gender,
                family_status=obj.family_status,
                income_band=obj.income_band,
            )
        return data


@register
class CompanyEntity(Entity):
    key = "company"
    model = Company
    verbose_name = _("company")
    verbose_name_plural = _("companies")
    url_base = "companies"
    icon = "building"
    nav_group = "contacts"
    filterset_class = CompanyFilterSet
    columns = [
        Column("name", pgettext_lazy("thing", "Name"), order="name"),
        Column("domain", _("Domain"), order="domain"),
        Column("industry", _("Industry"), order="industry"),
        Column("size", _("Size")),
        Column("phone", _("Phone")),
        Column("tags", _("Tags")),
        Column("owner", _("Owner"), order="owner"),
        Column("team", _("Team")),
        Column("created_at", _("Created"), order="created_at"),
        Column("updated_at", _("Updated"), order="updated_at"),
    ]
    default_columns = ["name", "domain", "industry", "size", "owner", "created_at"]
    orderings = {
        "name": ["sort_key", "id"],
        "domain": ["primary_domain", "id"],
        "industry": ["industry", "id"],
        "owner": ["owner__username", "id"],
        "created_at": ["created_at", "id"],
        "updated_at": ["updated_at", "id"],
    }
    default_ordering = "name"
    create_service = staticmethod(services.company_create)
    update_service = staticmethod(services.company_update)

    @classmethod
    def list_queryset(cls, qs: QuerySet) -> QuerySet:
        return qs.select_related("owner", "team").prefetch_related("tags", "phones")

    @classmethod
    def detail_queryset(cls, qs: QuerySet) -> QuerySet:
        return qs.select_related(
            "owner", "team", "parent", "created_by", "updated_by"
        ).prefetch_related("tags", "phones")

    @classmethod
    def search_document(cls, obj: Company) -> dict[str, str]:
        numbers = [p.number for p in obj.phones.all()]
        text = " ".join(
            [obj.name, fold(obj.name), obj.legal_name, fold(obj.legal_name)]
            + list(obj.domains or [])
            + [digits(n) for n in numbers]
        )
        return {"title": obj.name, "subtitle": obj.primary_domain or obj.industry, "text": text}

    @classmethod
    def serialize(cls, obj: Company, user) -> dict[str, Any]:
        return {
            "id": obj.pk,
            "name": obj.name,
            "legal_name": obj.legal_name,
            "registration_id": obj.registration_id,
            "vat_id": obj.vat_id,
            "domains": obj.domains,
            "industry": obj.industry,
            "size": obj.size,
            "annual_revenue": obj.annual_revenue,
            "revenue_currency": obj.revenue_currency,
            "addresses": obj.addresses,
            "websites": obj.websites,
            "phones": [{"number": p.number, "label": p.label} for p in obj.phones.all()],
            "parent": obj.parent_id,
            "tags": sorted(t.name for t in obj.tags.all()),
            "custom_fields": obj.custom_fields,
            "owner": obj.owner_id,
            "team": obj.team_id,
            "version": obj.version,
            "created_at": obj.created_at,
            "updated_at": obj.updated_at,
            "deleted_at": obj.deleted_at,
        }


def _related_rows(ids: list[int]) -> list[tuple]:
    """(kind, person id, position, id, text, label, primary) of the people's emails ("e")
    and phones ("p") in their order, tags ("t") and groups ("g") by id: one round trip
    for a page of the API list or a person's page, written as SQL because four ORM
    queries cost more to build than to run."""
    if not ids:
        return []
    from django.db import connection

    quote = connection.ops.quote_name
    tag_field, group_field = Person.tags.field, Person.groups.field
    tag_link, group_link = tag_field.remote_field.through, group_field.remote_field.through
    tag_table = tag_field.related_model._meta.db_table
    group_table = group_field.related_model._meta.db_table
    person_col = tag_field.m2m_column_name()
    marks = ", ".join(["%s"] * len(ids))
    sql = (  # emails first: PostgreSQL types the columns from the first branch
        f"SELECT 'e', person_id, position, id, address, label, {quote('primary')} "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
        f"FROM {quote(EmailAddress._meta.db_table)} WHERE person_id IN ({marks}) "
        "UNION ALL SELECT 'p', person_id, position, id, number, label, NULL "
        f"FROM {quote(PhoneNumber._meta.db_table)} WHERE person_id IN ({marks}) "
        f"UNION ALL SELECT 't', l.{person_col}, 0, t.id, t.name, '', NULL "
        f"FROM {quote(tag_link._meta.db_table)} l JOIN {quote(tag_table)} t "
        f"ON t.id = l.{tag_field.m2m_reverse_name()} WHERE l.{person_col} IN ({marks}) "
        f"UNION ALL SELECT 'g', l.{person_col}, 0, g.id, g.name, '', NULL "
        f"FROM {quote(group_link._meta.db_table)} l JOIN {quote(group_table)} g "
        f"ON g.id = l.{group_field.m2m_reverse_name()} WHERE l.{person_col} IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, *ids, *ids, *ids])
        rows = sorted(cursor.fetchall(), key=lambda row: row[:4])  # emails, phones in order
    return rows


def _fill_prefetched(obj, name: str, rows: list) -> None:
    """Set what `obj.<name>.all()` returns, as a prefetch would have."""
    manager = getattr(obj, name)
    cache_name = (
        getattr(manager, "prefetch_cache_name", None) or manager.field.remote_field.cache_name
    )
    if not hasattr(obj, "_prefetched_objects_cache"):
        obj._prefetched_objects_cache = {}
    obj._prefetched_objects_cache.pop(cache_name, None)
    qs = manager.get_queryset()
    qs._result_cache = rows
    qs._prefetch_done = True
    obj._prefetched_objects_cache[cache_name] = qs


_EMAIL_FIELDS = ["id", "person_id", "address", "label", "primary", "position"]
_PHONE_FIELDS = ["id", "person_id", "number", "label", "position"]
