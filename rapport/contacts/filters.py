"""Filters for people and companies: the vocabulary of UI lists, API lists and exports."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import F, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from rapport.contacts.models import Company, Person, PhoneNumber, PhoneTail
from rapport.core.filters import EntityFilterSet, equal
from rapport.core.text import digits


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
        else:  # a shorter tail is a suffix of that: read the table
            numbers = PhoneNumber.objects.filter(number__endswith=tail)
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
        from rapport.contacts.services import normalize_domain

        domain = normalize_domain(value)
        return qs.filter(primary_domain=domain) | qs.filter(domains__icontains=f'"{domain}"')
