"""Global search: one interface over an FTS5 (SQLite) or pg_trgm (PostgreSQL) index.

The index holds, per record, what `registry.get(key).search_document(obj)` says
(title, subtitle, text) folded and transliterated (Олександр → oleksandr, Łukasz →
lukasz), plus the national form of every phone number, so a query typed in any
script or phone format meets the same key. Services keep it current: they call
`index_object` on commit (bulk paths `index_on_commit`), trashed records leave it and
come back on restore, `rebuild()` refills it (`rapport reindex`).

Reads are scoped in the same SQL statement: a hit exists only when the entity's
`restrict(user, "view")` queryset, correlated on the primary key, has the row. The
statement starts from the index, so the entity table is only probed by key, and only
for matching entries whose copy of the record's team and owner is in the user's scope
(decision 0040).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import phonenumbers
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F, Lookup, Q
from django.db.models.expressions import RawSQL
from django.urls import NoReverseMatch, reverse

from rapport.core import phones
from rapport.core.registry import Entity, registry
from rapport.core.searchbackends import SearchBackend, SearchQuery, backend_for
from rapport.core.searchbackends.base import ENTRY_TABLE, Row, chunks
from rapport.core.searchbackends.spelling import transliterations
from rapport.core.text import digits, fold

MAX_LIMIT = 200


@dataclass(frozen=True)
class Hit:
    """One search result: enough to render a line and link to the record."""

    entity: str
    id: int
    title: str
    subtitle: str
    url: str
    entity_label: str = ""


def backend(using: str = DEFAULT_DB_ALIAS) -> SearchBackend:
    return backend_for(connections[using])


# --- documents -----------------------------------------------------------------------


def _has_country_code(token: str) -> bool:
    """Whether "+<token>" starts with a calling code: when it does not, `parse` raises
    INVALID_COUNTRY_CODE (it tries the first 1-3 digits, none may start with 0), so the
    token is skipped at a fraction of the cost."""
    if token[0] == "0":
        return False
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    return any(int(token[:size]) in codes for size in (1, 2, 3))


def _phone_forms(text: str) -> list[str]:
    """National digits ("0671234567") for every E.164-looking digit run in the text, so a
    number typed the way people say it locally matches too."""
    forms: list[str] = []
    for token in text.split():
        national = _national_form(token)
        if national and national not in forms:
            forms.append(national)
    return forms


@functools.lru_cache(maxsize=16384)
def _national_form(token: str) -> str:
    """The national digits of "+<token>" when that is a valid number, else "" (parsed
    once per distinct token: a reindex or an import meets the same numbers again)."""
    if not token.isdigit() or not 8 <= len(token) <= 15 or not _has_country_code(token):
        return ""
    if _cannot_be_valid(token):
        return ""
    parsed = phones.from_e164("+" + token)
    if parsed is None:
        try:
            parsed = phonenumbers.parse("+" + token, None)
        except phonenumbers.NumberParseException:
            return ""
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return digits(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))


def _cannot_be_valid(token: str) -> bool:
    """Whether "+<token>" cannot be a valid number, decided from its digit count alone.

    `parse` takes the calling code as `_extract_country_code` does (the shortest prefix
    that is one); what follows stays the national number unless the main region's
    national prefix matches its start (then it may be stripped, or rewritten where the
    region has a transform rule); `is_valid_number` wants a length the region lists. So
    a number no region of the code has at that length is refused without the parse -
    most of the nine-digit tails a search document also holds (tested against the
    full check in rapport/core/tests/test_search_phone_forms.py)."""
    for size in (1, 2, 3):
        code = int(token[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            prefix, lengths, shortest = _code_lengths(code)
            rest = len(token) - size
            if prefix is None or not prefix.match(token[size:]):
                return lengths is not None and rest not in lengths
            return rest < shortest
    return False


@functools.cache
def _code_lengths(code: int) -> tuple[re.Pattern | None, frozenset[int] | None, int]:
    """For calling code `code`: its main region's national prefix pattern (None: none),
    the national lengths its regions list (None: unknown) and the fewest digits a parse
    can leave when the prefix is stripped (0 when its main region rewrites it)."""
    from phonenumbers.phonemetadata import PhoneMetadata

    lengths: set[int] = set()
    prefix, transform, known, shortest = None, False, True, 0
    for index, region in enumerate(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())):
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None or metadata.general_desc is None:
            return None, None, 0
        if index == 0 and metadata.national_prefix_for_parsing:
            prefix = re.compile(metadata.national_prefix_for_parsing)
            transform = bool(metadata.national_prefix_transform_rule)
        region_lengths = [n for n in metadata.general_desc.possible_length or () if n > 0]
        if not region_lengths:
            known = False
        lengths.update(region_lengths)
    if known and lengths and not (prefix is not None and transform):
        shortest = min(lengths)
    return prefix, frozenset(lengths) if known and lengths else None, shortest


def _dedupe(words: Iterable[str]) -> str:
    seen: dict[str, None] = {}
    for word in words:
        if word:
            seen.setdefault(word, None)
    return " ".join(seen)


def document_row(entity: type[Entity], obj) -> Row:
    """The index row of one record, built from the entity's search document."""
    doc = entity.search_document(obj)
    title = str(doc.get("title") or "")[:300]
    subtitle = str(doc.get("subtitle") or "")[:300]
    text = str(doc.get("text") or "")
    numbers = " ".join(word for word in text.split() if word.isdigit())  # all-digit words
    plain = " ".join([title, subtitle, text])
    # Only Cyrillic words have other spellings: ASCII text (most of it) is not scanned.
    cyrillic = "" if plain.isascii() else " ".join(w for w in plain.split() if not w.isascii())
    spellings = transliterations(cyrillic) if cyrillic else []
    body = _dedupe(fold(plain).split() + spellings + _phone_forms(numbers))
    title_key = fold(title)[:300]
    sort_key = str(getattr(obj, "sort_key", "") or "")[:300] or title_key
    team_id, owner_id = getattr(obj, "team_id", None), getattr(obj, "owner_id", None)
    return Row(entity.key, obj.pk, title, subtitle, title_key, sort_key, body, team_id, owner_id)


def _search_queryset(entity: type[Entity]):
    """Live rows with what `search_document` reads prefetched (no N+1 in bulk)."""
    hook = getattr(entity, "search_queryset", None)
    base = entity.model.objects.all()
    return hook(base) if hook else entity.detail_queryset(base)


# --- writes --------------------------------------------------------------------------


def index_many(objs: Iterable, *, using: str = DEFAULT_DB_ALIAS) -> int:
    """Add or refresh the entries of many records; trashed or deleted ones are removed.

    Records are re-read from the database, so what is indexed is what was committed.
    Returns the number of entries written.
    """
    by_entity: dict[str, set[int]] = {}
    for obj in objs:
        entity = registry.for_model(type(obj))
        if entity is None or obj.pk is None:
            continue
        by_entity.setdefault(entity.key, set()).add(obj.pk)
    written = 0
    for key, ids in by_entity.items():
        written += index_ids(key, sorted(ids), using=using)
    return written


def index_ids(entity_key: str, ids: Sequence[int], *, using: str = DEFAULT_DB_ALIAS) -> int:
    entity = registry.get(entity_key)
    if entity is None:
        return 0
    engine = backend(using)
    written = 0
    with transaction.atomic(using=using):
        for chunk in chunks(list(ids)):
            objs = list(_search_queryset(entity).using(using).filter(pk__in=chunk))
            rows = [document_row(entity, obj) for obj in objs]
            gone = set(chunk) - {obj.pk for obj in objs}
            if gone:
                engine.delete(entity_key, sorted(gone))
            if rows:
                engine.upsert(rows)
            written += len(rows)
    return written


def index_built(objs: Sequence, *, using: str = DEFAULT_DB_ALIAS) -> int:
    """Write the entries of live records from the instances given, now (inside the
    caller's transaction), without reading them back: for bulk creation, whose
    instances carry every value and child `search_document` reads (as prefetch
    caches). Returns the number of entries written."""
    rows = []
    for obj in objs:
        entity = registry.for_model(type(obj))
        if entity is not None and obj.pk is not None and getattr(obj, "deleted_at", None) is None:
            rows.append(document_row(entity, obj))
    if rows:
        backend(using).upsert(rows)
    return len(rows)


def index_object(obj) -> None:
    """Add, refresh or (for trashed records) remove one record's search entry."""
    index_many([obj])


def remove(entity_key: str, ids: Iterable[int], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Drop entries (purged records)."""
    ids = sorted(set(ids))
    if ids:
        backend(using).delete(entity_key, ids)


class _Batch:
    """Record ids waiting for one transaction's commit."""

    def __init__(self, using: str):
        self.using = using
        self.ids: dict[str, set[int]] = {}
        self.done = False

    def __call__(self) -> None:
        self.done = True
        for key, ids in self.ids.items():
            index_ids(key, sorted(ids), using=self.using)


def index_on_commit(objs: Iterable, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Index records once the current transaction commits.

    Calls within one transaction share one batch (found among the connection's pending
    on-commit callbacks), so a bulk path touching a record twice indexes it once; a
    rollback discards the batch together with its callback.
    """
    connection = transaction.get_connection(using)
    batch = None
    if connection.in_atomic_block:
        for _savepoints, func, _robust in connection.run_on_commit:
            if isinstance(func, _Batch) and not func.done and func.using == using:
                batch = func
                break
    fresh = batch is None
    if fresh:
        batch = _Batch(using)
    for obj in objs:
        entity = registry.for_model(type(obj))
        if entity is not None and obj.pk is not None:
            batch.ids.setdefault(entity.key, set()).add(obj.pk)
    if fresh:
        transaction.on_commit(batch, using=using)


def copies_scope(entity: type[Entity]) -> bool:
    """Whether the entity's records have the team and owner its entries copy."""
    names = {field.attname for field in entity.model._meta.concrete_fields}
    return {"team_id", "owner_id"} <= names


def stale_copies(using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Entries whose copy of their record's team or owner is not the record's (a change
    that bypassed the services): entity key -> count. Such an entry can only hide its
    record from a search (decision 0040); `rebuild()` mends it."""
    connection = connections[using]
    quote = connection.ops.quote_name
    stale = {}
    for entity in registry:
        if not copies_scope(entity):
            continue
        opts = entity.model._meta
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {ENTRY_TABLE} e JOIN {quote(opts.db_table)} r "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
                f"ON r.{quote(opts.pk.column)} = e.object_id WHERE e.entity = %s "
                "AND (e.team_id IS DISTINCT FROM r.team_id OR e.owner_id IS DISTINCT FROM r.owner_id)",
                [entity.key],
            )
            count = cursor.fetchone()[0]
        if count:
            stale[entity.key] = count
    return stale


def rebuild(*, using: str = DEFAULT_DB_ALIAS, stdout=None) -> dict[str, int]:
    """Empty and refill the whole index from live records; returns entries per entity."""
    engine = backend(using)
    engine.ensure_schema()
    counts: dict[str, int] = {}
    with transaction.atomic(using=using):
        engine.delete_all()
        for entity in registry:
            started = time.monotonic()
            ids = list(
                entity.model.objects.using(using).order_by("pk").values_list("pk", flat=True)
            )
            counts[entity.key] = index_ids(entity.key, ids, using=using)
            if stdout is not None:
                stdout.write(
                    f"{entity.verbose_name_plural}: {counts[entity.key]} "
                    f"({time.monotonic() - started:.1f} s)"
                )
    engine.analyze()
    return counts


# --- reads ---------------------------------------------------------------------------


def _scope_conditions(q, alias: str = "s", key=None) -> tuple[str, list] | None:
    """`scope_q`'s shapes (everything; owner; teams; an OR of those) as SQL on `alias`,
    or None for any other shape (then the ORM writes the probe). `key` gives each id
    the type its column is compared as (the engine's `scope_key`)."""
    if not q.children:
        return "", []
    if q.negated or (len(q.children) > 1 and q.connector != "OR"):
        return None
    key = key or (lambda value: value)
    parts, params = [], []
    for child in q.children:
        if isinstance(child, tuple):
            name, value = child
            if name == "owner_id":
                parts.append(f"{alias}.owner_id = %s")
                params.append(key(value))
                continue
            if name == "team_id__in" and value:
                parts.append(f"{alias}.team_id IN ({', '.join(['%s'] * len(value))})")
                params.extend(key(v) for v in value)
                continue
            return None
        inner = _scope_conditions(child, alias, key)
        if inner is None or not inner[0]:
            return None
        parts.append(f"({inner[0]})")
        params.extend(inner[1])
    return " OR ".join(parts), params


def _written_directly(entity: type[Entity]) -> bool:
    """Whether the entity's view scope is exactly `scope_q` on its own owner and team
    columns (its manager adds nothing but leaving out the trash)."""
    from rapport.core.querysets import LiveManager

    return type(entity.model.objects) is LiveManager


def _scope_copied(entity: type[Entity]) -> bool:
    """Whether the entity's entries copy exactly what its view scope reads (its own team
    and owner, `scope_q` as written), so that copy can stand for the scope."""
    return _written_directly(entity) and copies_scope(entity)


def _scope_sql(
    entity: type[Entity], user, alias: str, connection, q=None
) -> tuple[str, list] | None:
    """The entity's restricted queryset as an EXISTS probe on the entry's object id, or
    None when the user may view none of it. The usual scopes are written directly (the
    ORM took longer to compile the probe than the database took to run the search)."""
    from rapport.core import permissions

    if q is None:
        q = permissions.scope_q(user, entity.key, "view")
    if q is None:
        return None
    fast = _scope_conditions(q)
    if fast is not None and _written_directly(entity):
        opts = entity.model._meta
        quote = connection.ops.quote_name
        where = [f"s.{quote(opts.pk.column)} = {alias}.object_id", "s.deleted_at IS NULL"]
        if fast[0]:
            where.append(f"({fast[0]})")
        sql = f"SELECT 1 FROM {quote(opts.db_table)} s WHERE {' AND '.join(where)}"  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
        if connection.vendor == "postgresql":
            # A probe per row read, never a hash of every row the user may view: a
            # title-order walk reads a few thousand entries, a team sees 100,000s.
            sql += " OFFSET 0"
        return f"({alias}.entity = %s AND EXISTS ({sql}))", [entity.key, *fast[1]]
    qs = entity.model.objects.restrict(user, "view")
    if qs.query.is_empty():
        return None
    sql, params = _holds_entry(qs, alias, connection)
    return f"({alias}.entity = %s AND EXISTS ({sql}))", [entity.key, *params]


def _holds_entry(qs, alias: str, connection) -> tuple[str, list]:
    """`qs`'s row for the entry `alias`, by key, as a SELECT for an EXISTS: the ORM's own
    conditions of `qs` (its scope), asked of one record."""
    column = RawSQL(f"{alias}.object_id", ())  # noqa: S611 - a fixed alias, no user text  # nosec B611 # fixed SQL, values as parameters
    probe = qs.filter(pk=column).order_by().values("pk")
    return probe.query.get_compiler(connection=connection).as_sql()


@dataclass(frozen=True)
class Scope:
    """What `user` may view among the chosen entities, in the two forms search tests.

    `probe` (on the entry `e`) asks each record, through `restrict()`'s own conditions:
    it decides, and runs only for entries that match. `entries(alias)` asks the entry's
    copy of the record's team and owner (decision 0040), which the title indexes hold:
    a walk leaves out what the scope hides without reading the entry or the record. A
    stale copy could only hide a hit, never show one the probe refuses."""

    probe: str
    probe_params: list
    entities: tuple[tuple[str, object], ...]  # (entity key, scope_q or None: any row)
    engine: SearchBackend

    @classmethod
    def of(cls, user, chosen: Iterable[type[Entity]], connection) -> Scope | None:
        from rapport.core import permissions

        probes, params, kept = [], [], []
        for entity in chosen:
            q = permissions.scope_q(user, entity.key, "view")
            probe = _scope_sql(entity, user, "e", connection, q)
            if probe is None:
                continue
            probes.append(probe[0])
            params.extend(probe[1])
            kept.append((entity.key, q if _scope_copied(entity) else None))
        if not probes:
            return None
        return cls(f"({' OR '.join(probes)})", params, tuple(kept), backend_for(connection))

    def entries(self, alias: str) -> tuple[str, list]:
        parts, params = [], []
        for key, q in self.entities:
            copied, copied_params = _copied_scope(q, alias, self.engine)
            if copied:
                parts.append(f"({alias}.entity = %s AND ({copied}))")
                params.extend([key, *copied_params])
            else:
                parts.append(f"{alias}.entity = %s")
                params.append(key)
        return f"({' OR '.join(parts)})", params

    def any_copy(self, alias: str) -> tuple[str, list] | None:
        """What `entries` asks of the copy, whatever the entity: each distinct copied
        condition, OR-ed, or None where some entity's entries are all in scope. Implied
        by `entries`, so it only narrows what it is added to - and it names no entity,
        so an index of the copied columns can answer it (PostgreSQL's trigram index,
        decision 0051), where `entries` is an OR of one branch per entity, each with its
        own parameters, which the planner cannot take a common condition out of."""
        copies: list[tuple[str, list]] = []
        for _key, q in self.entities:
            copy = _copied_scope(q, alias, self.engine)
            if not copy[0]:
                return None
            if copy not in copies:
                copies.append(copy)
        sql = " OR ".join(f"({condition})" for condition, _params in copies)
        return f"({sql})", [param for _condition, params in copies for param in params]


def _copied_scope(q, alias: str, engine: SearchBackend) -> tuple[str, list]:
    """`scope_q`'s usual shapes as a condition on the entry's copy of the record's team
    and owner (decision 0040), or ("", []) where it asks nothing of them (everything, or
    a shape the copy cannot answer: the record's own scope then decides alone)."""
    fast = _scope_conditions(q, alias, engine.scope_key) if q is not None else None
    return fast if fast and fast[0] else ("", [])


def _entry_scope(user, entity: type[Entity], alias: str, engine: SearchBackend) -> tuple[str, list]:
    """What `user` may view of `entity`, on its entries' copy of the scope: the list's
    text filter leaves out the entries of records the list could not show before it
    reads them ("ack" at 1M people: 5,800 matches, 1,600 in a team). The record's own
    scope still decides; a stale copy could only hide a row, as in search."""
    from rapport.core import permissions

    if user is None or not _scope_copied(entity):
        return "", []
    return _copied_scope(permissions.scope_q(user, entity.key, "view"), alias, engine)


def _url(entity: type[Entity], pk: int) -> str:
    try:
        return reverse(f"{entity.url_base}:detail", args=[pk])
    except NoReverseMatch:
        return ""


# A part with more candidates than this walks the title index in order instead of
# sorting its candidates: a walk reads about limit x entries / matches entries before it
# has a page, so it wins exactly when the matches are many (decision 0032).
DENSE = 4000
# The sort part where its candidates are sorted from the sort-key index alone, which
# holds the title key and the scope copy (PostgreSQL): about 0.35 us an entry, where a
# walk reads an entry for every index entry it passes ("Al": 40 -> 12 ms; 0045).
DENSE_SORT_KEY = 12000
# The matches listed where the list cannot be read in title order from an index
# (PostgreSQL), up to this many, while the sample (`dense`) still skips listing at
# DENSE: a walk costs most right above that bound - it reads about limit x entries /
# matches in the user's scope - and a listing that stopped there was paid twice ("ith":
# 4,000 of 4,200 listed, then 29,346 entries walked, 100 ms; decision 0045).
DENSE_LISTED = 8000
# The same where the candidates are sorted before their entries are read (SQLite):
# then only the entries of the page and those the scope hides are read.
DENSE_SORTED = 6000
# SQLite lists up to this many matches. Listed, fewer than SORT_LISTED_BELOW are sorted;
# more are found by walking the title index and checking each entry's id against the
# list before reading the entry (SQLite reads the row only once the index entry passes),
# which costs about limit x entries / matches index entries and no row reads.
LISTED = 20000
SORT_LISTED_BELOW = 2500
# Below this many matches, the word-start part picks from them instead of its index.
WORD_FROM_LIST = 500


def _columns(rank: int) -> str:
    """What a part's SELECT returns for each entry, under the part's rank."""
    return f"{int(rank)} AS tier, e.entity, e.object_id, e.title, e.subtitle, e.title_key, e.id"


def _entry_tests(
    engine: SearchBackend, query: SearchQuery, kind: str, scope: Scope, *, kept: bool = True
) -> tuple[list[str], list]:
    """What an entry `e` of the part `kind` must pass, in the order tested: its scope
    copy (`kept`; left out where the rows come from a read that tested it already), the
    match, the part's own condition, then the record's scope probe - so the records are
    asked only about matching entries in scope."""
    match, match_params = engine.row_match(query, "e")
    part, part_params = engine.part(query, kind, "e")
    conditions = [match, part, scope.probe]
    params = [*match_params, *part_params, *scope.probe_params]
    if kept:
        copy, copy_params = scope.entries("e")
        conditions, params = [copy, *conditions], [*copy_params, *params]
    return conditions, params


def _part_select(
    engine: SearchBackend,
    query: SearchQuery,
    kind: str,
    rank: int,
    how: str,
    *,
    scope: Scope,
    take: str,
    ids: str | None = None,
) -> tuple[str, list]:
    """One part's first rows in title order, as a SELECT whose `take` (the LIMIT
    expression: 0 when the part does not run, so nothing is read) has its parameters
    appended by the caller; each entry read passes `_entry_tests`.

    `how`: "range" (the part's own condition reads the title index in order), "index"
    (the candidates its index yields, or those listed in the CTE `ids`, sorted),
    "sorted" (the same, sorted before any entry is read; see `sorted_part`) or "walk"
    (the title index in order, every entry checked - against the list `ids` first,
    when given)."""
    conditions, params = _entry_tests(engine, query, kind, scope)
    columns = _columns(rank)
    if how == "sorted":
        # candidates in title order first; their entries are read in that order, only
        # until the part has its rows (the engine's `in_order`)
        ordered, ordered_params = engine.sorted_part(query, kind, ids, scope.entries)
        sql = engine.in_order(columns, ordered, " AND ".join(conditions), take)
        return sql, [*ordered_params, *params]
    walked = (
        engine.walked(scope.entries, engine.title_prefix(query, "s")) if how == "range" else None
    )
    if walked is not None:
        # the entries in scope and in the title range from the title index alone, in
        # its order (the scope is tested there); only those are read and tested, until
        # the part has its rows
        ordered, ordered_params = walked
        tests, tests_params = _entry_tests(engine, query, kind, scope, kept=False)
        sql = engine.in_order(columns, ordered, " AND ".join(tests), take)
        return sql, [*ordered_params, *tests_params]
    if ids is not None and how in ("index", "walk"):
        # a walk tests it on the index entry, before reading the entry's row, after the
        # scope (two columns of the same entry, cheaper than a probe of the list)
        listed = f"e.id IN (SELECT id FROM {ids})"  # noqa: S608  # nosec B608 # CTE name from code
        conditions.insert(1 if how == "walk" else 0, listed)
    elif how == "index":
        candidates = engine.candidates(query, kind, "e")
        conditions.insert(0, candidates[0])
        params = [*candidates[1], *params]
    hint = engine.walk_hint if how == "walk" else ""
    where = " AND ".join(conditions)
    if how == "walk":
        where = engine.walk_condition(where)
    select = f"SELECT {columns} FROM {ENTRY_TABLE} e {hint} WHERE {where}"  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
    if how == "index":
        select = engine.sorted_candidates(select)
    return f"{select} ORDER BY title_key, id LIMIT {take}", params


def _around_select(
    engine: SearchBackend,
    query: SearchQuery,
    rank: int,
    *,
    scope: Scope,
    when: tuple[str, list],
    limit: int,
    below: str,
) -> tuple[tuple[str, list], tuple[str, list]]:
    """The sort part's walk, around the title range, which holds none of its entries:
    (the SELECT for the CTE `below`, the part's SELECT). While `when` holds (tested
    once, before anything is read), `below` takes the first `limit` rows in title order
    below the range; when they are fewer, the part walks on from the range's end for as
    many. Walked from the index's start, "A" read the whole "a" title range - 118,897
    entries at 1M, none of them the part's - before it reached "b" (decision 0045).

    Each side's LIMIT is the number itself, not an expression: a plan made without the
    values then walks the side's range in order for its first rows, where for an
    expression it counted on a tenth of the range and sorted a bitmap of it (1.9 s)."""
    conditions, params = _entry_tests(engine, query, "sort", scope)
    where = engine.around_condition(" AND ".join(conditions))
    low, high = engine.key_range("title_key", query, "e")[1]
    columns = _columns(rank)
    short = f"(SELECT count(*) FROM {below}) < {int(limit)}"  # noqa: S608  # nosec B608 # CTE name from code
    first, rest = (
        f"SELECT {columns} FROM {ENTRY_TABLE} e {engine.walk_hint} "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
        f"WHERE {gate} AND e.title_key {side} %s AND {where} "
        f"ORDER BY e.title_key, e.id LIMIT {int(limit)}"
        for gate, side in ((when[0], "<"), (f"{when[0]} AND {short}", ">="))
    )
    sql = (
        f"SELECT * FROM (SELECT * FROM {below} UNION ALL SELECT * FROM ({rest}) above) w "  # noqa: S608  # nosec B608 # SQL from code
        f"ORDER BY w.title_key, w.id LIMIT {int(limit)}"
    )
    return (first, [*when[1], low, *params]), (sql, [*when[1], high, *params])


def search_sql(
    engine: SearchBackend, query: SearchQuery, scope: Scope, limit: int
) -> tuple[str, list]:
    """The statement `search` runs: the ranked answer in four parts, each in (title_key,
    id) order and each reading at most its `limit` first rows (decision 0032):

    - "title": the title key starts with the query (rank 0): a range of the title index;
    - "sort": the sort key does, the title key does not (rank 0): from the sort-key
      index, or a walk of the title index around the title range when that has too
      many entries;
    - "word": else a word starts with the lead term (rank 1): from the matches listed
      for "any" when they are few, else from the engine's index of word starts;
    - "any": every other match (rank 2): the matches (listed, up to a bound), sorted,
      or a walk of the title index when they are more than the bound.

    The parts partition the matches, so their union ordered by rank and title is the
    ranked answer. Whether a part runs at all (the earlier ranks left the page short)
    and which way are decided in its LIMIT, which the database evaluates once, before
    reading anything.
    """
    ctes: list[str] = []
    params: list = []
    done: list[str] = []

    def add(name: str, sql: str, sql_params: list) -> None:
        ctes.append(f"{name} AS MATERIALIZED ({sql})")
        params.extend(sql_params)

    def bound(kind: str) -> int:
        if engine.sorted_part(query, kind, "m_any") is None or not engine.orders_from_index:
            if kind == "sort" and engine.sorted_part(query, kind, None) is not None:
                return DENSE_SORT_KEY
            return DENSE_LISTED if kind == "any" else DENSE
        return LISTED if kind == "any" else DENSE_SORTED

    def part(kind: str, rank: int, branches: list[tuple[str, str | None, str, list]]) -> None:
        """Add the part's CTE: one SELECT per (how, ids, condition, params) branch, each
        reading rows only when its condition holds (the branches exclude each other)."""
        earlier = done if rank > 0 else []  # the two rank-0 parts interleave
        left = " - ".join(["%s", *(f"(SELECT count(*) FROM {name})" for name in earlier)])  # noqa: S608  # nosec B608 # CTE names from code
        selects, select_params = [], []
        for n, (how, ids, condition, condition_params) in enumerate(branches):
            when = f"{left} > 0 AND {condition}" if condition else f"{left} > 0"
            if how == "around":  # rank 0: `left` is the limit itself
                below, (sql, sql_params) = _around_select(
                    engine, query, rank, scope=scope, when=(when, [limit, *condition_params]),
                    limit=limit, below=f"w_{kind}",
                )  # fmt: skip
                add(f"w_{kind}", *below)
                selects.append(f"SELECT * FROM ({sql}) {kind}{n}")  # noqa: S608  # nosec B608 # SQL from code
                select_params += sql_params
                continue
            sql, sql_params = _part_select(
                engine, query, kind, rank, how, scope=scope, ids=ids,
                take=f"CASE WHEN {when} THEN {left} ELSE 0 END",
            )  # fmt: skip
            selects.append(f"SELECT * FROM ({sql}) {kind}{n}")  # noqa: S608  # nosec B608 # SQL from code
            select_params += [*sql_params, limit, *condition_params, limit]
        add(f"p_{kind}", " UNION ALL ".join(selects), select_params)
        done.append(f"p_{kind}")

    part("title", 0, [("range", None, "", [])])
    if engine.candidates(query, "sort", "e") is not None:
        counted, counted_params = engine.counted(query, "sort")
        count = f"SELECT count(*) AS n FROM ({counted} LIMIT %s) x"  # noqa: S608  # nosec B608 # SQL from code
        add("n_sort", count, [*counted_params, bound("sort")])
        few = "sorted" if engine.sorted_part(query, "sort", None) is not None else "index"
        walk = "around" if engine.walks_around_title_range else "walk"
        part("sort", 0, [
            (few, None, "(SELECT n FROM n_sort) < %s", [bound("sort")]),
            (walk, None, "(SELECT n FROM n_sort) >= %s", [bound("sort")]),
        ])  # fmt: skip
    if engine.candidates(query, "any", "e") is None:
        return _union(ctes, params, done, limit)
    # the matches in scope, listed up to the bound: fewer means all of them
    counted, counted_params = engine.listed(query, "any", scope.any_copy("e"))
    dense = engine.dense(query, DENSE)
    if dense is None:
        add("m_any", f"{counted} LIMIT %s", [*counted_params, bound("any")])
        # counted once: each scalar subquery runs on its own, and a count of 20,000
        # listed ids in each branch's LIMIT cost more steps than the walk itself
        add("n_any", "SELECT count(*) AS n FROM m_any", [])
    else:
        # matches so many that a sample says they pass the bound: not listed (LIMIT 0
        # reads nothing), counted as the bound, so every part takes its way for many
        add("n_dense", *dense)
        is_dense = "(SELECT dense FROM n_dense)"
        add(
            "m_any",
            f"{counted} LIMIT CASE WHEN {is_dense} THEN 0 ELSE %s END",
            [*counted_params, bound("any")],
        )
        add(
            "n_any",
            f"SELECT CASE WHEN {is_dense} THEN %s ELSE count(*) END AS n FROM m_any",  # noqa: S608  # nosec B608 # CTE names from code
            [bound("any")],
        )
    few, many = "(SELECT n FROM n_any) < %s", "(SELECT n FROM n_any) >= %s"
    # word starts: among a handful of matches (two terms, a phone number) rather than
    # from the word-start index, whose common trigrams (" mi") cost more than that
    # (and the list is all of them only below its bound)
    handful = [min(WORD_FROM_LIST, bound("any"))]
    if engine.sorted_part(query, "word", "m_word") is None:
        how = "sorted" if engine.sorted_part(query, "word", None) is not None else "index"
        part("word", 1, [("index", "m_any", few, handful), (how, None, many, handful)])
    else:
        # else the word starts listed too, up to the bound: few are sorted; more are
        # found walking the title index against the list (index entries only, in scope);
        # above the bound the walk checks each entry in scope. Sorting them all read
        # every candidate's entry: 9,000 for "iar" at 1M, 0.4 s from a cold disk.
        counted, counted_params = engine.counted(query, "word")
        add("m_word", f"{counted} LIMIT %s", [*counted_params, LISTED])
        add("n_word", "SELECT count(*) AS n FROM m_word", [])
        words = "(SELECT n FROM n_word)"
        part("word", 1, [
            ("index", "m_any", few, handful),
            ("sorted", "m_word", f"{many} AND {words} < %s", [*handful, SORT_LISTED_BELOW]),
            ("walk", "m_word", f"{many} AND {words} BETWEEN %s AND %s",
             [*handful, SORT_LISTED_BELOW, LISTED - 1]),
            ("walk", None, f"{many} AND {words} >= %s", [*handful, LISTED]),
        ])  # fmt: skip
    listed = [bound("any")]
    if engine.sorted_part(query, "any", "m_any") is None:
        part("any", 2, [("index", "m_any", few, listed), ("walk", None, many, listed)])
    elif not engine.orders_from_index:
        # the list holds what ordering needs, read with it: sorted from the list alone
        part("any", 2, [("sorted", "m_any", few, listed), ("walk", None, many, listed)])
    else:
        between = "(SELECT n FROM n_any) BETWEEN %s AND %s"
        part("any", 2, [
            ("sorted", "m_any", few, [SORT_LISTED_BELOW]),
            ("walk", "m_any", between, [SORT_LISTED_BELOW, bound("any") - 1]),
            ("walk", None, many, listed),
        ])  # fmt: skip
    return _union(ctes, params, done, limit)


def _union(ctes: list[str], params: list, parts: list[str], limit: int) -> tuple[str, list]:
    # the last part first: each part's LIMIT reads the earlier parts, so this reads them
    # inside it; in rank order, SQLite 3.40 read ten times more rows
    union = " UNION ALL ".join(f"SELECT * FROM {name}" for name in reversed(parts))  # noqa: S608  # nosec B608 # identifiers from code
    sql = (
        f"WITH {', '.join(ctes)} SELECT u.entity, u.object_id, u.title, u.subtitle "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
        f"FROM ({union}) u ORDER BY u.tier, u.title_key, u.id LIMIT %s"
    )
    return sql, [*params, limit]


def search(
    user,
    text: str,
    *,
    entities: Iterable[str] | None = None,
    limit: int = 20,
    using: str = DEFAULT_DB_ALIAS,
) -> list[Hit]:
    """Records matching `text` that `user` may view, best first, in one query.

    Best = the title or sort key starts with the query, then a word starts with it,
    then any substring; ties by title (then by entry). The statement reads the answer
    in parts that each read a bounded number of entries (`search_sql`, decision 0032).
    """
    query = SearchQuery.parse(text)
    if query is None or limit <= 0:
        return []
    wanted = set(entities) if entities is not None else None
    chosen = [e for e in registry if wanted is None or e.key in wanted]
    connection = connections[using]
    scope = Scope.of(user, chosen, connection)
    if scope is None:
        return []
    engine = backend_for(connection)
    rows = engine.fetch(*search_sql(engine, query, scope, min(int(limit), MAX_LIMIT)))
    hits = []
    for key, pk, title, subtitle in rows:
        entity = registry.get(key)
        hits.append(Hit(key, pk, title, subtitle, _url(entity, pk), str(entity.verbose_name)))
    return hits


# --- the list's text filter (decision 0047) -------------------------------------------
# A page of a list (an ORDER BY that an index holds, and a LIMIT up to this) walks that
# index and asks each row's entry whether it matches, once the matches are so many
# that listing them all costs more than the walk; every other query lists them.
WALK_MAX_LIMIT = 201


class _TextMatch(Lookup):
    """`<pk>` matches the list's text query: `<pk> IN (<listed matches>)`, or for a page
    of many matches `EXISTS (<this row's entry matches>)`.

    Listing reads every match of the entity (87,000 entries for "ova" at 1M people,
    0.1-0.3 s) before the first row of a page; a walk in the page's order reads about
    limit x entries / matches rows, one entry probe each. The walk wins when
    matches^2 >= walk_cost x limit x entries; the LIMIT and ORDER BY are known only
    here, when the query is compiled, so a capped count, an export or a bulk action
    (no small LIMIT, or no indexed order) keep the listing."""

    lookup_name = "text_match"
    prepare_rhs = False

    def __init__(
        self,
        lhs,
        *,
        listed,
        walked,
        matches: int | None,
        entries: int,
        cost: float,
        ids: list[int] | None = None,
    ):
        self.listed, self.walked, self.ids = listed, walked, ids
        self.matches, self.entries, self.cost = matches, entries, cost
        super().__init__(lhs, None)

    def _walks(self, query) -> bool:
        if self.matches is None or query.high_mark is None:
            return False
        limit = query.high_mark - query.low_mark
        if limit > WALK_MAX_LIMIT or self.matches**2 < self.cost * limit * self.entries:
            return False
        from rapport.core.filters import _order_lead, indexed_leads

        lead = _order_lead(query)
        return lead is not None and lead in indexed_leads(query.model)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = compiler.compile(self.lhs)
        if self._walks(compiler.query):
            (head, head_params), (tail, tail_params) = self.walked
            return f"{head}{lhs}{tail}", [*head_params, *lhs_params, *tail_params]
        if self.ids is not None:  # the matches read already (PostgreSQL: `listed_ids`)
            return f"{lhs} = ANY(%s)", [*lhs_params, self.ids]
        sql, params = self.listed
        return f"{lhs} IN ({sql})", [*lhs_params, *params]


def planned_for_values(using: str = DEFAULT_DB_ALIAS):
    """A context whose statements are planned for their own values: on PostgreSQL, where
    a text-filtered list's statement would otherwise keep one plan for every term
    (`SearchBackend.values_planned`, decision 0047); elsewhere nothing."""
    return backend_for(connections[using]).values_planned()


def count_matches(qs, text: str, cap: int, user=None) -> int | None:
    """The rows of `qs` whose entry matches `text`, counted up to `cap + 1`, or None when
    the text asks nothing (the caller counts `qs` itself).

    Driven from the index, so the count stops at the cap: "ova" reads about 3,000 of
    its 87,000 entries for a team that sees a third of the people, where `id IN (<every
    match>)` read them all (decision 0047). Each entry read asks `qs` itself, by key,
    whether it holds the row: the same rows as the filtered list, by construction (with
    `user`, the entries outside the user's copied scope are left out before, as the list
    leaves them out: `_entry_scope`).
    SQLite only (`counts_from_index`): PostgreSQL builds the trigram bitmap whole before
    the first row, and its listed count was as fast ("ova" 53 against 73 ms)."""
    query = SearchQuery.parse(text)
    entity = registry.for_model(qs.model)
    connection = connections[qs.db]
    engine = backend_for(connection)
    if query is None or entity is None or not engine.counts_from_index:
        return None
    source_sql, match_sql, match_params = engine.source(query, "e")
    probe_sql, probe_params = _holds_entry(qs, "e", connection)
    kept, kept_params = _entry_scope(user, entity, "e", engine)
    sql = (
        f"SELECT count(*) FROM (SELECT 1 FROM {source_sql} WHERE {match_sql} "  # noqa: S608  # nosec B608 # identifiers from code and the ORM, values as parameters
        f"AND e.entity = %s {_and(kept)}AND EXISTS ({probe_sql}) LIMIT {int(cap) + 1}) c"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*match_params, entity.key, *kept_params, *probe_params])
        return cursor.fetchone()[0]


def filter_queryset(qs, text: str, user=None):
    """Narrow an entity queryset to rows matching `text` (the list's `q` filter).

    The caller's queryset keeps its scope and ordering; the index only says which
    primary keys match (listed, or asked row by row on a page of many matches: see
    `_TextMatch`), so lists and the palette agree. With `user` (whose view scope the
    queryset has), every form leaves out the entries whose copy of the scope the user
    does not see (`_entry_scope`), as search does.
    """
    query = SearchQuery.parse(text)
    if query is None:
        return qs
    entity = registry.for_model(qs.model)
    if entity is None:
        folded = fold(text)
        return qs.filter(Q(sort_key__contains=folded)) if folded else qs
    engine = backend_for(connections[qs.db])
    source_sql, match_sql, match_params = engine.source(query, "e")
    kept, kept_params = _entry_scope(user, entity, "e", engine)
    listed_sql = (
        f"SELECT e.object_id FROM {source_sql} WHERE {match_sql} AND e.entity = %s "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
        f"{_and(kept)}"
    )
    listed = (listed_sql.rstrip(), [*match_params, entity.key, *kept_params])
    row_sql, row_params = engine.row_match(query, "w")
    walk_kept, walk_kept_params = _entry_scope(user, entity, "w", engine)
    # around the row's primary key, which the compiler names (an alias in a subquery)
    head = f"EXISTS (SELECT 1 FROM {ENTRY_TABLE} w WHERE w.entity = %s AND w.object_id = "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
    tail = f" AND {row_sql} {_and(walk_kept)}".rstrip() + ")"  # the row's entry, in scope
    walked = ((head, [entity.key]), (tail, [*row_params, *walk_kept_params]))
    entries = engine.entry_count()
    cap = int((engine.walk_cost * WALK_MAX_LIMIT * entries) ** 0.5) + 1
    matches = engine.match_count(query, cap, entries=entries)
    # few enough that a list page lists them: read once, and given as a value
    page = (engine.walk_cost * listing_page_rows() * entries) ** 0.5
    ids = None
    if matches is not None and matches < page:
        ids = engine.listed_ids(query, entity.key, int(page), (kept, kept_params))
    return qs.filter(
        _TextMatch(
            F("pk"),
            listed=listed,
            walked=walked,
            matches=matches,
            entries=entries,
            cost=engine.walk_cost,
            ids=ids,
        )
    )


def lists_every_match(qs) -> bool:
    """Whether `qs` (ordered and sliced as a list page) reads every row its text filter
    matches anyway: the filter lists them or takes their ids, where a page of many
    matches would walk (`_TextMatch`). Then the page can count them as it reads them
    (`listing`, decision 0050) instead of a second statement reading them again."""
    query = qs.query
    match = next((c for c in query.where.children if isinstance(c, _TextMatch)), None)
    return match is not None and not match._walks(query)


def _and(condition: str) -> str:
    return f"AND ({condition}) " if condition else ""


def listing_page_rows() -> int:
    """The rows a list page reads: its page and one more, to know there are more."""
    from rapport.core.listing import PAGE_SIZE

    return PAGE_SIZE + 1
