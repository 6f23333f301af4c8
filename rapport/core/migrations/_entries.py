"""Helpers the core migrations share (the loader skips modules named with "_"). Kept as
written: applied migrations import them."""

TABLE = "core_search_entry"


def postgres_with_entries(connection) -> bool:
    """Whether this is PostgreSQL and its search entry table exists (the search engine
    creates it; a migration that reshapes its indexes has nothing to do otherwise)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return TABLE in connection.introspection.table_names(cursor)
