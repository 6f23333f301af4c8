"""The `rapport` command: named operations plus pass-through to Django management."""

from __future__ import annotations

import os
import sys


def setup_environment() -> None:
    mode = os.environ.get("RAPPORT_SETTINGS", "demo")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"rapport.settings.{mode}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    setup_environment()
    from django.core.management import execute_from_command_line

    if argv and argv[0] == "manage":
        argv = argv[1:]
    execute_from_command_line(["rapport", *argv])
    return 0


if __name__ == "__main__":
    sys.exit(main())
