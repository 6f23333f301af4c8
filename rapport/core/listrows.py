"""List rows rendered in Python: one `<tr>` per record, every value escaped.

A list page shows 50 rows of up to a dozen columns; through template tags that is
thousands of node renders per page, most of the page's time. Here each cell is one
`format_html` call and the detail URL is reversed once per page, so the rows cost
about a millisecond. The markup is the same the template wrote before.
"""

from __future__ import annotations

import datetime
import functools
import html
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.formats import get_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from rapport.core.presenters import ALIASES, cell
from rapport.core.registry import Column

_PROBE = 987_654_321_987  # an id no URL pattern can confuse with anything else
NOWRAP = frozenset({"phone", "created_at", "updated_at"})


def _cell_class(index: int, key: str) -> str:
    classes = "col-primary" if index == 0 else ("col-secondary" if index >= 3 else "")
    if key in NOWRAP:
        classes += " whitespace-nowrap"
    return classes


def _esc(value) -> str:
    """`conditional_escape` without its lazy-text wrapper: safe text as it is, anything
    else through the same `html.escape` Django's `escape` uses."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _content(index: int, key: str, value, row, url: str) -> str:
    if index == 0:
        return f'<a href="{url}" class="font-medium">{_esc(value or row)}</a>'
    if isinstance(value, list | tuple):
        badges = "".join(f'<span class="badge">{_esc(item)}</span>' for item in value)
        return f'<span class="inline-flex flex-wrap gap-1">{badges}</span>'
    if key == "email" and value:
        text = _esc(value)
        return f'<a href="mailto:{text}">{text}</a>'
    return _esc(value)


# Format characters a short date format is made of, as Django's dateformat writes them.
_DATE_PARTS = {
    "d": lambda v: f"{v.day:02d}",
    "j": lambda v: str(v.day),
    "m": lambda v: f"{v.month:02d}",
    "n": lambda v: str(v.month),
    "Y": lambda v: f"{v.year:04d}",
    "y": lambda v: f"{v.year % 100:02d}",
    "H": lambda v: f"{v.hour:02d}",
    "G": lambda v: str(v.hour),
    "i": lambda v: f"{v.minute:02d}",
    "s": lambda v: f"{v.second:02d}",
    "g": lambda v: str(v.hour % 12 or 12),
    "h": lambda v: f"{v.hour % 12 or 12:02d}",
}

# Codes that write words (a.m., noon …): Django's own format and its translations.
_WORD_CODES = frozenset("aAP")


@functools.lru_cache(maxsize=4096)
def _words(code: str, language: str | None, hour: int, minute: int) -> str:
    """Django's `TimeFormat` for a code that writes words ("a.m.", "noon"): they depend
    only on the hour, the minute (for "P") and the language, so each is worked out once,
    in that language whichever is active now."""
    with translation.override(language):
        return getattr(dateformat.TimeFormat(datetime.time(hour, minute)), code)()


def _word_part(code: str, language: str | None):
    if code == "P":
        return lambda v: _words("P", language, v.hour, v.minute)
    return lambda v: _words(code, language, v.hour, 0)


def date_formatter(fmt: str):
    """A function writing a date or time as `dateformat.format(value, fmt)` does:
    compiled once for formats made of day, month, year, hour, minute and second codes and
    punctuation, Django's own for any other. Words are written in the language active
    when the formatter is made (once a page)."""
    if any(ch.isalpha() and ch not in _DATE_PARTS and ch not in _WORD_CODES for ch in fmt) or (
        "\\" in fmt
    ):
        return lambda value: dateformat.format(value, fmt)
    language = translation.get_language()
    parts = [
        _word_part(ch, language) if ch in _WORD_CODES else _DATE_PARTS.get(ch, ch) for ch in fmt
    ]
    return lambda value: "".join(p if isinstance(p, str) else p(value) for p in parts)


class _Dates:
    """Dates formatted as `presenters.display_value` does, with the format and zone
    looked up once per page instead of once per cell."""

    def __init__(self):
        self.format = date_formatter(get_format("SHORT_DATE_FORMAT"))
        self.zone = timezone.get_current_timezone()

    def __call__(self, row, key: str):
        value = getattr(row, ALIASES.get(key, key), None)
        if isinstance(value, datetime.datetime):
            return self.format(value.astimezone(self.zone))
        if isinstance(value, datetime.date):
            return self.format(value)
        return cell(row, key)


def render_rows(rows, columns: list[Column], url_base: str) -> list[SafeString]:
    """The `<tr>` of every row, in order (every value escaped here, once)."""
    value_of = _Dates()
    pattern = escape(reverse(f"{url_base}:detail", args=[_PROBE]))
    select = escape(_("Select"))
    heads = [
        (
            index,
            column.key,
            f'<td data-label="{escape(column.label)}" class="{_cell_class(index, column.key)}">',
        )
        for index, column in enumerate(columns)
    ]
    out = []
    for row in rows:
        url = pattern.replace(str(_PROBE), str(row.pk))
        cells = "".join(
            f"{opening}{_content(index, key, value_of(row, key), row, url)}</td>"
            for index, key, opening in heads
        )
        out.append(
            mark_safe(  # noqa: S308 - every value above went through escape()  # nosec B308 B703
                f'<tr><td class="col-select"><input type="checkbox" class="checkbox" name="ids" '
                f'value="{row.pk}" data-row-select aria-label="{select} {escape(row)}"></td>'
                f"{cells}</tr>"
            )
        )
    return out


def filter_fields_html(fields, params, field_errors: dict[str, list]) -> SafeString:
    """The filter panel's fields (every filter but the search box), each label, value
    and error escaped here: a dozen fields through template tags were a tenth of a list
    page's time. The markup is what kit/list.html wrote before."""
    parts = []
    for name, label in fields:
        if name == "q":
            continue
        errors = field_errors.get(name) or []
        invalid = " field-invalid" if errors else ""
        field_id = escape(f"filter-{name}")
        messages = "".join(f'<p class="field-error">{escape(e)}</p>' for e in errors)
        parts.append(
            f'<div class="field{invalid}">'
            f'<label class="field-label" for="{field_id}">{escape(label)}</label>'
            f'<input type="text" id="{field_id}" name="{escape(name)}" '
            f'value="{escape(params.get(name, ""))}">{messages}</div>'
        )
    return mark_safe("\n".join(parts))  # noqa: S308  # nosec B308 B703 # every value above is escaped


def query_string(params, **changes) -> str:
    """`params` (a QueryDict) as a query string with some keys replaced or, for None,
    removed: what the `{% query %}` tag writes."""
    values = dict(params.lists())
    for key, value in changes.items():
        if value is None or value == "":
            values.pop(key, None)
        else:
            values[key] = [value]
    encoded = urlencode([(key, str(item)) for key, items in values.items() for item in items])
    return f"?{encoded}" if encoded else "?"


def header_cells_html(columns, sortable: dict, ordering: str, list_url: str, params) -> SafeString:
    """The `<th>` of every shown column: a sort link where the column sorts (the active
    one with its direction), the label alone where it does not."""
    from rapport.core.templatetags.rapport_ui import icon

    base = escape(list_url)
    parts = []
    for column in columns:
        label = escape(column.label)
        order = sortable.get(column.key)
        if not order:
            parts.append(f'<th scope="col">{label}</th>')
            continue
        if ordering == order:
            link = escape(query_string(params, ordering=f"-{order}", cursor=None))
            inner, css = f"{label}{icon('arrow-up', 'size-3')}", "sort-link sort-active"
        elif ordering == f"-{order}":
            link = escape(query_string(params, ordering=order, cursor=None))
            inner, css = f"{label}{icon('arrow-down', 'size-3')}", "sort-link sort-active"
        else:
            link = escape(query_string(params, ordering=order, cursor=None))
            inner, css = label, "sort-link"
        parts.append(f'<th scope="col"><a class="{css}" href="{base}{link}">{inner}</a></th>')
    return mark_safe("\n".join(parts))  # noqa: S308  # nosec B308 B703 # every value above is escaped


def column_choices_html(all_columns, shown) -> SafeString:
    """The column picker's checkboxes, the shown columns ticked."""
    keys = {column.key for column in shown}
    parts = [
        '<label class="flex items-center gap-2 py-1 text-sm">'
        f'<input type="checkbox" class="checkbox" name="columns" value="{escape(column.key)}"'
        f"{' checked' if column.key in keys else ''}>{escape(column.label)}</label>"
        for column in all_columns
    ]
    return mark_safe("\n".join(parts))  # noqa: S308  # nosec B308 B703 # every value above is escaped
