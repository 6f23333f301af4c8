"""`/api/v1/privacy/people/{id}/export` (subject access export) and `.../erase`.

Same answers as every record endpoint: 404 when the person is not visible, 403 when
visible but the right is missing (audited by the service), 422 naming the field.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Router
from pydantic import BaseModel, ConfigDict, Field

from rapport.contacts.models import Person
from rapport.core.api.body import read_body
from rapport.core.api.crud import json_response
from rapport.core.api.idempotency import idempotent
from rapport.core.api.problems import Problem, field_error
from rapport.core.api.schemas import MAX_ID, WriteSchema
from rapport.dataio.privacy import (
    FORMAT_VERSION,
    confirmation_matches,
    may_erase,
    subject_export,
    subjects_visible_to,
)
from rapport.dataio.privacy_erase import MAX_REASON, person_erase


class ErasureIn(WriteSchema):
    reason: str = Field(max_length=MAX_REASON, description="Why the data is erased (kept).")
    confirm: str | int = Field(description="The person's id, typed again to confirm.")


class ErasureOut(BaseModel):
    id: int
    erased: bool
    name: str = Field(description="The anonymous name the record now shows.")


class SubjectExportOut(BaseModel):
    """Everything held about one person; see docs/decisions/0023-erasure.md for sections."""

    model_config = ConfigDict(extra="allow")
    format_version: int = Field(description=f"Currently {FORMAT_VERSION}.")
    generated_at: str
    subject: dict[str, Any]
    person: dict[str, Any]
    history: list[dict[str, Any]]


def _visible(request, pk: int) -> Person:
    person = None
    if pk <= MAX_ID:
        person = subjects_visible_to(request.auth).filter(pk=pk).first()
    if person is None:
        raise Problem(404, _("There is no such record, or you may not see it."))
    return person


def router() -> Router:
    router = Router(tags=["Personal data"])

    @router.get(
        "/people/{int:id}/export",
        response={200: SubjectExportOut},
        operation_id="person_subject_export",
        summary="Everything held about one person (subject access export)",
    )
    def export(request, id: int):  # noqa: A002 - the path parameter is "id"
        person = _visible(request, id)
        document = subject_export(actor=request.auth, person=person)
        response = json_response(document)
        response["Content-Disposition"] = f'attachment; filename="person-{person.pk}-data.json"'
        response["Cache-Control"] = "no-store"
        return response

    @router.post(
        "/people/{int:id}/erase",
        response={200: ErasureOut},
        operation_id="person_erase",
        summary="Erase a person's personal data (administrators; irreversible)",
        openapi_extra={"x-rapport": {"body": ErasureIn, "idempotent": True}},
    )
    def erase(request, id: int):  # noqa: A002
        from rapport.api_urls import api  # routers keep no link to the NinjaAPI mounting them

        return idempotent(
            request, lambda: _erase(request, id), lambda e: api.on_exception(request, e)
        )

    def _erase(request, id: int):  # noqa: A002
        person = _visible(request, id)
        if not may_erase(request.auth, person):
            # Let the service refuse it, so the denial is audited like every other.
            person_erase(actor=request.auth, person=person, reason="-")
        data = read_body(request, ErasureIn)
        if not confirmation_matches(person, data.get("confirm")):
            raise Problem(
                422,
                _("Some fields are not valid."),
                errors=[
                    field_error(
                        "confirm",
                        _("Send the person's id (%(id)s) to confirm.") % {"id": person.pk},
                        "confirmation",
                    )
                ],
            )
        erased = person_erase(actor=request.auth, person=person, reason=data["reason"])
        return json_response({"id": erased.pk, "erased": True, "name": str(erased)})

    return router
