"""How alike two records are, and why: one score from 0 to 1 with reasons as data.

The same function serves the background scan and the on-entry check, so a pair scores
the same wherever it is seen. Names are compared after folding and nickname
resolution (rapidfuzz token-sort ratio averaged with Jaro-Winkler, raised when the
phonetic keys agree); a name alone never reaches the threshold — it needs a shared
email, phone, domain, employer or address to back it.
Reasons are stored as data (`{"code": "name", "score": 94}`) and rendered in the
reader's language by `reason_text`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jellyfish
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from rapport.core.matching import (
    canonical_given,
    company_match_key,
    company_name,
    person_match_key,
    person_name,
    words,
)

THRESHOLD = 0.7  # pairs at or above are proposed as duplicates
NAME_REASON_MIN = 80  # a name similarity below this is not worth naming as a reason


@dataclass(slots=True)
class Profile:
    """What the scorer compares of one record (built from rows or from form data)."""

    id: int | None
    name: str = ""
    given: str = ""  # people: canonical given name and family name, compared apart
    family: str = ""
    key: str = ""
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    company_id: int | None = None
    place: str = ""
    sorted_name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.sorted_name = " ".join(sorted(self.name.split()))


def place_of(addresses: Any) -> str:
    """The first address as folded "street city", empty without a street."""
    if not isinstance(addresses, list) or not addresses:
        return ""
    first = addresses[0] if isinstance(addresses[0], Mapping) else {}
    street = " ".join(words(first.get("street")))
    city = " ".join(words(first.get("city")))
    return f"{street} | {city}" if street and city else ""


def person_profile(
    pk,
    *,
    first_name="",
    last_name="",
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    company_id=None,
    addresses=None,
    match_key: str | None = None,
) -> Profile:
    return Profile(
        id=pk,
        name=person_name(first_name, last_name),
        given=canonical_given(first_name),
        family=canonical_given(last_name),
        key=match_key if match_key is not None else person_match_key(first_name, last_name),
        emails=frozenset(e.lower() for e in emails if e),
        phones=frozenset(p for p in phones if p),
        company_id=company_id,
        place=place_of(addresses),
    )


def company_profile(
    pk,
    *,
    name="",
    domains: Iterable[str] = (),
    phones: Iterable[str] = (),
    addresses=None,
    match_key: str | None = None,
) -> Profile:
    return Profile(
        id=pk,
        name=company_name(name),
        key=match_key if match_key is not None else company_match_key(name),
        domains=frozenset(d.lower() for d in domains if d),
        phones=frozenset(p for p in phones if p),
        place=place_of(addresses),
    )


def _given(a: str, b: str) -> float:
    return 1.0 if a == b else fuzz.ratio(a, b) / 100


def _family(a: str, b: str) -> float:
    return jellyfish.jaro_winkler_similarity(a, b)


def _backing(similarity: float) -> float:
    """How much a name backs a shared phone or email: nothing below 60% similar, fully
    at 100% (relatives share phones and family names, not given names)."""
    return max(0.0, (similarity - 0.6) / 0.4)


def name_similarity(a: Profile, b: Profile) -> float | None:
    """0–1, or None when either side has no name to compare."""
    if not a.name or not b.name:
        return None
    if a.sorted_name == b.sorted_name:
        return 1.0
    if a.given and a.family and b.given and b.family:
        # Given and family names must both agree, in either order: a typo is likely in
        # a family name (Jaro-Winkler forgives it), a given name differs by nickname
        # (resolved already) rather than by letters (Anna ≠ Alina: plain edit ratio).
        similarity = max(
            _given(a.given, b.given) * _family(a.family, b.family),
            _given(a.given, b.family) * _family(a.family, b.given),
        )
    else:
        ratio = fuzz.token_sort_ratio(a.name, b.name) / 100
        similarity = (ratio + jellyfish.jaro_winkler_similarity(a.sorted_name, b.sorted_name)) / 2
    if a.key and a.key == b.key:
        similarity = max(similarity, 0.9)
    return similarity


def score(a: Profile, b: Profile, *, entity: str = "person") -> tuple[float, list[dict]]:
    """The pair's score (0–1) and its reasons, strongest first."""
    similarity = name_similarity(a, b)
    name = _backing(similarity) if similarity is not None else 0.5
    reasons: list[dict] = []
    result = (0.85 if entity == "company" else 0.65) * (similarity or 0.0)
    if a.emails & b.emails:
        reasons.append({"code": "email"})
        result = max(result, 0.75 + 0.25 * name)
    if a.phones & b.phones:
        reasons.append({"code": "phone"})
        result = max(result, 0.5 + 0.45 * name) + (0.05 if a.emails & b.emails else 0.0)
    if a.domains & b.domains:
        reasons.append({"code": "domain"})
        result = max(result, 0.7 + 0.3 * name)
    if a.company_id is not None and a.company_id == b.company_id:
        reasons.append({"code": "company"})
        result += 0.15
    if similarity is not None and round(similarity * 100) >= NAME_REASON_MIN:
        reasons.append({"code": "name", "score": round(similarity * 100)})
    if a.place and a.place == b.place:
        reasons.append({"code": "address"})
        result += 0.1
    return min(result, 1.0), reasons


def merge_reasons(groups: Iterable[Iterable[Mapping[str, Any]]]) -> list[dict]:
    """One list of reasons for a cluster: each code once, the best name score kept."""
    merged: dict[str, dict] = {}
    for reasons in groups:
        for reason in reasons:
            code = reason.get("code", "")
            kept = merged.get(code)
            if kept is None or reason.get("score", 0) > kept.get("score", 0):
                merged[code] = dict(reason)
    order = ["email", "phone", "domain", "company", "name", "address"]
    return sorted(
        merged.values(), key=lambda r: order.index(r["code"]) if r["code"] in order else 99
    )


def reason_text(reason: Mapping[str, Any]) -> str:
    """A reason in the reader's language: "same phone", "name 94% similar"."""
    code = reason.get("code")
    if code == "name":
        value = int(reason.get("score") or 0)
        if value >= 100:
            return _("same name")
        return _("name %(score)s%% similar") % {"score": value}
    texts = {
        "email": _("same email"),
        "phone": _("same phone"),
        "domain": _("same domain"),
        "company": _("same company"),
        "address": _("same address"),
    }
    return texts.get(code, str(code))


def reasons_text(reasons: Iterable[Mapping[str, Any]]) -> list[str]:
    return [reason_text(r) for r in reasons]
