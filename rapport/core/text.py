"""Folding text into stored keys: one sort and match key for every script.

Łukasz → lukasz, Олександр → oleksandr: the same key on SQLite and PostgreSQL,
so keyset pages agree across engines and Cyrillic matches Latin.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from anyascii import anyascii

_NON_WORD = re.compile(r"[^0-9a-z@.+ ]+")
_SPACES = re.compile(r"\s+")


def _fold_text(text: str) -> str:
    normal = unicodedata.normalize("NFKC", text)
    ascii_text = anyascii(normal).lower()
    ascii_text = _NON_WORD.sub(" ", ascii_text)
    return _SPACES.sub(" ", ascii_text).strip()


# Names, companies and words repeat across records (an import or a reindex folds each
# distinct word once). Bounded, so memory stays flat whatever the input.
_fold_word = functools.lru_cache(maxsize=16384)(_fold_text)


def fold(text: str | None) -> str:
    """Lower-case ASCII transliteration with punctuation dropped and spaces collapsed.

    Folded word by word (split on the ASCII space, which every step maps to itself and
    nothing composes with), each word once: the same result as folding the whole text.
    """
    if not text:
        return ""
    text = str(text)
    if " " not in text:
        return _fold_word(text)
    return " ".join(word for word in map(_fold_word, text.split(" ")) if word)


_NOT_ASCII_DIGIT = re.compile(r"[^0-9]+")


def digits(text: str | None) -> str:
    """The digits of the text (any script's, as `str.isdigit` says)."""
    text = str(text or "")
    if text.isascii():  # the usual case, in C: ASCII digits are the only ASCII ones
        return _NOT_ASCII_DIGIT.sub("", text)
    return "".join(ch for ch in text if ch.isdigit())
