"""`Idempotency-Key` on POST: a retried request gets the first answer, not a second record.

The record is inserted *before* the work runs (committed on its own, outside any
transaction), so the unique constraint on (scope, method, path, key) decides which of
two concurrent requests does the work; the other sees an in-flight record (409) or the
stored answer (replay). The answer is stored in the work's own transaction. The body is hashed: the same key with another body is a client
error (422). 5xx answers are not stored, so the client may retry them; records live 24
hours (a periodic task prunes older ones).
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core.api.auth import scope_of
from rapport.core.api.problems import Problem, field_error
from rapport.core.models import IdempotencyRecord, RowStatements

HEADER = "Idempotency-Key"
TTL = datetime.timedelta(hours=24)
KEPT_HEADERS = ("Location", "ETag", "Content-Type")
MAX_KEY_LENGTH = 255


def _key(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise Problem(
            400,
            _("The Idempotency-Key must be 1 to 255 printable ASCII characters."),
            errors=[field_error(HEADER, _("Enter 1 to 255 printable ASCII characters."))],
        )
    return key


def _claim(scope: str, request, key: str, body_hash: str) -> IdempotencyRecord:
    """Insert our in-flight record (status None), or return the finished earlier one;
    raise 409 while another request holds the key, 422 when the body differs."""
    fields = {"scope": scope, "method": request.method, "path": request.path[:300], "key": key}
    for _attempt in range(2):
        try:
            record = IdempotencyRecord(body_hash=body_hash, status=None, **fields)
            with transaction.atomic():
                RowStatements.of(IdempotencyRecord).insert([record])
            return record
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(**fields).first()
            if existing is None:
                continue  # deleted in between (a failed first attempt): try again
            if existing.created_at < timezone.now() - TTL:
                IdempotencyRecord.objects.filter(
                    pk=existing.pk, created_at=existing.created_at
                ).delete()
                continue
            return _answer_existing(existing, body_hash)
    raise Problem(
        409, _("A request with this Idempotency-Key is still being processed."), kind="in-flight"
    )


def _answer_existing(existing: IdempotencyRecord, body_hash: str):
    if existing.body_hash != body_hash:
        raise Problem(
            422,
            _("This Idempotency-Key was used with another request body."),
            kind="idempotency-key-reused",
            errors=[
                field_error(HEADER, _("The key was already used with another body."), "reused")
            ],
        )
    if existing.status is None:
        raise Problem(
            409,
            _("A request with this Idempotency-Key is still being processed."),
            kind="in-flight",
            headers={"Retry-After": "1"},
        )
    return existing


def _replay(record: IdempotencyRecord) -> HttpResponse:
    headers = dict(record.headers or {})
    response = HttpResponse(
        bytes(record.response or b""),
        status=record.status,
        content_type=headers.pop("Content-Type", "application/json"),
    )
    for name, value in headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


class _Discard(Exception):  # noqa: N818 - not an error: carries the answer out of the block
    """Leave the work's transaction rolled back and answer with `response` unstored."""

    def __init__(self, response: HttpResponse):
        self.response = response


def idempotent(request, run: Callable[[], HttpResponse], on_error: Callable) -> HttpResponse:
    """Run `run()` at most once per key; `on_error(exc)` turns an exception into the
    response that is stored (4xx) or not (5xx).

    The work and the stored answer commit together (one transaction: a keyed POST pays one
    commit for both, and a stored answer always describes committed work). A refusal's
    audit rows commit with its stored 4xx; a 5xx rolls the work back and frees the key, so
    the client's retry is the only attempt that counts."""
    key = _key(request)
    if key is None:
        return run()
    body_hash = hashlib.sha256(request.body).hexdigest()
    scope = scope_of(request)
    record = _claim(scope, request, key, body_hash)
    if record.status is not None:  # an earlier answer to the same request
        return _replay(record)
    try:
        with transaction.atomic():
            try:
                response = run()
            except Exception as exc:  # noqa: BLE001 - every failure must release or store the key
                response = on_error(exc)
                if transaction.get_connection().needs_rollback:
                    raise _Discard(response) from exc  # a database error: nothing to keep
            if response.status_code >= 500:
                raise _Discard(response)
            headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
            _store(record, response, headers)
    except _Discard as discard:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return discard.response
    except BaseException:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        raise
    return response


def _store(record: IdempotencyRecord, response: HttpResponse, headers: dict) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=response.status_code, response=bytes(response.content), headers=headers
    )
