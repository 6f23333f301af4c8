"""Small presentation helpers for Rapport templates: icons, query strings, phones."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from rapport.core import phones

register = template.Library()

# Simple stroke icons drawn for Rapport (24×24 grid, currentColor).
_ICONS: dict[str, str] = {
    "circle": '<circle cx="12" cy="12" r="8"/>',
    "home": '<path d="M3 11l9-7 9 7"/><path d="M5 10v10h14V10"/><path d="M10 20v-6h4v6"/>',
    "user": '<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4 4-7 8-7s8 3 8 7"/>',
    "building": '<rect x="4" y="3" width="16" height="18" rx="1"/>'
    '<path d="M9 7h2M13 7h2M9 11h2M13 11h2M9 15h2M13 15h2M10 21v-3h4v3"/>',
    "search": '<circle cx="11" cy="11" r="7"/><path d="M20 20l-4-4"/>',
    "trash": '<path d="M4 7h16M9 7V4h6v3M6 7l1 14h10l1-14"/>',
    "sun": '<circle cx="12" cy="12" r="4"/><path d="M12 2v2M12 20v2M2 12h2M20 12h2'
    'M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4"/>',
    "moon": '<path d="M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z"/>',
    "monitor": '<rect x="3" y="4" width="18" height="12" rx="1"/><path d="M8 20h8M12 16v4"/>',
    "menu": '<path d="M4 6h16M4 12h16M4 18h16"/>',
    "x": '<path d="M6 6l12 12M18 6L6 18"/>',
    "plus": '<path d="M12 5v14M5 12h14"/>',
    "globe": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18"/>',
    "logout": '<path d="M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10"/>',
    "settings": '<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M2 12h3M19 12h3'
    'M5 5l2 2M17 17l2 2M5 19l2-2M17 7l2-2"/>',
    "chevron-down": '<path d="M6 9l6 6 6-6"/>',
    "chevron-right": '<path d="M9 6l6 6-6 6"/>',
    "arrow-up": '<path d="M12 19V5M6 11l6-6 6 6"/>',
    "arrow-down": '<path d="M12 5v14M6 13l6 6 6-6"/>',
    "mail": '<rect x="3" y="5" width="18" height="14" rx="1"/><path d="M3 7l9 6 9-6"/>',
    "phone": '<path d="M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 5a2 2 0 0 1 2-2z"/>',
    "edit": '<path d="M4 20h4L19 9l-4-4L4 16v4z"/><path d="M13 7l4 4"/>',
    "undo": '<path d="M9 14L4 9l5-5"/><path d="M4 9h10a6 6 0 0 1 0 12h-3"/>',
    "columns": '<rect x="3" y="4" width="18" height="16" rx="1"/><path d="M9 4v16M15 4v16"/>',
    "filter": '<path d="M3 5h18l-7 8v6l-4 2v-8L3 5z"/>',
    "bookmark": '<path d="M6 3h12v18l-6-4-6 4V3z"/>',
    "link": '<path d="M10 14a4 4 0 0 0 6 0l3-3a4 4 0 0 0-6-6l-1 1"/><path d="M14 10a4 4 0 0 0-6 0l-3 3a4 4 0 0 0 6 6l1-1"/>',
    "clock": '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
    "tag": '<path d="M3 12V3h9l9 9-9 9-9-9z"/><circle cx="8" cy="8" r="1.5"/>',
    "upload": '<path d="M12 16V4M7 9l5-5 5 5"/><path d="M4 16v4h16v-4"/>',
    "download": '<path d="M12 4v12M7 11l5 5 5-5"/><path d="M4 16v4h16v-4"/>',
    "copy": '<rect x="8" y="8" width="12" height="12" rx="1"/><path d="M16 8V4H4v12h4"/>',
    "merge": '<path d="M6 3v6a6 6 0 0 0 6 6h6M6 21v-6"/><path d="M15 12l3 3-3 3"/>',
    "shield": '<path d="M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6l8-3z"/>',
}


@register.simple_tag
@functools.lru_cache(maxsize=512)
def icon(name: str, css: str = "size-5") -> str:
    """An inline SVG icon; `css` holds Tailwind classes (no style attributes: CSP).
    Cached: a page draws dozens of the same few icons."""
    body = _ICONS.get(name, _ICONS["circle"])
    return format_html(
        '<svg class="{}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.75"'
        ' stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">{}</svg>',
        css,
        mark_safe(body),  # noqa: S308  (constant markup defined above, never user data)  # nosec B308 B703 # constant markup
    )


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    from rapport.core.listrows import query_string

    return query_string(context["request"].GET, **changes)


@register.simple_tag
def querystring_from(params: dict) -> str:
    return "?" + urlencode(params, doseq=True) if params else "?"


@register.filter
def pretty_phone(value: str) -> str:
    return phones.pretty(value) if value else ""


@register.filter
def undo_url(message) -> str:
    """The restore URL a "moved to trash" message carries in its extra tags."""
    for tag in str(getattr(message, "extra_tags", "") or "").split():
        if tag.startswith("undo:"):
            return tag.removeprefix("undo:")
    return ""


@register.filter
def message_level(message) -> str:
    tags = str(getattr(message, "level_tag", "") or "")
    return tags or "info"


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def startswith(value, prefix) -> bool:
    return bool(prefix) and str(value).startswith(str(prefix))


@register.simple_tag
def cell(obj, key):
    """A list cell's value (see rapport.core.presenters.cell)."""
    from rapport.core.presenters import cell as present

    return present(obj, key)


@register.filter
def is_list(value) -> bool:
    return isinstance(value, list | tuple)


@register.filter
def qget(querydict, key):
    """The last value of a query parameter, or ""."""
    try:
        return querydict.get(key, "")
    except AttributeError:
        return ""


@register.filter
def qlist(querydict, key):
    try:
        return [v for value in querydict.getlist(key) for v in value.split(",") if v]
    except AttributeError:
        return []


@register.simple_tag(takes_context=True)
def sidebar(context) -> str:
    """The app shell's navigation (`_sidebar.html`). It is the same for everyone who may
    open the same links in the same language, so each variant is rendered once per
    process and reused: only the link set, the labels' language and the active link make
    one variant differ from another, and none of them holds anyone's data."""
    from django.urls import get_script_prefix
    from django.utils import translation

    request = context.get("request")
    path = request.path if request is not None else ""
    groups = _called(context.get("nav_groups")) or []
    utility = _called(context.get("nav_utility")) or []
    match = getattr(request, "resolver_match", None)
    key = (
        translation.get_language(),
        get_script_prefix(),
        bool(match and match.url_name == "dashboard"),
        tuple(
            (
                str(group.label),
                tuple(
                    (str(link.label), link.url, link.icon, path.startswith(link.url))
                    for link in group.links
                ),
            )
            for group in groups
        ),
        tuple((str(link.label), link.url, link.icon, link.url == path) for link in utility),
    )
    return _sidebar_html(key)


def _called(value):
    return value() if callable(value) else value


@functools.lru_cache(maxsize=512)
def _sidebar_html(key: tuple) -> str:
    from django.template.loader import render_to_string
    from django.utils import translation

    language, _prefix, dashboard_active, groups, utility = key
    with translation.override(language):
        return render_to_string(
            "_sidebar.html",
            {
                "dashboard_active": dashboard_active,
                "groups": [
                    {
                        "label": label,
                        "links": [
                            ({"label": text, "url": url, "icon": name}, active)
                            for text, url, name, active in links
                        ],
                    }
                    for label, links in groups
                ],
                "utility": [
                    ({"label": text, "url": url, "icon": name}, active)
                    for text, url, name, active in utility
                ],
            },
        )


# Stand-ins for the two per-request values of a shell form: letters only, so escaping
# leaves them as they are.
_TOKEN_STAND_IN = "RapportCsrfTokenStandIn"  # noqa: S105  # nosec B105 # a placeholder, not a secret
_PATH_STAND_IN = "RapportCurrentPathStandIn"


class _PathOnly:
    """What a shell form reads of the request while its variant is rendered."""

    def get_full_path(self) -> str:
        return _PATH_STAND_IN


@register.simple_tag(takes_context=True)
def shell_form(context, template_name: str, form_id: str = "") -> str:
    """A form of the app shell (`_language_form.html`, `_theme_form.html`): the same
    for every request in one language but for its CSRF token and the current path. Each
    variant is rendered once per process with stand-ins for those two, which are then put
    in per request, escaped. On every page, twice for the language form."""
    from django.middleware.csrf import get_token
    from django.urls import get_script_prefix
    from django.utils import translation
    from django.utils.html import escape

    request = context["request"]
    key = (template_name, form_id, translation.get_language(), get_script_prefix())
    html = _shell_form_html(key)
    # The page's own token (the context's, masked once per request) when it has one:
    # each `get_token` masks the secret anew, 32 random characters every time.
    token = context.get("csrf_token") or get_token(request)
    return mark_safe(  # noqa: S308  # nosec B308 B703 # the variant is a rendered template; the values are escaped
        html.replace(_TOKEN_STAND_IN, escape(str(token))).replace(
            _PATH_STAND_IN, escape(request.get_full_path())
        )
    )


@functools.lru_cache(maxsize=64)
def _shell_form_html(key: tuple) -> str:
    from django.conf import settings
    from django.template.loader import render_to_string
    from django.utils import translation

    template_name, form_id, language, _prefix = key
    with translation.override(language):
        html = render_to_string(
            template_name,
            {
                "csrf_token": _TOKEN_STAND_IN,
                "request": _PathOnly(),
                "form_id": form_id,
                "ui_languages": settings.LANGUAGES,
            },
        )
    if _TOKEN_STAND_IN not in html:
        raise ValueError(f"{template_name} has no CSRF token: it is not a shell form")
    return html
