"""Folding text into stored keys: one sort and match key for every script.

Łukasz → lukasz, Олександр → oleksandr: the same key on SQLite and PostgreSQL,
so keyset pages agree across engines and Cyrillic matches Latin.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

_NON_WORD = re.compile(r"[^0-9a-z@.+ ]+")
_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Lower-case ASCII transliteration with punctuation dropped and spaces collapsed."""
    if not text:
        return ""
    normal = unicodedata.normalize("NFKC", str(text))
    ascii_text = anyascii(normal).lower()
    ascii_text = _NON_WORD.sub(" ", ascii_text)
    return _SPACES.sub(" ", ascii_text).strip()


def digits(text: str | None) -> str:
    return "".join(ch for ch in str(text or "") if ch.isdigit())
