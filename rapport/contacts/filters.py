"""Filters for people and companies: the vocabulary of UI lists, API lists and exports."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, F, Func, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from rapport.contacts.models import Company, Person, PhoneNumber, PhoneTail, SecondDomain
from rapport.core.filters import EntityFilterSet, among, equal
from rapport.core.text import digits


class _HasDomain(Func):
    """Whether the JSON list (a company's `domains`) holds the string, whole."""

    output_field = BooleanField()
    conditional = True

    def as_sql(self, compiler, connection, **extra_context):
        (items, items_params), (value, value_params) = (
            compiler.compile(e) for e in self.source_expressions
        )
        return f"{items} @> jsonb_build_array({value}::text)", [*items_params, *value_params]

    def as_sqlite(self, compiler, connection, **extra_context):
        (items, items_params), (value, value_params) = (
            compiler.compile(e) for e in self.source_expressions
        )
        # Both parts are compiled expressions; the domain itself is a parameter.
        sql = f"EXISTS (SELECT 1 FROM json_each({items}) WHERE json_each.value = {value})"  # noqa: S608  # nosec B608
        return sql, [*items_params, *value_params]


class PersonFilterSet(EntityFilterSet):
    entity_key = "person"

    company = django_filters.CharFilter(method="filter_company", label=_("Company"))
    email = django_filters.CharFilter(method="filter_email", label=_("Email"))
    phone = django_filters.CharFilter(method="filter_phone", label=_("Phone"))
    group = django_filters.CharFilter(method="filter_group", label=_("Group"))
    source = django_filters.CharFilter(method="filter_source", label=_("Source"))
    language = django_filters.CharFilter(method="filter_language", label=_("Language"))

    class Meta:
        model = Person
        fields: list[str] = []

    def filter_company(self, qs, name, value):
        ids = []
        for item in self._values("company"):
            if not item.isdigit():
                raise ValidationError({"company": [_("Use a company id.")]})
            ids.append(int(item))
        return qs.filter(
            pk__in=Person.all_objects.filter(employments__company_id__in=ids).values("pk")
        )

    def filter_email(self, qs, name, value):
        return qs.filter(
            pk__in=Person.all_objects.filter(emails__normalized=value.strip().lower()).values("pk")
        )

    def filter_phone(self, qs, name, value):
        tail = digits(value)
        if len(tail) < 4:
            raise ValidationError({"phone": [_("Enter at least four digits.")]})
        if len(tail) >= 9:  # the last nine digits, from their index (`phone_tail_idx`)
            numbers = PhoneNumber.objects.filter(Exact(PhoneTail("number"), tail[-9:]))
        else:  # a shorter tail: the numbers ending with its last four (`phone_tail4_idx`)
            numbers = PhoneNumber.objects.filter(
                Exact(PhoneTail("number", 4), tail[-4:]), number__endswith=tail
            )
        return qs.filter(pk__in=numbers.filter(person__isnull=False).values("person_id"))

    def filter_source(self, qs, name, value):
        # in any letter case, by the lower-cased index (`person_source_idx`)
        return equal(qs, Lower("source"), Lower(Value(value)), index="person_source_idx")

    def filter_language(self, qs, name, value):
        return equal(qs, F("language"), value, index="person_language_idx")

    def filter_group(self, qs, name, value):
        return qs.filter(pk__in=Person.all_objects.filter(groups__name__iexact=value).values("pk"))


class CompanyFilterSet(EntityFilterSet):
    entity_key = "company"

    domain = django_filters.CharFilter(method="filter_domain", label=_("Domain"))
    industry = django_filters.CharFilter(method="filter_industry", label=_("Industry"))
    size = django_filters.MultipleChoiceFilter(choices=Company.Size.choices, label=_("Size"))
    parent = django_filters.NumberFilter(
        method="filter_parent", field_name="parent_id", label=_("Parent company")
    )

    class Meta:
        model = Company
        fields: list[str] = []

    def filter_industry(self, qs, name, value):
        # in any letter case, by the lower-cased index (`company_industry_idx`)
        return equal(qs, Lower("industry"), Lower(Value(value)), index="company_industry_idx")

    def filter_parent(self, qs, name, value):
        return equal(qs, F("parent"), int(value))

    def filter_domain(self, qs, name, value):
        """Companies with `value` among their domains: the first one by its column's
        index, the others among the few companies that have a second domain
        (`company_second_domain_idx`); never a parse of every company's list."""
        from rapport.contacts.services import normalize_domain

        domain = normalize_domain(value)
        companies = Company._base_manager.using(qs.db).values("pk")
        first = companies.filter(primary_domain=domain)
        others = companies.alias(second=SecondDomain("domains")).filter(
            _HasDomain(F("domains"), Value(domain)), second__gt=""
        )
        return among(qs, (first, None), (others, "company_second_domain_idx"))
