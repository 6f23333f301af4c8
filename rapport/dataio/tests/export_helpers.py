"""Shared setup of the export tests: roles that may export, and reading files back."""

from __future__ import annotations

import csv
import io
import json

from django.test import Client

from rapport.accounts.models import Role, RoleAssignment
from rapport.contacts.models import Person
from rapport.core import permissions
from rapport.testing.factories import PersonFactory


def grant_export(user, scope: str = "team", entity: str = "*") -> None:
    """Give a rep the export action (the built-in rep role has none)."""
    role, _created = Role.objects.get_or_create(
        name=f"exporter-{entity}-{scope}",
        defaults={"label": "Exporter", "permissions": {entity: {"export": scope}}},
    )
    RoleAssignment.objects.create(user=user, role=role, team=None)
    permissions.forget(user)


def grant_exporters(*users) -> tuple:
    for user in users:
        grant_export(user)
    return users


def person(actor, **kwargs) -> Person:
    kwargs.setdefault("emails", [{"address": f"p{Person.all_objects.count()}@example.com"}])
    return PersonFactory(actor=actor, **kwargs)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "CSV exports start with a UTF-8 BOM"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def read_xlsx(data: bytes) -> list[tuple]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def read_json(data: bytes) -> list[dict]:
    return json.loads(data.decode("utf-8"))


def read_vcards(data: bytes) -> list:
    import vobject

    return list(vobject.readComponents(data.decode("utf-8")))
