"""RFC 9457 problem details: the one error shape of every response under /api/.

Services raise Django's ValidationError, PermissionDenied, FieldPermissionDenied and
ConflictError; the API layer raises `Problem` for protocol errors (bad JSON, unknown
query keys, wrong content type). `install_handlers` turns each of them into an
`application/problem+json` response with `errors: [{"field", "message", "code"}]`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import pydantic
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import errors as ninja_errors

from rapport.core import context
from rapport.core.exceptions import (
    ConflictError,
    FieldPermissionDenied,
    PermissionDenied,
    ValidationError,
)

logger = logging.getLogger("rapport.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: gettext_lazy("Bad request"),
    401: gettext_lazy("Authentication required"),
    403: gettext_lazy("Forbidden"),
    404: gettext_lazy("Not found"),
    405: gettext_lazy("Method not allowed"),
    409: gettext_lazy("Conflict"),
    412: gettext_lazy("Precondition failed"),
    413: gettext_lazy("Request too large"),
    415: gettext_lazy("Unsupported media type"),
    422: gettext_lazy("Validation failed"),
    429: gettext_lazy("Too many requests"),
    500: gettext_lazy("Internal server error"),
}

# Stable, machine-readable problem types (URNs: nothing to fetch, nothing external).
TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
    500: "server-error",
}


def field_error(field: str | None, message: Any, code: str = "invalid") -> dict[str, Any]:
    return {"field": field, "message": str(message), "code": code}


class Problem(Exception):
    """An HTTP error the API answers with problem+json."""

    def __init__(
        self,
        status: int,
        detail: Any = "",
        *,
        errors: Iterable[Mapping[str, Any]] = (),
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ):
        self.status = status
        self.detail = str(detail)
        self.errors = [dict(e) for e in errors]
        self.kind = kind
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(status, self.detail)

    def response(self) -> HttpResponse:
        return problem_response(
            self.status,
            self.detail,
            errors=self.errors,
            kind=self.kind,
            headers=self.headers,
            extra=self.extra,
        )


def problem_response(
    status: int,
    detail: Any = "",
    *,
    errors: Iterable[Mapping[str, Any]] = (),
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"urn:rapport:problem:{kind or TYPES.get(status, 'error')}",
        "title": str(TITLES.get(status, _("Error"))),
        "status": status,
        "detail": str(detail or TITLES.get(status, "")),
    }
    errors = list(errors)
    if errors:
        body["errors"] = errors
    request_id = context.current().request_id
    if request_id:
        body["request_id"] = request_id
    body.update(extra or {})
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def is_problem(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE)


# --- converting validation errors ------------------------------------------------------


def errors_from_django(exc: ValidationError) -> list[dict[str, Any]]:
    """Field errors from a Django ValidationError; "__all__" becomes a null field."""
    result = []
    if hasattr(exc, "error_dict"):
        for field, items in exc.error_dict.items():
            name = None if field == "__all__" else field
            for item in items:
                for message in item.messages:
                    result.append(field_error(name, message, item.code or "invalid"))
    else:
        for item in exc.error_list:
            for message in item.messages:
                result.append(field_error(None, message, item.code or "invalid"))
    return result


_PYDANTIC_MESSAGES = {
    "missing": gettext_lazy("This field is required."),
    "string_type": gettext_lazy("Enter text."),
    "string_too_long": gettext_lazy("Enter at most %(max_length)s characters."),
    "string_too_short": gettext_lazy("Enter at least %(min_length)s characters."),
    "int_type": gettext_lazy("Enter a whole number."),
    "int_parsing": gettext_lazy("Enter a whole number."),
    "int_from_float": gettext_lazy("Enter a whole number."),
    "bool_type": gettext_lazy("Enter true or false."),
    "bool_parsing": gettext_lazy("Enter true or false."),
    "date_type": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "date_parsing": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "list_type": gettext_lazy("Enter a list."),
    "dict_type": gettext_lazy("Enter an object."),
    "model_type": gettext_lazy("Enter an object."),
    "model_attributes_type": gettext_lazy("Enter an object."),
    "literal_error": gettext_lazy("Enter one of: %(expected)s."),
    "enum": gettext_lazy("Enter one of: %(expected)s."),
    "decimal_type": gettext_lazy("Enter a number."),
    "decimal_parsing": gettext_lazy("Enter a number."),
    "finite_number": gettext_lazy("Enter a finite number."),
    "decimal_max_digits": gettext_lazy("Enter at most %(max_digits)s digits."),
    "decimal_max_places": gettext_lazy("Enter at most %(decimal_places)s decimal places."),
    "decimal_whole_digits": gettext_lazy("Enter at most %(whole_digits)s digits before the point."),
    "greater_than_equal": gettext_lazy("Enter a value of at least %(ge)s."),
    "less_than_equal": gettext_lazy("Enter a value of at most %(le)s."),
    "too_long": gettext_lazy("Enter at most %(max_length)s items."),
}


def _message(error: Mapping[str, Any]) -> str:
    template = _PYDANTIC_MESSAGES.get(error["type"])
    if template is None:
        return str(error.get("msg", _("Enter a valid value.")))
    params = {k: v for k, v in (error.get("ctx") or {}).items()}
    try:
        return str(template) % params if "%(" in str(template) else str(template)
    except (KeyError, TypeError, ValueError):
        return str(error.get("msg", template))


def errors_from_pydantic(
    exc: pydantic.ValidationError | Iterable[Mapping[str, Any]],
    *,
    read_only: frozenset[str] = frozenset(),
    skip_loc: int = 0,
) -> list[dict[str, Any]]:
    """Field errors with dotted paths ("emails.1.address"); an extra key is named as
    read-only when the resource has it, as unknown otherwise."""
    raw = exc.errors() if isinstance(exc, pydantic.ValidationError) else exc
    result = []
    for error in raw:
        loc = [str(p) for p in error.get("loc", ())][skip_loc:]
        field = ".".join(loc) or None
        if error["type"] == "extra_forbidden":
            if len(loc) == 1 and loc[0] in read_only:
                result.append(field_error(field, _("This field is read-only."), "read_only"))
            else:
                result.append(field_error(field, _("Unknown field."), "unknown"))
            continue
        result.append(field_error(field, _message(error), error["type"]))
    return result


# --- handlers --------------------------------------------------------------------------


def _problem(request, exc: Problem):
    return exc.response()


def _validation(request, exc: ValidationError):
    return problem_response(422, _("Some fields are not valid."), errors=errors_from_django(exc))


def _field_denied(request, exc: FieldPermissionDenied):
    return problem_response(
        403,
        exc.message,
        errors=[field_error(exc.field, exc.message, "permission_denied")],
    )


def _denied(request, exc: PermissionDenied):
    return problem_response(403, _("You do not have permission to do this."))


def _conflict(request, exc: ConflictError):
    return problem_response(
        412,
        _("The record changed since you read it (now version %(current)s).")
        % {"current": exc.current_version},
        extra={"current_version": exc.current_version},
    )


def _not_found(request, exc: Exception):
    return problem_response(404, _("There is nothing here."))


def _unauthenticated(request, exc: Exception):
    return problem_response(
        401,
        _("Send a valid API token as “Authorization: Bearer <token>”, or sign in."),
        headers={"WWW-Authenticate": 'Bearer realm="rapport"'},
    )


def _throttled(request, exc: ninja_errors.Throttled):
    return problem_response(429, _("Too many requests; slow down and retry later."))


def _ninja_http(request, exc: ninja_errors.HttpError):
    return problem_response(exc.status_code, TITLES.get(exc.status_code, exc.message))


def _ninja_validation(request, exc: ninja_errors.ValidationError):
    errors = errors_from_pydantic(exc.errors, skip_loc=1)
    locations = {str(e.get("loc", ("",))[0]) for e in exc.errors}
    if locations <= {"query", "path", "header", "cookie"}:
        return problem_response(400, _("The request is not valid."), errors=errors)
    return problem_response(422, _("Some fields are not valid."), errors=errors)


def _too_big(request, exc: RequestDataTooBig):
    return problem_response(413, _("The request body is too large."))


def _suspicious(request, exc: SuspiciousOperation):
    return problem_response(400, _("The request is not valid."))


def _bad_multipart(request, exc: MultiPartParserError):
    return problem_response(400, _("The body is not valid multipart/form-data."))


def _server_error(request, exc: Exception):
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return problem_response(500, _("Something went wrong on our side; it has been logged."))


def install_handlers(api) -> None:
    """Register every handler on a NinjaAPI (the most specific class wins)."""
    handlers = [
        (Problem, _problem),
        (ValidationError, _validation),
        (FieldPermissionDenied, _field_denied),
        (PermissionDenied, _denied),
        (ConflictError, _conflict),
        (Http404, _not_found),
        (ObjectDoesNotExist, _not_found),
        (ninja_errors.AuthenticationError, _unauthenticated),
        (ninja_errors.Throttled, _throttled),
        (ninja_errors.HttpError, _ninja_http),
        (ninja_errors.ValidationError, _ninja_validation),
        (RequestDataTooBig, _too_big),
        (SuspiciousOperation, _suspicious),
        (MultiPartParserError, _bad_multipart),
        (Exception, _server_error),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)


def response_for(exc: BaseException, request) -> HttpResponse:
    """The problem response for an exception raised outside an operation."""
    for exc_class, handler in (
        (Problem, _problem),
        (Http404, _not_found),
        (RequestDataTooBig, _too_big),
        (SuspiciousOperation, _suspicious),
        (MultiPartParserError, _bad_multipart),
        (PermissionDenied, _denied),
    ):
        if isinstance(exc, exc_class):
            return handler(request, exc)
    return _server_error(request, exc)
