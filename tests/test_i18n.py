"""The uk, ru and pl catalogues are complete, compiled, and in step with the source.

makemessages runs on a copy of the package (so the real catalogues are never touched)
and its message ids must equal those of every committed catalogue; every entry must be
translated and not fuzzy; every compiled .mo must carry the .po's translations.
"""

from __future__ import annotations

import ast
import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rapport"
LANGUAGES = ("uk", "ru", "pl")
MAKEMESSAGES_FLAGS = [
    "--no-location",
    "--no-obsolete",
    "--ignore",
    "tests/*",
    "--ignore",
    "testing/*",
]


def parse_po(path: Path) -> list[dict]:
    """A small .po reader: entries with msgctxt, msgid, msgid_plural, msgstr list, flags."""
    entries: list[dict] = []
    current: dict = {}
    field = None

    def finish():
        if "msgid" in current:
            entries.append(dict(current))
        current.clear()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            field = None
            continue
        if line.startswith("#,"):
            if "msgid" in current:
                finish()
            current.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        key, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if field and field.startswith("msgstr["):
                current["msgstr"][int(field[7:-1])] += value
            elif field == "msgstr":
                current["msgstr"][0] += value
            else:
                current[field] += value
            continue
        if (
            key in {"msgctxt", "msgid"}
            and "msgid" in current
            and key == "msgctxt"
            or (key == "msgid" and "msgstr" in current)
        ):
            finish()
        value = ast.literal_eval(rest)
        if key.startswith("msgstr["):
            index = int(key[7:-1])
            current.setdefault("msgstr", {})[index] = value
        elif key == "msgstr":
            current["msgstr"] = {0: value}
        else:
            current[key] = value
        field = key
    finish()
    return [e for e in entries if e.get("msgid") != ""]  # drop the header


def key(entry: dict) -> tuple:
    return (entry.get("msgctxt"), entry["msgid"], entry.get("msgid_plural"))


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory) -> set[tuple]:
    """Message ids extracted now from a copy of the package."""
    work = tmp_path_factory.mktemp("i18n")
    shutil.copytree(
        PACKAGE,
        work / "rapport",
        ignore=shutil.ignore_patterns("__pycache__", "*.html.py", "*.txt.py", "locale", "static"),
    )
    (work / "rapport" / "locale").mkdir()
    env = dict(
        os.environ,
        PYTHONPATH=str(work),
        RAPPORT_DATA_DIR=str(work / "var"),
        DJANGO_SETTINGS_MODULE="rapport.settings.test",
    )
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "uk", *MAKEMESSAGES_FLAGS],
        cwd=work / "rapport",
        env=env,
        check=True,
        capture_output=True,
    )
    return {key(e) for e in parse_po(work / "rapport/locale/uk/LC_MESSAGES/django.po")}


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete_and_current(language, source_ids):
    path = PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"{language}: no catalogue"
    entries = parse_po(path)
    ids = {key(e) for e in entries}
    missing = sorted(str(k[1]) for k in source_ids - ids)
    stale = sorted(str(k[1]) for k in ids - source_ids)
    assert not missing, (
        f"{language}: {len(missing)} strings not in the catalogue, e.g. {missing[:5]}"
    )
    assert not stale, f"{language}: {len(stale)} strings no longer in the source, e.g. {stale[:5]}"
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", set())]
    assert not untranslated, f"{language}: untranslated {untranslated[:5]}"
    assert not fuzzy, f"{language}: fuzzy {fuzzy[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_po(language):
    directory = PACKAGE / "locale" / language / "LC_MESSAGES"
    with (directory / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in parse_po(directory / "django.po"):
        context = entry.get("msgctxt")
        if entry.get("msgid_plural"):
            got = (
                compiled.npgettext(context, entry["msgid"], entry["msgid_plural"], 1)
                if context
                else compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1)
            )
            assert got == entry["msgstr"][0] or got == entry["msgstr"].get(1), entry["msgid"]
        else:
            got = (
                compiled.pgettext(context, entry["msgid"])
                if context
                else compiled.gettext(entry["msgid"])
            )
            assert got == entry["msgstr"][0], f"{language}: .mo is stale for {entry['msgid']!r}"
