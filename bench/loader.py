"""Loading a `BenchData` into the configured database through a bulk path.

Users, teams and role assignments go through the services (there are fifty). The
millions of rows go through raw `executemany` with the keys the services store (see
`bench.dedup.load.Inserter`): companies, people with their owner, team and dates,
emails, phones, one "created" audit row per record and a long history for the busy
people. The search index is then filled by the platform's own bulk indexer
(`search.rebuild`), so what search reads is exactly what the services would write.
"""

from __future__ import annotations

import datetime
import time

from django.core.management.color import no_style
from django.db import connection, transaction

from bench.dataset import BUSY_EVENTS, TEAMS, BenchData
from bench.dedup.load import BATCH, Inserter, _e164, _next_id
from rapport.accounts.models import Team, User
from rapport.accounts.services import user_create
from rapport.contacts.models import Company, EmailAddress, Person, PhoneNumber
from rapport.core import search
from rapport.core.matching import company_match_key, person_match_key
from rapport.core.models import AuditEvent
from rapport.core.text import fold

PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway local benchmark database  # nosec B105


def make_users(data: BenchData) -> tuple[list[User], User]:
    """The fifty reps (user i in team i % 5, role "rep" on it) and an administrator."""
    users = []
    for index, name in enumerate(data.users):
        users.append(
            user_create(
                username=name,
                password=PASSWORD,
                teams=[TEAMS[data.team_of(index)]],
                roles=["rep"],
                validate=False,
            )
        )
    admin = user_create(
        username="bench-admin", password=PASSWORD, teams=[TEAMS[0]], admin=True, validate=False
    )
    return users, admin


def _json(value):
    return AuditEvent._meta.get_field("changes").get_db_prep_save(value, connection)


def load(data: BenchData) -> dict:
    """Everything into the database; returns ids, users and the seconds per phase."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    users, admin = make_users(data)
    teams = {team.name: team.pk for team in Team.objects.all()}
    team_ids = [teams[TEAMS[data.team_of(i)]] for i in range(len(users))]
    user_ids = [u.pk for u in users]
    rows, names = data.people.rows, data.people.companies
    first = data.created[0]
    companies = Inserter(
        Company,
        Company(owner=users[0], team_id=team_ids[0], created_at=first, updated_at=first),
        ["id", "name", "sort_key", "match_key", "owner_id", "team_id"],
    )
    people = Inserter(
        Person,
        Person(owner=users[0], team_id=team_ids[0], created_at=first, updated_at=first),
        [
            "id",
            "first_name",
            "last_name",
            "sort_key",
            "match_key",
            "primary_email",
            "primary_phone",
            "company_id",
            "owner_id",
            "team_id",
            "created_at",
            "updated_at",
        ],
    )
    emails = Inserter(
        EmailAddress,
        EmailAddress(person_id=0, primary=True),
        ["id", "person_id", "address", "normalized", "primary", "position"],
    )
    numbers = Inserter(
        PhoneNumber, PhoneNumber(person_id=0), ["id", "person_id", "number", "position"]
    )
    audit = Inserter(
        AuditEvent,
        AuditEvent(action="create", object_type="person", actor_label="rep01"),
        ["id", "at", "actor_id", "actor_label", "action", "object_id", "object_repr", "changes"],
    )
    prep = {"at": AuditEvent._meta.get_field("at")}
    company_id = _next_id(Company)
    company_ids = list(range(company_id, company_id + len(names)))
    person_id, email_id, phone_id = _next_id(Person), _next_id(EmailAddress), _next_id(PhoneNumber)
    audit_id = _next_id(AuditEvent)
    ids: list[int] = []
    busy = set(data.busy)

    def at(moment):
        return prep["at"].get_db_prep_save(moment, connection)

    with transaction.atomic(), connection.cursor() as cursor:
        for n, (pk, name) in enumerate(zip(company_ids, names, strict=True)):
            owner = n % len(users)
            companies.add(
                pk,
                name,
                fold(name)[:200],
                company_match_key(name),
                user_ids[owner],
                team_ids[owner],
            )
        companies.flush(cursor)
        for index, row in enumerate(rows):
            pk = person_id + index
            ids.append(pk)
            owner = data.owners[index]
            created = data.created[index]
            moment = at(created)
            typed = [_e164(p, row.locale) for p in row.phones]
            people.add(
                pk,
                row.first,
                row.last,
                fold(f"{row.last} {row.first}")[:320],
                person_match_key(row.first, row.last),
                row.emails[0] if row.emails else "",
                typed[0] if typed else "",
                company_ids[row.company] if row.company is not None else None,
                user_ids[owner],
                team_ids[owner],
                moment,
                moment,
            )
            for position, address in enumerate(row.emails):
                emails.add(email_id, pk, address, address.lower(), position == 0, position)
                email_id += 1
            for position, number in enumerate(typed):
                numbers.add(phone_id, pk, number, position)
                phone_id += 1
            label = data.users[owner]
            title = f"{row.first} {row.last}"[:200]
            changes = {"first_name": [None, row.first], "last_name": [None, row.last]}
            audit.add(audit_id, moment, user_ids[owner], label, "create", pk, title, _json(changes))
            audit_id += 1
            if index in busy:
                for step in range(BUSY_EVENTS):
                    audit_id += 1
                    audit.add(
                        audit_id - 1,
                        at(created + datetime.timedelta(hours=step + 1)),
                        user_ids[owner],
                        label,
                        "update",
                        pk,
                        title,
                        _json({"job_title": [f"Role {step}", f"Role {step + 1}"]}),
                    )
            if len(people.rows) >= BATCH:
                for inserter in (people, emails, numbers, audit):
                    inserter.flush(cursor)
        for inserter in (people, emails, numbers, audit):
            inserter.flush(cursor)
        for sql in connection.ops.sequence_reset_sql(
            no_style(), [Company, Person, EmailAddress, PhoneNumber, AuditEvent]
        ):
            cursor.execute(sql)
    seconds["rows"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    owners = [user_ids[n % len(users)] for n in range(len(company_ids))]
    index_search(data, ids, company_ids, user_ids, team_ids, owners)
    seconds["search_index"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # PostgreSQL: VACUUM too, so the visibility map lets counts read indexes alone (a
        # freshly loaded table has none, and this server runs no autovacuum)
        cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")
    seconds["analyze"] = round(time.perf_counter() - started, 1)
    return {"ids": ids, "users": users, "admin": admin, "seconds": seconds}


def index_search(
    data: BenchData,
    ids: list[int],
    company_ids: list[int],
    user_ids: list[int],
    team_ids: list[int],
    company_owners: list[int],
) -> None:
    """Search entries for everything loaded, built by the platform's own document code
    (`search.document_row`) from unsaved instances that carry their owner, team, emails,
    phones and company, and written by the engine's bulk upsert, in batches; no reads
    back. Then every entry's copy of owner and team is checked against its record."""
    from rapport.core.registry import registry

    person_entity, company_entity = registry.get("person"), registry.get("company")
    engine = search.backend()
    engine.ensure_schema()
    if connection.vendor == "postgresql":  # build the GIN indexes once, after the rows
        from rapport.core.searchbackends.postgres import TRIGRAM_INDEX

        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
            cursor.execute("DROP INDEX IF EXISTS core_search_entry_fts")
    companies = []
    team_of = dict(zip(user_ids, team_ids, strict=True))
    for pk, name, owner in zip(company_ids, data.people.companies, company_owners, strict=True):
        company = Company(id=pk, name=name, owner_id=owner, team_id=team_of[owner])
        company._prefetched_objects_cache = {"phones": []}
        companies.append(company)
    rows = []
    with transaction.atomic():
        engine.delete_all()
        for company in companies:
            rows.append(search.document_row(company_entity, company))
            if len(rows) >= BATCH:
                engine.upsert(rows)
                rows = []
        for index, (pk, row) in enumerate(zip(ids, data.people.rows, strict=True)):
            typed = [_e164(p, row.locale) for p in row.phones]
            owner = user_ids[data.owners[index]]
            person = Person(
                id=pk,
                owner_id=owner,
                team_id=team_of[owner],
                first_name=row.first,
                last_name=row.last,
                primary_email=row.emails[0] if row.emails else "",
                sort_key=fold(f"{row.last} {row.first}")[:320],
            )
            if row.company is not None:
                person.company = companies[row.company]
            person._prefetched_objects_cache = {
                "emails": [EmailAddress(address=a) for a in row.emails],
                "phones": [PhoneNumber(number=n) for n in typed],
            }
            rows.append(search.document_row(person_entity, person))
            if len(rows) >= BATCH:
                engine.upsert(rows)
                rows = []
        if rows:
            engine.upsert(rows)
    engine.ensure_schema()  # (re)creates whatever was dropped above
    engine.analyze()
    stale = search.stale_copies()
    if stale:
        raise RuntimeError(f"search entries with another owner or team than their record: {stale}")


def reset_to_loaded(last_person_id: int) -> int:
    """Remove what earlier runs added after the load (API writes, imported people, their
    rows, audit and search entries, import jobs, duplicate scans), so every run times
    the dataset as loaded. Returns the number of people removed."""
    from rapport.contacts.models import Employment
    from rapport.core.searchbackends.base import ENTRY_TABLE
    from rapport.dataio.models import DuplicateCluster, DuplicatePair, DuplicateScan, ImportJob

    extra = Person.all_objects.filter(pk__gt=last_person_id)
    count = extra.count()
    with transaction.atomic(), connection.cursor() as cursor:
        if count:
            for model in (EmailAddress, PhoneNumber, Employment):
                model.objects.filter(person_id__gt=last_person_id)._raw_delete(connection.alias)
            for through in (Person.tags.through, Person.groups.through):
                through.objects.filter(person_id__gt=last_person_id)._raw_delete(connection.alias)
            AuditEvent.objects.filter(
                object_type="person", object_id__gt=last_person_id
            )._raw_delete(connection.alias)
            if connection.vendor == "sqlite":
                cursor.execute(
                    f"DELETE FROM core_search_fts WHERE rowid IN (SELECT id FROM {ENTRY_TABLE} "  # noqa: S608  # nosec B608 # identifiers from code
                    "WHERE entity = 'person' AND object_id > %s)",
                    [last_person_id],
                )
            cursor.execute(
                f"DELETE FROM {ENTRY_TABLE} WHERE entity = 'person' AND object_id > %s",  # noqa: S608  # nosec B608 # identifiers from code
                [last_person_id],
            )
        for job in ImportJob.objects.all():
            job.rows.all()._raw_delete(connection.alias)
        ImportJob.objects.all().delete()
        DuplicateScan.objects.all().delete()
        if count:
            extra._raw_delete(connection.alias)
    if connection.vendor == "postgresql":
        # The removed rows stay behind as dead tuples until a VACUUM, and this server runs
        # without autovacuum: three runs of the import left 290k in each table and made
        # the floor's own list query three times slower; three duplicate scans left 150k
        # dead pairs and clusters and made the scan's writing phase 6 → 35 s. Outside a
        # transaction.
        tables = [m._meta.db_table for m in (DuplicateScan, DuplicateCluster, DuplicatePair)]
        if count:
            tables += [
                m._meta.db_table
                for m in (Person, EmailAddress, PhoneNumber, Employment, AuditEvent)
            ]
            tables += [Person.tags.through._meta.db_table, Person.groups.through._meta.db_table]
            tables += [ENTRY_TABLE, ImportJob.rows.field.model._meta.db_table]
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")
    return count
