"""vCard 2.1, 3.0 and 4.0 cards as rows with fixed columns (`readers.VCARD_HEADERS`).

Cards are cut out of the file line by line and each is parsed alone by vobject, so an
address book of any size streams; a card vobject cannot read still becomes a row
(from its plain properties), so the report accounts for it.
"""

from __future__ import annotations

import quopri
import re
from collections.abc import Iterable, Iterator

import vobject

from rapport.dataio.readers import VCARD_HEADERS

_INDEX = {name: i for i, name in enumerate(VCARD_HEADERS)}


def split_cards(lines: Iterable[str]) -> Iterator[str]:
    """The text of each top-level BEGIN:VCARD … END:VCARD block."""
    depth, buffer = 0, []
    for line in lines:
        stripped = line.strip().lstrip("\ufeff").upper()
        if stripped.startswith("BEGIN:VCARD"):
            depth += 1
        if depth:
            buffer.append(line if line.endswith(("\n", "\r")) else line + "\r\n")
        if stripped.startswith("END:VCARD") and depth:
            depth -= 1
            if depth == 0:
                yield "".join(buffer)
                buffer = []
    if buffer:
        yield "".join(buffer) + "END:VCARD\r\n"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value if _text(v))
    return str(value).strip()


def _values(card, name: str) -> list:
    return [item.value for item in card.contents.get(name, [])]


def card_cells(text: str) -> list[str]:
    cells = [""] * len(VCARD_HEADERS)
    try:
        card = vobject.readOne(text, ignoreUnreadable=True, allowQP=True)
    except Exception:  # vobject raises ParseError and plain errors alike on broken cards
        return _fallback_cells(text)

    def put(header: str, value) -> None:
        cells[_INDEX[header]] = _text(value)

    put("Full name", next(iter(_values(card, "fn")), ""))
    names = _values(card, "n")
    if names and hasattr(names[0], "family"):
        name = names[0]
        put("Prefix", name.prefix)
        put("First name", name.given)
        put("Middle name", name.additional)
        put("Last name", name.family)
        put("Suffix", name.suffix)
    put("Emails", "\n".join(_text(v) for v in _values(card, "email") if _text(v)))
    phones = [_text(v).removeprefix("tel:") for v in _values(card, "tel")]
    put("Phones", "\n".join(p for p in phones if p))
    orgs = _values(card, "org")
    if orgs:
        org = orgs[0]
        put("Organization", org[0] if isinstance(org, list | tuple) and org else org)
    put("Title", next(iter(_values(card, "title")), ""))
    put("Birthday", next(iter(_values(card, "bday")), ""))
    addresses = _values(card, "adr")
    if addresses and hasattr(addresses[0], "street"):
        adr = addresses[0]
        put("Street", adr.street)
        put("City", adr.city)
        put("Region", adr.region)
        put("Postal code", adr.code)
        put("Country", adr.country)
    put("Website", next(iter(_values(card, "url")), ""))
    put("Note", "\n".join(_text(v) for v in _values(card, "note")))
    categories = []
    for value in _values(card, "categories"):
        categories += value if isinstance(value, list) else str(value).split(",")
    put("Categories", ",".join(c.strip() for c in categories if c.strip()))
    put("UID", next(iter(_values(card, "uid")), ""))
    return cells


_PROPERTY = re.compile(r"^(?:[\w-]+\.)?([A-Z-]+)((?:;[^:]*)?):(.*)$", re.IGNORECASE)


def _fallback_cells(text: str) -> list[str]:
    """Plain-property reading of a card vobject refused (unfolded, QP decoded)."""
    cells = [""] * len(VCARD_HEADERS)
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    unfolded = re.sub(r"=\r?\n", "", unfolded)
    emails, phones = [], []
    for line in unfolded.splitlines():
        match = _PROPERTY.match(line.strip())
        if not match:
            continue
        name, params, value = match.group(1).upper(), match.group(2).upper(), match.group(3)
        if "QUOTED-PRINTABLE" in params:
            charset = re.search(r"CHARSET=([\w-]+)", params)
            raw = quopri.decodestring(value.encode("latin-1", errors="replace"))
            value = raw.decode(charset.group(1) if charset else "utf-8", errors="replace")
        if name == "FN":
            cells[_INDEX["Full name"]] = value.strip()
        elif name == "N":
            parts = (value.split(";") + [""] * 5)[:5]
            for header, part in zip(
                ("Last name", "First name", "Middle name", "Prefix", "Suffix"), parts, strict=True
            ):
                cells[_INDEX[header]] = part.strip()
        elif name == "EMAIL":
            emails.append(value.strip())
        elif name == "TEL":
            phones.append(value.strip().removeprefix("tel:"))
        elif name == "ORG":
            cells[_INDEX["Organization"]] = value.split(";")[0].strip()
        elif name == "TITLE":
            cells[_INDEX["Title"]] = value.strip()
    cells[_INDEX["Emails"]] = "\n".join(e for e in emails if e)
    cells[_INDEX["Phones"]] = "\n".join(p for p in phones if p)
    if not any(cells):
        cells[_INDEX["Note"]] = text.strip()[:2000]
    return cells
