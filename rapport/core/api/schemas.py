"""Shapes every resource shares: problem details, list pages, ids, write-schema base."""

from __future__ import annotations

import datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class FieldError(BaseModel):
    field: str | None = Field(description='Dotted path of the field, e.g. "emails.1.address".')
    message: str
    code: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the fields at fault."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []
    request_id: str | None = None
    current_version: int | None = Field(None, description="On 412: the record's version now.")


class WriteSchema(BaseModel):
    """Base of request bodies: unknown keys are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


def Text(max_length: int):  # noqa: N802 - reads like a type in schemas
    return Annotated[str, Field(max_length=max_length)]


def choices(*model_choices, blank: bool = True):
    """A Literal of a TextChoices' values ("" allowed: it clears the field)."""
    values = tuple([""] if blank else []) + tuple(
        value for group in model_choices for value in group.values
    )
    return Literal[values]  # type: ignore[valid-type]


@cache
def page_schema(item: type[BaseModel]) -> type[BaseModel]:
    """`{"items": [...], "next_cursor": ...}` for one item schema."""
    name = item.__name__.removesuffix("Out") + "Page"
    return create_model(
        name,
        items=(list[item], ...),
        next_cursor=(
            str | None,
            Field(..., description="Pass as `cursor` for the next page; null on the last."),
        ),
    )


class AuditEventOut(BaseModel):
    id: int
    at: datetime.datetime
    action: str
    actor: int | None
    actor_label: str
    changes: dict[str, Any] = Field(
        description="{field: [old, new]}; personal data left out without that permission."
    )
    via: str
    request_id: str
