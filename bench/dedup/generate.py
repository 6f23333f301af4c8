"""A seeded dataset of people with planted duplicates and the truth about them.

Base people come in four languages (en, uk, ru, pl; Cyrillic names stay Cyrillic) with
a unique email, most with a phone and half with an employer. For a share of them a
duplicate is planted, one kind each: a typo in the family name, the other script,
a nickname at the same employer, a reformatted phone, swapped name fields. Hard
negatives are planted too: relatives sharing a phone and a family name. Same seed and
size, same data, on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from anyascii import anyascii

from rapport.core.matching import _NAME_GROUPS, canonical_given

LOCALES = ("en", "uk", "ru", "pl")
DOMAINS = {
    "en": ("gmail.com", "outlook.com", "example.com"),
    "uk": ("ukr.net", "gmail.com", "i.ua"),
    "ru": ("mail.ru", "yandex.ru", "gmail.com"),
    "pl": ("wp.pl", "onet.pl", "gmail.com"),
}
# E.164 prefix and subscriber digits (unique per row index), and a national format.
PHONES = {
    "en": ("+1212", 7, lambda n: f"(212) {n[:3]}-{n[3:]}"),
    "uk": ("+38050", 7, lambda n: f"050 {n[:3]} {n[3:5]} {n[5:]}"),
    "ru": ("+7916", 7, lambda n: f"8 (916) {n[:3]}-{n[3:5]}-{n[5:]}"),
    "pl": ("+48601", 6, lambda n: f"601 {n[:3]} {n[3:]}"),
}
KINDS = ("typo", "script", "nickname", "phone", "swap")


@dataclass
class Row:
    """One person to load: names, emails (as typed), phones (as typed), employer index."""

    first: str
    last: str
    locale: str
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    company: int | None = None


@dataclass
class Dataset:
    rows: list[Row]
    companies: list[str]
    truth: list[tuple[int, int, str]]  # (base row, duplicate row, kind)
    negatives: list[tuple[int, int]]  # relatives: alike but not the same person


def _pool(locale: str) -> tuple[list[str], list[str]]:
    module = {"en": "en_US", "uk": "uk_UA", "ru": "ru_RU", "pl": "pl_PL"}[locale]
    provider = __import__(f"faker.providers.person.{module}", fromlist=["Provider"]).Provider
    firsts: list[str] = []
    for attr in ("first_names_male", "first_names_female"):
        value = getattr(provider, attr, ())
        firsts += list(value.keys() if isinstance(value, dict) else value)
    lasts: list[str] = []
    for attr in ("last_names_male", "male_last_names", "unisex_last_names", "last_names"):
        value = getattr(provider, attr, ())
        lasts += list(value.keys() if isinstance(value, dict) else value)
    return sorted(set(firsts)), sorted(set(lasts))


def _slug(text: str) -> str:
    return "".join(ch for ch in anyascii(text).lower() if ch.isalnum())


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:  # swap two neighbours
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:  # drop one
        return word[:i] + word[i + 1 :]
    return word[:i] + rng.choice("aeiou") + word[i + 1 :]  # replace one


def _nicknames() -> dict[str, list[str]]:
    return {canonical: list(variants) for canonical, variants in _NAME_GROUPS.items()}


def generate(size: int, *, seed: int = 7, dup_rate: float = 0.05) -> Dataset:
    """`size` rows in total, about `dup_rate` of them planted duplicates."""
    rng = random.Random(seed)
    pools = {locale: _pool(locale) for locale in LOCALES}
    nick = _nicknames()
    companies = [
        f"{_slug(rng.choice(pools['en'][1])).title()} {i}" for i in range(max(size // 20, 5))
    ]
    planted = int(size * dup_rate)
    relatives = max(size // 200, 1)
    base_count = size - planted - relatives
    rows: list[Row] = []
    for i in range(base_count):
        locale = LOCALES[i % 4]
        firsts, lasts = pools[locale]
        first, last = rng.choice(firsts), rng.choice(lasts)
        domain = rng.choice(DOMAINS[locale])
        row = Row(first, last, locale, emails=[f"{_slug(first)}.{_slug(last)}.{i}@{domain}"])
        if rng.random() < 0.7:
            prefix, width, _national = PHONES[locale]
            row.phones = [f"{prefix}{i % 10**width:0{width}d}"]
        if rng.random() < 0.5:
            row.company = rng.randrange(len(companies))
        rows.append(row)
    truth: list[tuple[int, int, str]] = []
    bases = rng.sample(range(base_count), planted + relatives)
    for n, base_index in enumerate(bases[:planted]):
        base = rows[base_index]
        kind = KINDS[n % len(KINDS)]
        dup, kind = _duplicate(rng, base, kind, nick, base_index)
        truth.append((base_index, len(rows), kind))
        rows.append(dup)
    negatives = []
    for base_index in bases[planted:]:
        base = rows[base_index]
        firsts, _lasts = pools[base.locale]
        other = rng.choice([f for f in firsts if canonical_given(f) != canonical_given(base.first)])
        relative = Row(
            other,
            base.last,
            base.locale,
            emails=[f"{_slug(other)}.{_slug(base.last)}.r{base_index}@{DOMAINS[base.locale][0]}"],
            phones=list(base.phones) or [f"{PHONES[base.locale][0]}{base_index % 10**6:07d}"],
        )
        negatives.append((base_index, len(rows)))
        rows.append(relative)
    return Dataset(rows, companies, truth, negatives)


def _national(base: Row) -> str:
    prefix, width, national = PHONES[base.locale]
    return national(base.phones[0][len(prefix) :])


def _duplicate(rng, base: Row, kind: str, nick, index: int) -> tuple[Row, str]:
    """A second record of `base` of the given kind (or a typo when the kind needs what
    the base lacks: a phone, an employer, a known nickname)."""
    fresh = f"{_slug(base.first)[:1]}{_slug(base.last)}.d{index}@example.net"
    if kind == "script" and base.phones:
        first, last = anyascii(base.first), anyascii(base.last)
        if first == base.first:  # Latin already: write it Cyrillic-free and accent-free
            first, last = first.upper(), last
        return Row(first, last, base.locale, emails=[fresh], phones=[_national(base)]), kind
    if kind == "nickname":
        variants = nick.get(canonical_given(base.first))
        if variants and (base.company is not None or base.phones):
            dup = Row(rng.choice(variants).title(), base.last, base.locale, emails=[fresh])
            if base.company is not None:
                dup.company = base.company
            else:
                dup.phones = [_national(base)]
            return dup, kind
    if kind == "phone" and base.phones:
        return Row(
            base.first, base.last, base.locale, emails=[fresh], phones=[_national(base)]
        ), kind
    if kind == "swap":
        return Row(base.last, base.first, base.locale, emails=[base.emails[0].upper()]), kind
    dup = Row(base.first, _typo(rng, base.last), base.locale, emails=[base.emails[0].title()])
    return dup, "typo"
