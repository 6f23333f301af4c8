"""Index changes made in place, for migrations (decision 0041).

Altering a field's `db_index` is an `AlterField`, and on SQLite Django carries out every
`AlterField` by copying the whole table into a new one: minutes at a million rows, only
to drop an index. A migration that changes nothing but indexes keeps Django's operations
for the model state and does the database part with these, which touch the indexes alone.
Reads that must name an index (`core.filters.equal`) find it here too.
"""

from __future__ import annotations


def plain_indexes(connection, model, column: str) -> list[str]:
    """The names of the plain indexes on exactly this column: the one `db_index` made
    and, on PostgreSQL, its `LIKE` twin. Unique and primary keys and indexes over several
    columns are not among them."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [
        name
        for name, info in sorted(constraints.items())
        if info.get("index")
        and not info.get("primary_key")
        and not info.get("unique")
        and info.get("columns") == [column]
    ]


def drop_field_indexes(schema_editor, model, field_name: str) -> list[str]:
    """Drop every plain index on exactly this field's column (`plain_indexes`). Returns
    the names dropped."""
    column = model._meta.get_field(field_name).column
    dropped = plain_indexes(schema_editor.connection, model, column)
    for name in dropped:
        schema_editor.execute(schema_editor._delete_index_sql(model, name))
    return dropped


def create_field_indexes(schema_editor, model, field_name: str) -> None:
    """Create the indexes `db_index=True` gives this field (the model must be a state in
    which it has it), as adding the field would."""
    field = model._meta.get_field(field_name)
    for statement in schema_editor._field_indexes_sql(model, field):
        schema_editor.execute(statement)


_found: dict[tuple[str, str, str], str | None] = {}


def field_index_name(connection, model, field_name: str) -> str | None:
    """The name of a plain index on this field's column (the one `db_index` made), looked
    up once per connection alias, for reads that must name it (`INDEXED BY`); None when
    the column has none."""
    table, column = model._meta.db_table, model._meta.get_field(field_name).column
    key = (connection.alias, table, column)
    if key not in _found:
        names = plain_indexes(connection, model, column)
        _found[key] = names[0] if names else None
    return _found[key]
