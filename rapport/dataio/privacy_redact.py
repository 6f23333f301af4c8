"""Finding and redacting one person's personal values in text and JSON.

Erasure has to reach copies of a person's data that live outside their record: audit
values, import rows, merge snapshots, free text of related rows. `Needles` collects what
identifies the person *before* the record is blanked; `strong` needles (emails, phone
numbers, full names) are specific enough to be looked for anywhere, `weak` ones (a first
name alone, notes, a street) only in rows that belong to the person, so erasing one
"Anna" never scrubs every other Anna's history.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, TextField
from django.db.models.functions import Cast

from rapport.core.text import digits, fold

ERASED = "[erased]"
MIN_WEAK = 2  # a one-letter initial is no identifier
VARIANTS_PER_QUERY = 40
NAMES = tuple((name, "weak") for name in ("first_name", "middle_name", "last_name"))


def _phone_forms(number: str) -> list[str]:
    """E.164, its digits, and the national digits ("+380671234567", "0671234567")."""
    import phonenumbers

    forms = [number, digits(number)]
    try:
        parsed = phonenumbers.parse(number, None)
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        forms += [national, digits(national)]
    except phonenumbers.NumberParseException:
        pass
    return [f for f in forms if len(digits(f)) >= 6]


@dataclass
class Needles:
    """The identifying strings of one person (and the tombstones merged into them)."""

    strong: set[str] = field(default_factory=set)
    weak: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, people: Iterable) -> Needles:
        needles = cls()
        for person in people:
            needles.add_person(person)
        return needles

    def add_person(self, person) -> None:
        first, middle, last = person.first_name, person.middle_name, person.last_name
        for name in (
            person.full_name,
            " ".join(p for p in (first, last) if p),
            " ".join(p for p in (last, first) if p),
            " ".join(p for p in (first, middle, last) if p),
        ):
            if name and " " in name:
                self.strong.update({name, fold(name)})
        for email in person.emails.all():
            self.strong.update({email.address, email.address.lower()})
        for value in (person.primary_email,):
            if value:
                self.strong.add(value)
        for number in [p.number for p in person.phones.all()] + [person.primary_phone]:
            if number:
                self.strong.update(_phone_forms(number))
        for name in (first, middle, last, person.full_name):
            if name:
                self.weak.update({name, fold(name)})
        if person.notes.strip():
            self.weak.add(person.notes.strip())
            self.weak.update(line.strip() for line in person.notes.splitlines() if line.strip())
        for address in person.addresses or []:
            self.weak.update(str(address.get("street") or "").splitlines())
        for url in person.websites or []:
            self.weak.add(str(url))
        for profile in person.social_profiles or []:
            self.weak.update({str(profile.get("handle") or ""), str(profile.get("url") or "")})
        for value in (person.custom_fields or {}).values():
            if isinstance(value, str) and len(value) >= 4:
                self.weak.add(value)
        self.weak = {w.strip() for w in self.weak if len(w.strip()) >= MIN_WEAK}
        self.strong = {s.strip() for s in self.strong if len(s.strip()) >= 3}

    def add_history(self, events: Iterable) -> None:
        """Values the person held earlier, from their own audit rows: an email replaced
        last year still identifies them wherever it was copied."""
        for event in events:
            for key, kind in (*((k, "strong") for k in ("emails", "phones")), *NAMES):
                for value in _leaves((event.changes or {}).get(key)):
                    if kind == "strong" and key == "phones":
                        self.strong.update(_phone_forms(value))
                    elif kind == "strong":
                        self.strong.add(value)
                    elif len(value.strip()) >= MIN_WEAK:
                        self.weak.add(value.strip())

    def pattern(self, *, strong_only: bool = False) -> re.Pattern | None:
        words = set(self.strong) | (set() if strong_only else self.weak)
        if not words:
            return None
        parts = []
        for word in sorted(words, key=len, reverse=True):
            escaped = re.escape(word)
            if word[0].isalnum():
                escaped = r"(?<!\w)" + escaped
            if word[-1].isalnum():
                escaped += r"(?!\w)"
            parts.append(escaped)
        return re.compile("|".join(parts), re.IGNORECASE)

    def sql_variants(self) -> list[str]:
        """Strong needles as they may be stored, for a LIKE pre-filter. LIKE ignores case
        for ASCII only, and SQLite keeps JSON with \\uXXXX escapes, so other text also
        comes in its usual cases, raw and escaped."""
        variants: set[str] = set()
        for needle in self.strong:
            if needle.isascii():
                variants.add(needle)
                continue
            for form in {needle, needle.lower(), needle.upper(), needle.title()}:
                variants.update({form, json.dumps(form)[1:-1]})
        return sorted(variants)


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value:
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)


def scrub(value: Any, pattern: re.Pattern | None) -> Any:
    """`value` (text or JSON) with every match of `pattern` replaced by the marker."""
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [scrub(v, pattern) for v in value]
    if isinstance(value, dict):
        return {scrub(k, pattern): scrub(v, pattern) for k, v in value.items()}
    return value


def blank(value: Any) -> Any:
    """`value` with every non-empty text leaf replaced by the marker (structure kept, so a
    history still says *which* fields changed, not to what)."""
    if isinstance(value, str):
        return ERASED if value else value
    if isinstance(value, list):
        return [blank(v) for v in value]
    if isinstance(value, dict):
        return {k: blank(v) for k, v in value.items()}
    return value


def mentioning(queryset, needles: Needles, *, text: Iterable[str], json: Iterable[str]):
    """Rows whose text or JSON columns contain a strong needle (a portable LIKE scan, a
    few needles per statement so no engine meets its expression-depth limit)."""
    variants = needles.sql_variants()
    annotations = {f"_txt_{name}": Cast(name, TextField()) for name in json}
    columns = list(text) + list(annotations)
    seen: set[int] = set()
    for start in range(0, len(variants), VARIANTS_PER_QUERY):
        condition = Q()
        for variant in variants[start : start + VARIANTS_PER_QUERY]:
            for column in columns:
                condition |= Q(**{f"{column}__icontains": variant})
        for row in queryset.annotate(**annotations).filter(condition).order_by("pk"):
            if row.pk not in seen:
                seen.add(row.pk)
                yield row
