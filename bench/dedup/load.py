"""Loading a generated dataset fast: raw `executemany` with the keys the services store.

At a million rows the full services (validation, audit, search index per row) would
take longer than the scan being measured, and even `bulk_create` spends most of its
time building model instances. So each table gets one template row of database values
made from a default model instance (`get_db_prep_save`, as Django would write it), and
every row only substitutes what varies: explicit ids, names, the folded sort key, the
match key, lower-cased email, E.164 phone (numbers typed in national formats are parsed
as the service would), primary email/phone and employer. Sequences are reset afterwards
on PostgreSQL.
"""

from __future__ import annotations

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from bench.dedup.generate import Dataset
from rapport.contacts.models import Company, EmailAddress, Person, PhoneNumber
from rapport.core import phones as phone_numbers
from rapport.core.matching import company_match_key, person_match_key
from rapport.core.text import fold

BATCH = 10_000
REGIONS = {"en": "US", "uk": "UA", "ru": "RU", "pl": "PL"}


def _e164(raw: str, locale: str) -> str:
    if raw.startswith("+"):
        return raw
    return phone_numbers.to_e164(raw, region=REGIONS[locale])


class Inserter:
    """INSERTs into one model's table: defaults from a template instance, overrides per row."""

    def __init__(self, model, template, varying: list[str]):
        fields = model._meta.concrete_fields
        self.names = [f.attname for f in fields]
        self.defaults = [
            f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields
        ]
        self.slots = [self.names.index(name) for name in varying]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        self.sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
        self.rows: list[list] = []

    def add(self, *values) -> None:
        row = list(self.defaults)
        for slot, value in zip(self.slots, values, strict=True):
            row[slot] = value
        self.rows.append(row)

    def flush(self, cursor) -> None:
        if self.rows:
            cursor.executemany(self.sql, self.rows)
            self.rows = []


def _next_id(model) -> int:
    last = model._base_manager.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def load(data: Dataset, *, owner, team) -> list[int]:
    """Insert companies and people; returns the person id of every row, in order."""
    now = timezone.now()
    stamp = {"owner": owner, "team": team, "created_at": now, "updated_at": now}
    companies = Inserter(Company, Company(**stamp), ["id", "name", "sort_key", "match_key"])
    people = Inserter(
        Person,
        Person(**stamp),
        [
            "id",
            "first_name",
            "last_name",
            "sort_key",
            "match_key",
            "primary_email",
            "primary_phone",
            "company_id",
        ],
    )
    emails = Inserter(
        EmailAddress,
        EmailAddress(person_id=0, primary=True),
        ["id", "person_id", "address", "normalized", "primary", "position"],
    )
    numbers = Inserter(
        PhoneNumber, PhoneNumber(person_id=0), ["id", "person_id", "number", "position"]
    )
    company_id = _next_id(Company)
    company_ids = list(range(company_id, company_id + len(data.companies)))
    person_id, email_id, phone_id = _next_id(Person), _next_id(EmailAddress), _next_id(PhoneNumber)
    ids: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for pk, name in zip(company_ids, data.companies, strict=True):
            companies.add(pk, name, fold(name)[:200], company_match_key(name))
        companies.flush(cursor)
        for index, row in enumerate(data.rows):
            pk = person_id + index
            ids.append(pk)
            typed = [_e164(p, row.locale) for p in row.phones]
            people.add(
                pk,
                row.first,
                row.last,
                fold(f"{row.last} {row.first}")[:320],
                person_match_key(row.first, row.last),
                row.emails[0] if row.emails else "",
                typed[0] if typed else "",
                company_ids[row.company] if row.company is not None else None,
            )
            for position, address in enumerate(row.emails):
                emails.add(email_id, pk, address, address.lower(), position == 0, position)
                email_id += 1
            for position, number in enumerate(typed):
                numbers.add(phone_id, pk, number, position)
                phone_id += 1
            if len(people.rows) >= BATCH:
                for inserter in (people, emails, numbers):
                    inserter.flush(cursor)
        for inserter in (people, emails, numbers):
            inserter.flush(cursor)
        for sql in connection.ops.sequence_reset_sql(
            no_style(), [Company, Person, EmailAddress, PhoneNumber]
        ):
            cursor.execute(sql)
    return ids
