"""`rapport backup` / `rapport restore`: one archive holding the database and the uploads.

The archive is a gzip'd tar with `manifest.json` first (format version, Rapport and
Django versions, engine, applied migrations, and the SHA-256 and size of every other
member), the database dump (`database.sqlite3` or `database.pgdump`) and `media/…`.
A restore verifies everything before it touches anything: a damaged, foreign or
newer-than-this-code archive is refused with a plain message; a database that already
holds data is overwritten only with `force`. Afterwards migrations run (an older
archive is brought up to date) and the database is checked.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from rapport.core import backup_engines
from rapport.core.backup_engines import DUMP_NAMES, BackupError
from rapport.core.canonical import canonical_dump, canonical_lines  # noqa: F401 - public API

FORMAT = "rapport-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEDIA_PREFIX = "media/"
CHUNK = 1024 * 1024

__all__ = ["BackupError", "Report", "canonical_dump", "create_backup", "restore_backup"]


@dataclass
class Report:
    """What a backup or restore did, for the command to print."""

    path: Path
    engine: str
    files: int
    size: int
    migrations: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _rapport_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rapport")
    except PackageNotFoundError:
        return "unknown"


def applied_migrations(alias: str) -> list[list[str]]:
    from django.db.migrations.recorder import MigrationRecorder

    return sorted(
        [app, name] for app, name in MigrationRecorder(connections[alias]).applied_migrations()
    )


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _media_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


# --- backup ----------------------------------------------------------------------------


def create_backup(path: str | Path, *, using: str = DEFAULT_DB_ALIAS) -> Report:
    """Write the archive next to `path` first, then rename it into place (never a
    half-written file under the final name)."""
    path = Path(path)
    engine = backup_engines.engine_of(using)
    if not path.parent.is_dir():
        raise BackupError(_("The folder %(folder)s does not exist.") % {"folder": path.parent})
    with tempfile.TemporaryDirectory(prefix="rapport-backup-") as work:
        dump = Path(work) / DUMP_NAMES[engine]
        backup_engines.dump(using, dump)
        members = {dump.name: dump}
        root = media_root()
        for file in _media_files(root):
            members[MEDIA_PREFIX + file.relative_to(root).as_posix()] = file
        checksums = {
            name: {"sha256": _sha256(source), "size": source.stat().st_size}
            for name, source in members.items()
        }
        migrations = applied_migrations(using)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "rapport_version": _rapport_version(),
            "django_version": __import__("django").get_version(),
            "engine": engine,
            "database": DUMP_NAMES[engine],
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "migrations": migrations,
            "files": checksums,
        }
        partial = path.with_name(f".{path.name}.partial")
        try:
            with tarfile.open(partial, "w:gz") as archive:
                data = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode = len(data), 0o600
                archive.addfile(info, io.BytesIO(data))
                for name, source in members.items():
                    archive.add(source, arcname=name, recursive=False)
            os.chmod(partial, 0o600)  # the archive holds personal data
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    size = path.stat().st_size
    return Report(path, engine, len(members) - 1, size, len(migrations))


# --- verification --------------------------------------------------------------------


def _safe_name(name: str) -> bool:
    pure = PurePosixPath(name)
    return bool(name) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in name


def read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        member = archive.getmember(MANIFEST)
        handle = archive.extractfile(member)
        manifest = json.loads(handle.read()) if handle else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("This file is not a Rapport backup (it has no Rapport manifest)."))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            _("This backup has format version %(found)s; this Rapport reads version %(ours)s.")
            % {"found": manifest.get("format_version"), "ours": FORMAT_VERSION}
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or manifest.get("database") not in files:
        raise BackupError(_("The backup's manifest is incomplete (no database listed)."))
    return manifest


def unpack(path: Path, into: Path) -> dict:
    """Extract and verify: every member listed, none extra, every checksum right."""
    if not path.is_file():
        raise BackupError(_("There is no file at %(path)s.") % {"path": path})
    try:
        with tarfile.open(path, "r:gz") as archive:
            manifest = read_manifest(archive)
            names = [m.name for m in archive.getmembers() if m.name != MANIFEST]
            expected = set(manifest["files"])
            if set(names) != expected or len(names) != len(expected):
                raise BackupError(
                    _("The backup's contents do not match its manifest (files missing or added).")
                )
            if not all(_safe_name(name) for name in names):
                raise BackupError(_("The backup holds a file with an unsafe path; refused."))
            archive.extractall(into, members=[archive.getmember(n) for n in names], filter="data")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BackupError(
            _("The backup file is damaged or not a backup (%(error)s).") % {"error": exc}
        ) from exc
    for name, expected in manifest["files"].items():
        extracted = into / name
        if not extracted.is_file() or _sha256(extracted) != expected.get("sha256"):
            raise BackupError(
                _("The backup is damaged: %(name)s does not match its checksum.") % {"name": name}
            )
    return manifest


def check_compatible(manifest: dict, alias: str) -> None:
    """Same engine, and no migration this code does not know (a backup from a newer
    Rapport would be silently misread)."""
    from django.db.migrations.loader import MigrationLoader

    engine = backup_engines.engine_of(alias)
    if manifest.get("engine") != engine:
        raise BackupError(
            _("This backup is of a %(theirs)s database; the target database is %(ours)s.")
            % {"theirs": manifest.get("engine"), "ours": engine}
        )
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = [f"{app}.{name}" for app, name in manifest.get("migrations", [])]
    unknown = [label for label in unknown if tuple(label.split(".", 1)) not in known]
    if unknown:
        raise BackupError(
            _(
                "This backup was made by a newer Rapport (migrations unknown here: %(names)s). "
                "Upgrade Rapport first."
            )
            % {"names": ", ".join(unknown[:3]) + ("…" if len(unknown) > 3 else "")}
        )


def holds_data(alias: str) -> bool:
    """A database holds data when any user or any record of the entity kit exists."""
    from django.contrib.auth import get_user_model

    from rapport.core.registry import registry

    tables = set(connections[alias].introspection.table_names())
    models = [get_user_model(), *(entity.model for entity in registry)]
    return any(
        model._meta.db_table in tables and model._base_manager.using(alias).exists()
        for model in models
    )


# --- restore ---------------------------------------------------------------------------


def _replace_media(source: Path, root: Path) -> int:
    """Swap the uploads folder for the archived one; the old one is removed only once the
    new one is in place."""
    root.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=".media-restore-", dir=root.parent))
    count = 0
    if source.is_dir():
        shutil.copytree(source, staged, dirs_exist_ok=True)
        count = sum(1 for p in staged.rglob("*") if p.is_file())
    old = None
    if root.exists():
        old = root.with_name(f".{root.name}-old-{os.getpid()}")
        os.replace(root, old)
    os.replace(staged, root)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return count


def restore_backup(
    path: str | Path, *, using: str = DEFAULT_DB_ALIAS, force: bool = False, media: bool = True
) -> Report:
    """Verify, load the database, put the uploads back, migrate. Nothing is changed
    unless the archive is sound and compatible and the target may be overwritten."""
    from django.core.management import call_command

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="rapport-restore-") as work:
        manifest = unpack(path, Path(work))
        check_compatible(manifest, using)
        if not force and holds_data(using):
            raise BackupError(
                _(
                    "The target database already holds data; restoring would replace it. "
                    "Run again with --force to overwrite it."
                )
            )
        backup_engines.load(using, Path(work) / manifest["database"])
        files = _replace_media(Path(work) / "media", media_root()) if media else 0
    connections[using].close()
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    call_command("migrate", database=using, interactive=False, verbosity=0)
    return Report(path, manifest["engine"], files, path.stat().st_size, len(manifest["migrations"]))
