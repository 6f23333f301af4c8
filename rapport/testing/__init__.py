"""Helpers the tests share: factories (`factories`), the entity kit's mixins (`kit`)."""

from __future__ import annotations

import re


def set_columns(queries, table: str) -> set[str]:
    """The columns that the one UPDATE of `table` among captured `queries` sets."""
    (update,) = [q["sql"] for q in queries if q["sql"].startswith(f'UPDATE "{table}"')]
    return set(re.findall(r'"(\w+)" = ', update.split(" SET ", 1)[1].rsplit(" WHERE ", 1)[0]))
