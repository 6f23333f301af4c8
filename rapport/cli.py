"""The `rapport` command: named operations plus pass-through to Django management.

Every named operation is a management command (so `manage.py`, `call_command` and
`rapport` behave alike); this module picks the settings (`RAPPORT_SETTINGS`: demo or
production), prints an overview for `rapport` / `rapport help`, and turns Django's
exits into a return code for the console script.
"""

from __future__ import annotations

import os
import sys

SETTINGS_MODES = ("demo", "production", "test")

# name -> what it does (shown by `rapport help`); each is a management command.
COMMANDS = {
    "serve": "run the web server and the task worker (--host, --port, --no-worker)",
    "worker": "run background tasks, the periodic scheduler and the reaper",
    "demo": "load demo data once (about 2,000 people, 300 companies) and print logins",
    "migrate": "create or update the database tables and the search index",
    "check": "verify configuration, database, search index and libraries (exit 1 on errors)",
    "user": "user create NAME --password P|- [--email E] [--team T]... [--role R]... [--admin]",
    "token": "token create NAME [--name N]: print a new API token",
    "reindex": "rebuild the global search index",
    "import": "import FILE --type people|companies [--mapping NAME] [--user U] [--report PATH]",
    "backup": "backup FILE: the database and uploaded files in one checked archive",
    "bench": "bench --size S|M|L --engine sqlite|postgres [--only NAME,...]: time it (bench/)",
    "restore": "restore FILE [--force]: verify an archive, load it, migrate and check",
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["Usage: rapport COMMAND [options]", "", "Commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in COMMANDS.items()]
    lines += [
        "",
        "Any other Django management command works too (rapport help --commands lists them).",
        "Settings: RAPPORT_SETTINGS=demo (default) or production.",
    ]
    return "\n".join(lines)


def setup_environment() -> str | None:
    """Point Django at rapport.settings.<RAPPORT_SETTINGS>; returns an error or None."""
    mode = os.environ.get("RAPPORT_SETTINGS", "") or "demo"
    if mode not in SETTINGS_MODES:
        return f"RAPPORT_SETTINGS must be one of {', '.join(SETTINGS_MODES[:2])}, not {mode!r}."
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"rapport.settings.{mode}")
    return None


def bench(argv: list[str]) -> int:
    """`rapport bench …`: the benchmark suite lives in the source checkout's bench/ (it
    builds its own databases, so it runs before Django is set up)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    if not (root / "bench" / "runner.py").is_file():
        print("rapport bench needs the source checkout (its bench/ folder).", file=sys.stderr)
        return 2
    sys.path.insert(0, str(root))
    from bench.runner import main as run

    return run(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        return bench(argv[1:])
    passthrough = bool(argv) and argv[0] == "manage"
    if passthrough:
        argv = argv[1:]
    elif not argv or argv == ["help"] or argv in (["-h"], ["--help"]):
        print(usage())
        return 0
    elif argv[:2] == ["help", "--commands"]:
        argv = ["help"]
    problem = setup_environment()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["rapport", *argv])
    except SystemExit as exc:
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
