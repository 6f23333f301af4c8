"""Indexes that only cost writes are gone, and the migration that drops them works both
ways without rebuilding tables (decision 0041)."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rapport.contacts.models import Company, EmailAddress, Person, PhoneNumber
from rapport.core.models import AuditEvent, TrackedModel

contacts_migration = import_module("rapport.contacts.migrations.0007_write_path_indexes")
core_migration = import_module("rapport.core.migrations.0006_write_path_indexes")

# (model, column) pairs that must have no index of their own.
UNINDEXED = [
    (Person, "owner_id"),
    (Person, "team_id"),
    (Company, "owner_id"),
    (Company, "team_id"),
    (AuditEvent, "actor_id"),
]
# (model, column, the Meta index that serves it)
META_INDEXED = [
    (Person, "match_key", "person_match_key_idx"),
    (Company, "match_key", "company_match_key_idx"),
    (EmailAddress, "normalized", "email_normalized_idx"),
    (PhoneNumber, "number", "phone_number_idx"),
]


def _indexes(model) -> dict[str, dict]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: info for name, info in found.items() if info["index"]}


def _on(model, column: str) -> list[str]:
    """Names of the plain indexes on exactly this one column."""
    return sorted(
        name
        for name, info in _indexes(model).items()
        if info["columns"] == [column] and not info["unique"] and not info["primary_key"]
    )


def _leading(model, column: str) -> list[str]:
    return [name for name, info in _indexes(model).items() if info["columns"][:1] == [column]]


@pytest.mark.django_db
def test_the_dropped_indexes_are_gone_and_a_wider_one_leads_with_each_column():
    for model, column in UNINDEXED:
        assert _on(model, column) == [], (model.__name__, column)
        assert _leading(model, column), f"nothing leads with {model.__name__}.{column}"
    for model, column, name in META_INDEXED:
        # One index, the Meta one: on PostgreSQL no varchar_pattern_ops twin.
        assert _on(model, column) == [name]


def test_every_record_model_has_indexes_leading_with_team_and_owner():
    """Owner and team carry no index of their own (TrackedModel), so a record model must
    declare the list indexes its scopes read: one leading with each."""
    records = [m for m in apps.get_models() if issubclass(m, TrackedModel)]
    assert {Person, Company} <= set(records)
    for model in records:
        leads = {index.fields[0].lstrip("-") for index in model._meta.indexes if index.fields}
        assert {"team", "owner"} <= leads, model.__name__


@pytest.mark.django_db(transaction=True)
def test_the_migrations_undo_and_redo_in_place():
    executor = MigrationExecutor(connection)
    before = executor.loader.project_state(
        [("contacts", "0006_date_range_indexes"), ("core", "0005_search_entry_scope")]
    ).apps
    with connection.schema_editor() as editor:
        contacts_migration.backwards(before, editor)
        core_migration.backwards(before, editor)
    try:
        for model, column in UNINDEXED:
            assert len(_on(model, column)) == 1, (model.__name__, column)
        for model, column, name in META_INDEXED:
            names = _on(model, column)
            assert name not in names
            # Django's db_index index, and on PostgreSQL its LIKE twin
            assert len(names) == (2 if connection.vendor == "postgresql" else 1), names
    finally:
        with connection.schema_editor() as editor:
            core_migration.forwards(before, editor)
            contacts_migration.forwards(before, editor)
    for model, column in UNINDEXED:
        assert _on(model, column) == []
    for model, column, name in META_INDEXED:
        assert _on(model, column) == [name]
