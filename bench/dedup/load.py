"""Loading a generated dataset fast: bulk inserts with the keys the services would store.

At a million rows the full services (validation, audit, search index per row) would
take longer than the scan being measured, so rows go in through `bulk_create` in
batches with exactly the derived columns the services compute: folded sort key, match
key, lower-cased email, E.164 phone (numbers typed in national formats are parsed as
the service would), primary email/phone and current employer.
"""

from __future__ import annotations

from django.db import transaction

from bench.dedup.generate import Dataset
from rapport.contacts.models import Company, EmailAddress, Person, PhoneNumber
from rapport.core import phones as phone_numbers
from rapport.core.matching import company_match_key, person_match_key
from rapport.core.text import fold

BATCH = 5000
REGIONS = {"en": "US", "uk": "UA", "ru": "RU", "pl": "PL"}


def _e164(raw: str, locale: str) -> str:
    if raw.startswith("+"):
        return raw
    return phone_numbers.to_e164(raw, region=REGIONS[locale])


def load(data: Dataset, *, owner, team) -> list[int]:
    """Insert companies and people; returns the person id of every row, in order."""
    company_ids: list[int] = []
    for start in range(0, len(data.companies), BATCH):
        with transaction.atomic():
            made = Company.objects.bulk_create(
                [
                    Company(
                        name=name,
                        sort_key=fold(name)[:200],
                        match_key=company_match_key(name),
                        owner=owner,
                        team=team,
                    )
                    for name in data.companies[start : start + BATCH]
                ]
            )
        company_ids += [c.pk for c in made]
    ids: list[int] = []
    for start in range(0, len(data.rows), BATCH):
        rows = data.rows[start : start + BATCH]
        people = []
        numbers = []
        for row in rows:
            typed = [_e164(p, row.locale) for p in row.phones]
            numbers.append(typed)
            people.append(
                Person(
                    first_name=row.first,
                    last_name=row.last,
                    sort_key=fold(f"{row.last} {row.first}")[:320],
                    match_key=person_match_key(row.first, row.last),
                    primary_email=row.emails[0] if row.emails else "",
                    primary_phone=typed[0] if typed else "",
                    company_id=company_ids[row.company] if row.company is not None else None,
                    owner=owner,
                    team=team,
                )
            )
        with transaction.atomic():
            Person.objects.bulk_create(people)
            EmailAddress.objects.bulk_create(
                [
                    EmailAddress(
                        person_id=person.pk,
                        address=address,
                        normalized=address.lower(),
                        primary=position == 0,
                        position=position,
                    )
                    for person, row in zip(people, rows, strict=True)
                    for position, address in enumerate(row.emails)
                ]
            )
            PhoneNumber.objects.bulk_create(
                [
                    PhoneNumber(person_id=person.pk, number=number, position=position)
                    for person, typed in zip(people, numbers, strict=True)
                    for position, number in enumerate(typed)
                ]
            )
        ids += [p.pk for p in people]
    return ids
