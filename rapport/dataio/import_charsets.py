"""Telling text encodings apart: a byte-order mark first, then strict UTF-8 over the
whole file (streamed), then a score of each single-byte candidate on the sample.

Cyrillic windows-1251 and KOI8 use the same bytes for opposite letter cases, so the
wrong one turns "Шевченко" into "шЕВЧЕНКО": the score rewards lower-case letters after
a capital and punishes capitals inside words, symbols where letters should be and
words mixing scripts. KOI8-U differs from KOI8-R only in є, і, ї, ґ (box-drawing
symbols in KOI8-R); windows-1250 and ISO-8859-2 differ in ą, ś, ź and their capitals.
charset-normalizer decides when no candidate stands out.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

ENCODINGS: list[tuple[str, str]] = [
    ("utf-8", gettext_lazy("Unicode (UTF-8)")),
    ("utf-8-sig", gettext_lazy("Unicode (UTF-8 with BOM)")),
    ("utf-16", gettext_lazy("Unicode (UTF-16)")),
    ("cp1251", gettext_lazy("Cyrillic (Windows-1251)")),
    ("cp1250", gettext_lazy("Central European (Windows-1250)")),
    ("koi8-u", gettext_lazy("Ukrainian (KOI8-U)")),
    ("koi8-r", gettext_lazy("Russian (KOI8-R)")),
    ("iso-8859-2", gettext_lazy("Central European (ISO-8859-2)")),
]
SINGLE_BYTE = ("cp1251", "koi8-u", "koi8-r", "cp1250", "iso-8859-2")
_CHUNK = 1024 * 1024


def check(encoding: str) -> str:
    """A manually chosen encoding, normalised to one of ENCODINGS' codecs."""
    wanted = encoding.strip().lower().replace("_", "-")
    aliases = {
        "windows-1251": "cp1251",
        "windows-1250": "cp1250",
        "utf8": "utf-8",
        "latin2": "iso-8859-2",
        "koi8u": "koi8-u",
        "koi8r": "koi8-r",
        "utf16": "utf-16",
    }
    wanted = aliases.get(wanted, wanted)
    if wanted not in {codec for codec, _label in ENCODINGS} | {"utf-16-le", "utf-16-be"}:
        raise ValidationError(
            {"encoding": [_("Unknown encoding “%(name)s”.") % {"name": encoding}]}
        )
    return wanted


def looks_utf16(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    sample = head[:2000]
    if len(sample) < 4:
        return False
    zeros_odd = sample[1::2].count(0)
    zeros_even = sample[0::2].count(0)
    half = len(sample) // 2
    return max(zeros_odd, zeros_even) > half * 0.3 and min(zeros_odd, zeros_even) < half * 0.05


def _utf16_order(head: bytes) -> str:
    """UTF-16 without a byte-order mark: little-endian when the zero bytes of ASCII
    characters come second."""
    return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"


def with_byte_order(encoding: str, head: bytes) -> str:
    """A chosen encoding as it will read this file: "utf-16" for a file without a
    byte-order mark takes the order its bytes show (Python's "utf-16" codec refuses such
    a file outright), and a file that is not UTF-16 at all is an error naming the field."""
    if encoding != "utf-16" or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return encoding
    if not looks_utf16(head):
        raise ValidationError({"encoding": [_("This file is not in UTF-16.")]})
    return _utf16_order(head)


def detect(path: str, head: bytes) -> str:
    """The encoding of a text file (the first bytes in `head`, the rest read in chunks)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if looks_utf16(head):
        return _utf16_order(head)
    if _is_utf8(path):
        return "utf-8"
    return best_single_byte(_non_ascii_sample(path))


def _is_utf8(path: str) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _non_ascii_sample(path: str, limit: int = 256 * 1024) -> bytes:
    """Lines holding non-ASCII bytes (the only ones that tell encodings apart)."""
    picked, total = [], 0
    with open(path, "rb") as fh:
        for line in fh:
            if any(b > 127 for b in line):
                picked.append(line)
                total += len(line)
                if total >= limit:
                    break
    return b"".join(picked)


_WORD = re.compile(r"[^\W\d_]+")


def score(text: str) -> int:
    """How much a decoded text looks like real words in one script."""
    points = 0
    for ch in text:
        if ord(ch) > 127 and not ch.isalpha():
            if unicodedata.category(ch)[0] in "SCZ" or ch in "¤¦§©¬®°±µ¶·":
                points -= 4
    for word in _WORD.findall(text):
        if all(ord(ch) < 128 for ch in word):
            continue
        points += sum(1 for ch in word if ord(ch) > 127)
        if len({_script(ch) for ch in word} - {""}) > 1:
            points -= 3 * len(word)
        for prev, ch in zip(word, word[1:], strict=False):
            if prev.islower() and ch.isupper():
                points -= 3
        if len(word) > 1 and word[0].isupper() and word[1:].islower():
            points += 2
        if len(word) > 1 and word[0].islower() and word[1:].isupper():
            points -= 4
    return points


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    if name.startswith("CYRILLIC"):
        return "cyrillic"
    if name.startswith("LATIN"):
        return "latin"
    return ""


def best_single_byte(sample: bytes) -> str:
    if not sample:
        return "utf-8"
    scored = []
    for order, codec in enumerate(SINGLE_BYTE):
        text = sample.decode(codec, errors="replace")
        scored.append((score(text) - text.count("\ufffd") * 5, -order, codec))
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        tied = {c for s, _o, c in scored if s == scored[0][0]}
        guess = _normalizer_guess(sample)
        if guess in tied:
            return guess
    return scored[0][2]


def _normalizer_guess(sample: bytes) -> str:
    import charset_normalizer

    names = {
        "cp1251": "cp1251",
        "cp1250": "cp1250",
        "koi8_u": "koi8-u",
        "koi8_r": "koi8-r",
        "iso8859_2": "iso-8859-2",
    }
    best = charset_normalizer.from_bytes(sample, cp_isolation=list(names)).best()
    return names.get(best.encoding, "") if best else ""
