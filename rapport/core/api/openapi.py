"""Completing the OpenAPI document django-ninja generates.

Endpoints parse their own bodies and query strings (for precise 400/415/422 answers), so
their request bodies, filter parameters and headers are declared here from the
`x-rapport` hints the routers leave on each operation; every operation also gets the
problem+json error answers it can give.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rapport.core.api.problems import PROBLEM_CONTENT_TYPE, TITLES
from rapport.core.api.schemas import Problem

REF = "#/components/schemas/{model}"

ERRORS_BY_METHOD = {
    "get": (400, 401, 403, 404, 405, 429, 500),
    "post": (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500),
    "patch": (400, 401, 403, 404, 405, 409, 412, 413, 415, 422, 429, 500),
    "put": (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500),
    "delete": (401, 403, 404, 405, 409, 412, 429, 500),
}

HEADER_DOCS = {
    "ETag": {
        "description": "The record's version as a strong ETag.",
        "schema": {"type": "string", "example": '"3"'},
    },
    "Location": {"description": "URL of the new record.", "schema": {"type": "string"}},
}


def _add_model(schemas: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template=REF)
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault(model.__name__, schema)
    return {"$ref": REF.format(model=model.__name__)}


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": str(TITLES.get(status, "Error")),
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {"schema": {"type": "string", "example": "Bearer"}}
        }
    if status == 429:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        }
    return response


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


def _finish_operation(method: str, op: dict[str, Any], schemas: dict[str, Any]) -> None:
    from rapport.core.api.audit import audit_parameters
    from rapport.core.api.lists import query_parameters
    from rapport.core.registry import registry

    hints = op.pop("x-rapport", {}) or {}
    params = op.setdefault("parameters", [])
    entity = registry.get(hints.get("entity", ""))
    if hints.get("list") and entity is not None:
        params.extend(query_parameters(entity))
    if hints.get("audit"):
        params.extend(audit_parameters())
    if hints.get("idempotent"):
        params.append(
            _header(
                "Idempotency-Key",
                "Makes the POST safe to retry: the same key and body replay the first answer.",
            )
        )
    if hints.get("if_match"):
        params.append(_header("If-Match", 'The ETag you read, e.g. "3"; stale → 412.'))
    if not params:
        op.pop("parameters")
    body = hints.get("body")
    if body is not None:
        ref = _add_model(schemas, body)
        types = (
            ["application/merge-patch+json", "application/json"]
            if hints.get("patch")
            else ["application/json"]
        )
        op["requestBody"] = {"required": True, "content": {t: {"schema": ref} for t in types}}
    responses = op.setdefault("responses", {})
    for status, response in responses.items():
        if str(status).startswith("2") and str(status) != "204":
            headers = response.setdefault("headers", {})
            if hints.get("etag"):
                headers["ETag"] = HEADER_DOCS["ETag"]
            if hints.get("location") and str(status) == "201":
                headers["Location"] = HEADER_DOCS["Location"]
            if not headers:
                response.pop("headers")
    for status in ERRORS_BY_METHOD.get(method, ERRORS_BY_METHOD["get"]):
        responses.setdefault(str(status), _error_response(status))


def finish(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _add_model(schemas, Problem)
    for path_item in schema.get("paths", {}).values():
        for method, op in path_item.items():
            if isinstance(op, dict) and method in ERRORS_BY_METHOD:
                _finish_operation(method, op, schemas)
    return schema
