"""Backups that can be restored: round trip, refusals, integrity — on SQLite and PostgreSQL.

The restore target is a second database (a file on SQLite, `rapport_g_restore_<pid>` on
PostgreSQL, created and dropped here) so the test database itself is never replaced.
"""

from __future__ import annotations

import copy
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from rapport.contacts.models import Person
from rapport.core import backup_engines
from rapport.core.backup import (
    BackupError,
    canonical_dump,
    create_backup,
    holds_data,
    restore_backup,
)
from rapport.core.integrity import integrity_problems
from rapport.testing.factories import CompanyFactory, PersonFactory

TARGET = "restore_target"


def _pg_admin(settings_dict):
    import psycopg

    return psycopg.connect(
        dbname="postgres",
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        autocommit=True,
    )


@pytest.fixture
def committed(transactional_db):
    """Data a backup can see must be committed; a flushed database lacks the built-in
    roles the personas need, and the search tables (not models) are emptied after."""
    from rapport.accounts.models import Role
    from rapport.accounts.roles import ensure_builtin_roles
    from rapport.core import search

    ensure_builtin_roles(Role)
    yield
    search.backend().delete_all()


@pytest.fixture
def target_db(tmp_path):
    """A second, empty database as the `restore_target` connection, for this test only.

    The connection is made by hand, not through settings.DATABASES: other tests (and
    `check`, which visits every configured database) never see it. On PostgreSQL the
    database is `rapport_g_restore_<pid>`, created and dropped here."""
    from django.db.utils import load_backend

    source = connections["default"].settings_dict
    config = copy.deepcopy(source)
    if connection.vendor == "postgresql":
        config["NAME"] = f"rapport_g_restore_{os.getpid()}"
        with _pg_admin(source) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{config["NAME"]}"')
    else:
        config["NAME"] = str(tmp_path / "target.sqlite3")
    wrapper = load_backend(config["ENGINE"]).DatabaseWrapper(config, TARGET)
    connections[TARGET] = wrapper
    try:
        yield TARGET
    finally:
        wrapper.close()
        del connections[TARGET]
        if connection.vendor == "postgresql":
            with _pg_admin(source) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')


@pytest.fixture
def media(settings, tmp_path):
    root = tmp_path / "media"
    (root / "people" / "2026").mkdir(parents=True)
    (root / "people" / "2026" / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (root / "imports").mkdir()
    (root / "imports" / "list ü.csv").write_text("first_name\nŁukasz\n", encoding="utf-8")
    settings.MEDIA_ROOT = str(root)
    return root


def _data(alice, carol):
    from rapport.contacts.services.relations import employment_add

    acme = CompanyFactory(actor=alice, name="Acme")
    lukasz = PersonFactory(
        actor=alice,
        first_name="Łukasz",
        last_name="Nowak",
        emails=[{"address": "lukasz@example.com"}],
        phones=[{"number": "+380671234567"}],
    )
    employment_add(actor=alice, person=lukasz, company=acme, title="CTO")
    PersonFactory(
        actor=carol,
        first_name="Олександр",
        last_name="Шевченко",
        emails=[{"address": "oleksandr@example.com"}],
    )
    odd = PersonFactory(actor=alice, first_name="Odd")
    Person.objects.filter(pk=odd.pk).update(notes='tab\there, quote " and newline\n')


def _dump(alias: str) -> str:
    stream = io.BytesIO()
    canonical_dump(stream, using=alias)
    return stream.getvalue().decode()


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_backup_restore_round_trip_gives_identical_canonical_dump(
    committed, alice, carol, media, target_db, tmp_path, settings
):
    _data(alice, carol)
    before, files_before = _dump("default"), _files(media)
    assert '"Łukasz"' in before and '"Олександр"' in before

    archive = tmp_path / "rapport.tar.gz"
    report = create_backup(archive, using="default")
    assert report.files == 2 and archive.stat().st_mode & 0o077 == 0

    settings.MEDIA_ROOT = str(tmp_path / "restored-media")
    restore_backup(archive, using=target_db)
    assert _dump(target_db) == before
    assert _files(Path(settings.MEDIA_ROOT)) == files_before
    assert integrity_problems(target_db) == []


def test_restore_needs_force_to_overwrite_a_database_with_data(
    committed, alice, carol, target_db, tmp_path
):
    _data(alice, carol)
    before = _dump("default")
    archive = tmp_path / "b.tar.gz"
    call_command("backup", str(archive), stdout=io.StringIO())
    restore_backup(archive, using=target_db, media=False)
    Person.objects.using(target_db).filter(first_name="Łukasz").update(first_name="Changed")

    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(archive), database=target_db, no_media=True)
    assert Person.objects.using(target_db).filter(first_name="Changed").exists()

    out = io.StringIO()
    call_command("restore", str(archive), database=target_db, force=True, no_media=True, stdout=out)
    assert "found no problem" in out.getvalue()
    assert _dump(target_db) == before


# --- archives that must be refused ---------------------------------------------------------


@pytest.fixture
def archive(committed, alice, tmp_path, settings):
    """A sound archive (committed data: SQLite cannot back up a connection mid-write)."""
    settings.MEDIA_ROOT = str(tmp_path / "empty-media")
    PersonFactory(actor=alice, first_name="Kept")
    path = tmp_path / "good.tar.gz"
    create_backup(path)
    return path


def _rewrite(source: Path, target: Path, *, manifest=None, content=None, extra=None) -> Path:
    """Copy an archive, changing its manifest, one member's bytes, or adding a member."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()
            if member.name == "manifest.json" and manifest:
                data = json.dumps(manifest(json.loads(data))).encode()
            elif content and member.name in content:
                data = content[member.name]
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    return target


def _refused(path: Path, match: str, alias: str) -> None:
    with pytest.raises(BackupError, match=match):
        restore_backup(path, using=alias, force=True, media=False)


def test_truncated_or_foreign_files_are_refused(archive, tmp_path, target_db):
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    _refused(truncated, "damaged or not a backup", target_db)
    noise = tmp_path / "noise.tar.gz"
    noise.write_bytes(os.urandom(4096))
    _refused(noise, "damaged or not a backup", target_db)
    plain = tmp_path / "plain.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        tar.add(archive, arcname="something.bin")
    _refused(plain, "not a Rapport backup", target_db)
    _refused(tmp_path / "missing.tar.gz", "no file", target_db)
    assert not holds_data(target_db)  # nothing was touched


def test_tampered_database_fails_its_checksum(archive, tmp_path, target_db):
    name = "database.sqlite3" if connection.vendor == "sqlite" else "database.pgdump"
    bad = _rewrite(archive, tmp_path / "bad.tar.gz", content={name: b"not the database"})
    _refused(bad, f"{name} does not match its checksum", target_db)


def test_added_or_unsafe_members_are_refused(archive, tmp_path, target_db):
    added = _rewrite(archive, tmp_path / "added.tar.gz", extra={"media/x.txt": b"x"})
    _refused(added, "do not match its manifest", target_db)

    def listed(manifest):
        manifest["files"]["../escape.txt"] = {"sha256": "0", "size": 1}
        return manifest

    unsafe = _rewrite(
        archive, tmp_path / "unsafe.tar.gz", manifest=listed, extra={"../escape.txt": b"x"}
    )
    _refused(unsafe, "unsafe path", target_db)
    assert not (tmp_path / "escape.txt").exists()


def test_other_engine_newer_migrations_and_format_are_refused(archive, tmp_path, target_db):
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"

    def engine(manifest):
        return dict(manifest, engine=other)

    def newer(manifest):
        return dict(manifest, migrations=[*manifest["migrations"], ["core", "9999_future"]])

    def version(manifest):
        return dict(manifest, format_version=99)

    _refused(
        _rewrite(archive, tmp_path / "e.tar.gz", manifest=engine), "target database", target_db
    )
    _refused(
        _rewrite(archive, tmp_path / "m.tar.gz", manifest=newer), "core.9999_future", target_db
    )
    _refused(_rewrite(archive, tmp_path / "v.tar.gz", manifest=version), "version 99", target_db)


def test_restore_command_explains_refusal_without_traceback(archive, tmp_path):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(CommandError, match="damaged or not a backup"):
        call_command("restore", str(broken), force=True)


def test_backup_into_missing_folder_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("backup", str(tmp_path / "no" / "such" / "b.tar.gz"))


def test_missing_pg_tools_are_named(monkeypatch):
    monkeypatch.delenv("RAPPORT_PG_BIN", raising=False)
    monkeypatch.setattr(backup_engines.shutil, "which", lambda name: None)
    monkeypatch.setattr(backup_engines.glob, "glob", lambda pattern: [])
    with pytest.raises(BackupError, match="pg_restore was not found.*RAPPORT_PG_BIN"):
        backup_engines.pg_binary("pg_restore")


def test_cli_lists_backup_and_restore():
    from rapport import cli

    assert "backup FILE" in cli.usage() and "restore FILE [--force]" in cli.usage()


# --- integrity (rapport check) ---------------------------------------------------------


def test_integrity_check_passes_on_a_sound_database(alice):
    from rapport.core.checks import integrity_errors

    PersonFactory(actor=alice)
    assert integrity_problems() == [] and integrity_errors() == []


def test_integrity_check_reports_broken_database_in_plain_words(alice):
    from rapport.core.checks import integrity_errors

    if connection.vendor == "sqlite":
        # Foreign keys are deferred on SQLite: the orphan lives until the test rolls back.
        orphan = PersonFactory(actor=alice)
        Person.objects.filter(pk=orphan.pk).update(owner_id=987654)
        expected = "point at rows that do not exist"
    else:
        # An explicit id leaves the identity sequence behind (a classic bad restore).
        from rapport.accounts.models import Team

        Team.objects.create(id=10**9, name="Explicit id")
        expected = "id counters of 1 tables are behind their rows (accounts_team)"
    problems = integrity_problems()
    assert any(expected in problem for problem in problems), problems
    errors = integrity_errors()
    assert errors and errors[0].id == "rapport.E011" and "rapport restore" in errors[0].hint
    if connection.vendor == "sqlite":  # Django checks deferred constraints before rollback
        Person.objects.filter(pk=orphan.pk).update(owner_id=alice.pk)
