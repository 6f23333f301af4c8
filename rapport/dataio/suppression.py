"""The erasure suppression list: hashes of an erased person's emails and phones.

Only SHA-256 digests of the normalised values are kept (lower-cased email, E.164
phone), so the list itself holds no personal data, yet an import or a web form that
would re-create the person is recognised and reported instead of silently done.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connections, router

from rapport.dataio.models import Suppression


def digest(kind: str, value: str) -> str:
    normal = value.strip().lower() if kind == Suppression.Kind.EMAIL else value.strip()
    return hashlib.sha256(f"{kind}:{normal}".encode()).hexdigest()


def suppress(*, emails: Iterable[str] = (), phones: Iterable[str] = ()) -> int:
    """Add digests (idempotent); returns how many were new."""
    rows = [Suppression(kind="email", digest=digest("email", e)) for e in emails if e]
    rows += [Suppression(kind="phone", digest=digest("phone", p)) for p in phones if p]
    before = Suppression.objects.count()
    Suppression.objects.bulk_create(rows, ignore_conflicts=True)
    return Suppression.objects.count() - before


def suppressed_values(
    *, emails: Iterable[str] = (), phones: Iterable[str] = ()
) -> tuple[set[str], set[str]]:
    """The emails and the phones among these that are on the list, in one query."""
    wanted = {digest("email", e): ("email", e) for e in emails if e}
    wanted |= {digest("phone", p): ("phone", p) for p in phones if p}
    found: dict[str, set[str]] = {"email": set(), "phone": set()}
    for kind, d in _listed(wanted):
        if d in wanted and wanted[d][0] == kind:
            found[kind].add(wanted[d][1])
    return found["email"], found["phone"]


def _listed(wanted: Mapping[str, tuple[str, str]]) -> list[tuple[str, str]]:
    """The (kind, digest) rows among `wanted`, by the unique (kind, digest) index: one
    fixed statement per number of values, not a queryset built and compiled for every
    person the API creates (a tenth of a create's time)."""
    by_kind: dict[str, list[str]] = {}
    for d, (kind, _value) in wanted.items():
        by_kind.setdefault(kind, []).append(d)
    if not by_kind:
        return []
    db = router.db_for_read(Suppression)
    table = connections[db].ops.quote_name(Suppression._meta.db_table)
    parts, params = [], []
    for kind, digests in sorted(by_kind.items()):
        parts.append(f"(kind = %s AND digest IN ({', '.join(['%s'] * len(digests))}))")
        params += [kind, *digests]
    sql = f"SELECT kind, digest FROM {table} WHERE {' OR '.join(parts)}"  # noqa: S608  # nosec B608 # the table from the model, values as parameters
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def suppressed(*, emails: Iterable[str] = (), phones: Iterable[str] = ()) -> list[str]:
    """Which of these kinds ("email", "phone") are on the list (empty: none)."""
    bad_emails, bad_phones = suppressed_values(emails=emails, phones=phones)
    return [kind for kind, bad in (("email", bad_emails), ("phone", bad_phones)) if bad]


def suppressed_digests(kind: str, values: Iterable[str]) -> set[str]:
    """For bulk checks (imports): the subset of `values` of this kind that is suppressed."""
    emails, phones = suppressed_values(**{f"{kind}s": values})
    return emails if kind == Suppression.Kind.EMAIL else phones


def refuse_suppressed(data: Mapping[str, Any], children: Mapping[str, Any], *, region: str) -> None:
    """Refuse a new person carrying an erased person's email or phone, naming each field.

    `children` holds the cleaned emails and phones (`person_create`); `data` the raw rows,
    whose positions the error keys use ("emails.1.address"), as forms and the API expect.
    """
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from rapport.core import phones as phone_numbers

    emails = [e["address"] for e in children.get("emails") or []]
    numbers = [p["number"] for p in children.get("phones") or []]
    found_emails, bad_phones = suppressed_values(emails=emails, phones=numbers)
    bad_emails = {e.lower() for e in found_emails}
    if not bad_emails and not bad_phones:
        return
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(data.get("emails") or []):
        address = str((item or {}).get("address", "")).strip().lower()
        if address in bad_emails:
            errors[f"emails.{index}.address"] = [
                _(
                    "This address belonged to a person whose data was erased; it may not be added again."
                )
            ]
    for index, item in enumerate(data.get("phones") or []):
        try:
            number = phone_numbers.to_e164(str((item or {}).get("number", "")), region=region)
        except ValidationError:
            continue
        if number in bad_phones:
            errors[f"phones.{index}.number"] = [
                _(
                    "This number belonged to a person whose data was erased; it may not be added again."
                )
            ]
    raise ValidationError(errors or {"emails": [_("An erased person's details were entered.")]})
