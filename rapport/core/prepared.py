"""Querysets compiled once and run again: the ORM's own SQL for a fixed-shape read.

A record page asks the same few questions on every request: the record by id within
the user's scope (`restrict`) with its joined rows, its employments, its consents, the
custom-field definitions. Django builds and compiles each queryset anew per request,
and for short reads that is most of their cost (about 0.3 ms a query, against 0.05 ms
to run it). `fetch` builds the queryset once per key, compiles it once per database
connection, and on later calls runs the same SQL with one value changed: the SQL is
still the ORM's (and so `restrict`'s), and rows come back as the ORM would return them
(converters, `select_related` rows, `prefetch_related` lookups). Decision 0038.

The key must name everything the queryset depends on apart from the one changing value:
callers pass the scope filter itself (`permissions.scope_q`, a hashable Q) and any
flags. The changing value is written as `MARK` where the queryset takes it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import QuerySet, prefetch_related_objects
from django.db.models.query import ModelIterable, get_related_populators

# An id no row has: it stands where each run's value goes. Distinct from anything a
# scope or a flag puts into the parameters (ids are positive).
MARK = -7_316_904_201
_TEXT_MARK = str(MARK)
_LOW, _HIGH = -(2**63), 2**63 - 1  # the widest integer column (BigIntegerField)

# Plans kept per connection at most; past that the cache starts again (keys are few:
# kinds of read × the distinct scopes in use).
LIMIT = 1000

_EMPTY = object()  # the plan of a queryset that can match nothing (`none()`, `pk__in=[]`)


class _Plan:
    __slots__ = (
        "sql",
        "params",
        "slots",
        "compiler",
        "converters",
        "model",
        "init_list",
        "start",
        "end",
        "populators",
        "annotations",
        "fetch_mode",
        "prefetch",
    )

    def __init__(self, queryset: QuerySet, connection) -> None:
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()  # fills compiler.select and klass_info
        self.sql = sql
        self.params = list(params)
        # A text column takes the mark as text.
        self.slots = [i for i, value in enumerate(self.params) if value in (MARK, _TEXT_MARK)]
        self.compiler = compiler
        self.converters = compiler.get_converters([col for col, *_rest in compiler.select])
        klass_info = compiler.klass_info
        fields = klass_info["select_fields"]
        self.model = klass_info["model"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [
            col.target.attname for col, *_rest in compiler.select[self.start : self.end]
        ]
        self.fetch_mode = queryset._fetch_mode
        self.populators = get_related_populators(
            klass_info, compiler.select, connection.alias, self.fetch_mode
        )
        self.annotations = compiler.annotation_col_map
        self.prefetch = queryset._prefetch_related_lookups

    def run(self, connection, value: Any) -> list:
        params = self.params
        if self.slots:
            params = params.copy()
            for slot in self.slots:
                params[slot] = value
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        db, model, fetch_mode = connection.alias, self.model, self.fetch_mode
        objs, peers = [], []
        for row in rows:  # what ModelIterable does with each row
            obj = model.from_db(
                db, self.init_list, row[self.start : self.end], fetch_mode=fetch_mode
            )
            if fetch_mode.track_peers:
                peers.append(obj)
                obj._state.peers = peers
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations.items():
                setattr(obj, name, row[position])
            objs.append(obj)
        if self.prefetch and objs:
            prefetch_related_objects(objs, *self.prefetch)
        return objs


def fetch(model, key: Hashable, build: Callable[[int], QuerySet], value: Any = None) -> list:
    """The model instances `build(MARK)` returns with `value` in place of `MARK`.

    `build` is called once per key and connection; its queryset must return model
    instances (no `values()`), and `key` must determine it entirely apart from the
    value. With no `MARK` in it the same SQL runs with the same parameters."""
    connection = connections[router.db_for_read(model)]
    plans = connection.__dict__.setdefault("_rapport_prepared", {})
    plan = plans.get(key)
    if plan is None:
        queryset = build(MARK)
        if (
            queryset.model is not model
            or queryset._iterable_class is not ModelIterable
            or queryset._known_related_objects  # a related manager's: not kept here
        ):
            raise TypeError("a prepared read returns plain instances of the model asked for")
        try:
            plan = _Plan(queryset, connection)
        except EmptyResultSet:
            plan = _EMPTY
        if len(plans) >= LIMIT:
            plans.clear()
        plans[key] = plan
    if plan is _EMPTY or (type(value) is int and not _LOW <= value <= _HIGH):
        return []  # an id no integer column holds matches nothing, as in the ORM
    if bool(plan.slots) != (value is not None):  # a value with no place, or a place unfilled
        raise TypeError(f"the prepared read {key!r} takes {'one value' if plan.slots else 'none'}")
    return plan.run(connection, value)
