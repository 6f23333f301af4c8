"""Spreadsheet cell safety shared by exports, import reports and the importer.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets; exports write such text with a
leading `'` (CONTRACTS.md, "Exports"). Numbers, dates and E.164 phone numbers are
values, not text, and are left intact. The importer strips the guard again so an
export → import round trip gives back the original text.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def neutralize(value):
    """The cell value to write: text a spreadsheet would evaluate gets a leading `'`."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _E164.match(value) or _NUMBER.match(value):
        return value
    return "'" + value


def unguard(value: str) -> str:
    """Undo `neutralize` on a cell read back from a file."""
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_STARTS):
        stripped = value[1:]
        if not (_E164.match(stripped) or _NUMBER.match(stripped)):
            return stripped
    return value
