"""The erasure suppression list: hashes of an erased person's emails and phones.

Only SHA-256 digests of the normalised values are kept (lower-cased email, E.164
phone), so the list itself holds no personal data, yet an import or a web form that
would re-create the person is recognised and reported instead of silently done.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

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


def suppressed(*, emails: Iterable[str] = (), phones: Iterable[str] = ()) -> list[str]:
    """Which of these kinds ("email", "phone") are on the list (empty: none)."""
    wanted = {("email", digest("email", e)) for e in emails if e}
    wanted |= {("phone", digest("phone", p)) for p in phones if p}
    if not wanted:
        return []
    found = Suppression.objects.filter(digest__in=[d for _, d in wanted]).values_list(
        "kind", "digest"
    )
    return sorted({kind for kind, d in found if (kind, d) in wanted})


def suppressed_digests(kind: str, values: Iterable[str]) -> set[str]:
    """For bulk checks (imports): the subset of `values` that is suppressed."""
    by_digest = {digest(kind, v): v for v in values if v}
    if not by_digest:
        return set()
    found = Suppression.objects.filter(kind=kind, digest__in=list(by_digest)).values_list(
        "digest", flat=True
    )
    return {by_digest[d] for d in found}
