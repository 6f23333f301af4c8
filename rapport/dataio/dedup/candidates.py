"""The on-entry check: which records the user may view does this new data duplicate?

Called by the create and edit forms (through `Entity.likely_duplicates`) and by
`POST /api/v1/duplicates/check`, before anything is saved. It must stay cheap on a
million rows: one raw UNION over indexed columns (normalised email, E.164 phone, domain,
match key, employer) finds candidate ids — usually none, and that is the only query.
Candidates are then read through `restrict(user, "view")` (a record the user may not
see is never proposed), their emails and phones in one more query, dismissals when
editing — and scored by the scan's own scorer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q

from rapport.contacts.models import Company, EmailAddress, Person, PhoneNumber
from rapport.contacts.services.cleaning import normalize_domain
from rapport.core import phones as phone_numbers
from rapport.core.navigation import url_or_none
from rapport.core.text import fold
from rapport.dataio.dedup import scoring
from rapport.dataio.models import DuplicateDismissal

MAX_FETCH = 25  # rows looked at; more means a too-common key, and the best few suffice
MAX_SHOWN = 5
ENTITIES = ("person", "company")


@dataclass
class Match:
    """One likely duplicate: the record, how sure we are, why, and where to go."""

    obj: Any
    score: float
    reasons: list[dict]
    url: str | None = None
    merge_url: str | None = None
    reason_texts: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(self.score * 100)


def _text(value) -> str:
    """A name as typed; anything that is not text (an API client's mistake) is no name."""
    return value if isinstance(value, str) else ""


def _items(value, key: str) -> list[str]:
    """Values out of the services' shapes: [{"address": …}], ["a@b"], or "a, b"."""
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",")]
    if not isinstance(value, list | tuple):
        return []
    result = []
    for item in value or []:
        raw = item.get(key) if isinstance(item, Mapping) else item
        text = str(raw or "").strip()
        if text:
            result.append(text)
    return result


def _phones(data: Mapping[str, Any], user) -> list[str]:
    region = phone_numbers.default_region(user)
    numbers = []
    for raw in _items(data.get("phones"), "number"):
        try:
            numbers.append(phone_numbers.to_e164(raw, region=region))
        except ValidationError:
            continue  # the form reports it; a bad number matches nothing
    return numbers


def _pk(value) -> int | None:
    if value is None or value == "":
        return None
    pk = getattr(value, "pk", value)
    return int(pk) if str(pk).isdigit() else None


@cache
def _columns(model) -> dict[str, str]:
    quote = connection.ops.quote_name
    return {f.name: quote(f.column) for f in model._meta.concrete_fields}


def _select(model, out: str, where: str, params: list, *, kind: str = "") -> tuple[str, list]:
    """`SELECT [<kind>,] <out…> FROM <table> WHERE <where>`: `out` names fields (comma-
    separated), `{field}` in `where` becomes a quoted column, both from the model's
    metadata; `kind` is a constant label from this module; every value is a parameter."""
    quote = connection.ops.quote_name
    columns = _columns(model)
    outputs = ", ".join(([f"'{kind}'"] if kind else []) + [columns[f] for f in out.split(",")])
    condition = where.format(**columns)
    sql = f"SELECT {outputs} FROM {quote(model._meta.db_table)} WHERE {condition}"  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
    return sql, params


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))


def _person_profile(data: Mapping[str, Any], user, instance) -> tuple[scoring.Profile, list]:
    first = _text(data.get("first_name", getattr(instance, "first_name", "")))
    last = _text(data.get("last_name", getattr(instance, "last_name", "")))
    company_id = _pk(data.get("company")) if "company" in data else None
    if company_id is None and instance is not None:
        company_id = instance.company_id
    emails = [e.lower() for e in _items(data.get("emails"), "address") if "@" in e]
    profile = scoring.person_profile(
        None,
        first_name=first,
        last_name=last,
        emails=emails,
        phones=_phones(data, user),
        company_id=company_id,
        addresses=data.get("addresses"),
    )
    parts = []
    if profile.emails:
        emails = sorted(profile.emails)
        where = f"{{normalized}} IN ({_marks(emails)})"
        parts.append(_select(EmailAddress, "person", where, emails))
    if profile.phones:
        numbers = sorted(profile.phones)
        where = f"{{number}} IN ({_marks(numbers)}) AND {{person}} IS NOT NULL"
        parts.append(_select(PhoneNumber, "person", where, numbers))
    if profile.key:
        parts.append(_select(Person, "id", "{match_key} = %s", [profile.key]))
    family = fold(last)
    if company_id and family:
        where = "{company} = %s AND {sort_key} >= %s AND {sort_key} < %s"  # "family …" range
        parts.append(_select(Person, "id", where, [company_id, f"{family} ", f"{family}!"]))
    return profile, parts


def _company_profile(data: Mapping[str, Any], user, instance) -> tuple[scoring.Profile, list]:
    name = _text(data.get("name", getattr(instance, "name", "")))
    domains = [normalize_domain(d) for d in _items(data.get("domains"), "domain")]
    profile = scoring.company_profile(
        None,
        name=name,
        domains=[d for d in domains if d],
        phones=_phones(data, user),
        addresses=data.get("addresses"),
    )
    parts = []
    if profile.domains:
        domains = sorted(profile.domains)
        where = f"{{primary_domain}} IN ({_marks(domains)})"
        parts.append(_select(Company, "id", where, domains))
    if profile.phones:
        numbers = sorted(profile.phones)
        where = f"{{number}} IN ({_marks(numbers)}) AND {{company}} IS NOT NULL"
        parts.append(_select(PhoneNumber, "company", where, numbers))
    if profile.key:
        parts.append(_select(Company, "id", "{match_key} = %s", [profile.key]))
    return profile, parts


def _candidate_ids(parts: list, exclude_pk: int | None) -> list[int]:
    """Ids sharing an indexed key, in one UNION statement (no ORM on the hot path:
    building the query would cost more than running it). Not yet scoped: only ids."""
    if not parts:
        return []
    sql = " UNION ".join(part for part, _values in parts)
    params = [value for _part, values in parts for value in values]
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} LIMIT {MAX_FETCH + 1}", params)
        return [pk for (pk,) in cursor.fetchall() if pk != exclude_pk]


def _channels(entity: str, ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """Emails and phones of the candidates in one raw UNION ALL (two prefetches cost
    more to build than to run)."""
    marks, owner = _marks(ids), "person" if entity == "person" else "company"
    parts = [
        _select(PhoneNumber, f"{owner},number", f"{{{owner}}} IN ({marks})", ids, kind="phone")
    ]
    if entity == "person":
        where = f"{{person}} IN ({marks})"
        parts.append(_select(EmailAddress, "person,normalized", where, ids, kind="email"))
    result: dict[int, dict[str, list[str]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join(sql for sql, _ in parts), [v for _, p in parts for v in p]
        )
        for kind, pk, value in cursor.fetchall():
            result.setdefault(pk, {"email": [], "phone": []})[kind].append(value)
    return result


def _stored_profile(entity: str, obj, channels: dict[str, list[str]]) -> scoring.Profile:
    if entity == "person":
        return scoring.person_profile(
            obj.pk,
            first_name=obj.first_name,
            last_name=obj.last_name,
            emails=channels.get("email", ()),
            phones=channels.get("phone", ()),
            company_id=obj.company_id,
            addresses=obj.addresses,
            match_key=obj.match_key,
        )
    return scoring.company_profile(
        obj.pk,
        name=obj.name,
        domains=obj.domains or ([obj.primary_domain] if obj.primary_domain else []),
        phones=channels.get("phone", ()),
        addresses=obj.addresses,
        match_key=obj.match_key,
    )


def _dismissed_with(entity: str, pk: int | None) -> set[int]:
    if pk is None:
        return set()
    rows = DuplicateDismissal.objects.filter(entity=entity).filter(Q(left_id=pk) | Q(right_id=pk))
    return {
        right if left == pk else left for left, right in rows.values_list("left_id", "right_id")
    }


def likely_duplicates(
    entity: str, user, data: Mapping[str, Any], *, exclude_pk: int | None = None, instance=None
) -> list[Match]:
    """Records `user` may view that `data` (the services' input shape) probably
    duplicates, best first; `exclude_pk` is the record being edited (never its own
    duplicate, and pairs dismissed with it stay dismissed)."""
    if entity not in ENTITIES:
        return []
    if entity == "person":
        model, (profile, query) = Person, _person_profile(data, user, instance)
    else:
        model, (profile, query) = Company, _company_profile(data, user, instance)
    ids = _candidate_ids(query, exclude_pk)
    if not ids:
        return []
    rows = model.objects.restrict(user, "view").filter(pk__in=ids)
    found = list(rows.order_by()[:MAX_FETCH])
    if not found:
        return []
    channels = _channels(entity, [obj.pk for obj in found])
    dismissed = _dismissed_with(entity, exclude_pk)
    url_base = "people" if entity == "person" else "companies"
    matches = []
    for obj in found:
        if obj.pk in dismissed:
            continue
        stored = _stored_profile(entity, obj, channels.get(obj.pk, {}))
        value, reasons = scoring.score(profile, stored, entity=entity)
        if value < scoring.THRESHOLD:
            continue
        pair = sorted([exclude_pk, obj.pk]) if exclude_pk is not None else None
        matches.append(
            Match(
                obj=obj,
                score=value,
                reasons=reasons,
                url=url_or_none(f"{url_base}:detail", obj.pk),
                merge_url=url_or_none("dataio:merge", entity, *pair) if pair else None,
                reason_texts=scoring.reasons_text(reasons),
            )
        )
    matches.sort(key=lambda m: (-m.score, m.obj.pk))
    return matches[:MAX_SHOWN]
