"""The app shell's navigation, built from the entity registry and the user's rights.

Only blocks with at least one registered entity the user may view appear, and a
link whose URL does not resolve is left out, so the menu never holds dead links.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.translation import gettext_lazy as _

from rapport.core import permissions
from rapport.core.registry import registry

# DESIGN.md §1, in the order the blocks are listed there.
BLOCKS: list[tuple[str, object]] = [
    ("contacts", _("Contacts & companies")),
    ("relationships", _("Relationships")),
    ("activities", _("Activities & calendar")),
    ("sales", _("Sales")),
    ("marketing", _("Marketing")),
    ("service", _("Service & help desk")),
    ("contact_center", _("Contact center")),
    ("fieldservice", _("Field service")),
    ("partners", _("Partners")),
    ("analytics", _("Analytics")),
    ("platform", _("Platform")),
]


@dataclass
class NavLink:
    label: object
    url: str
    icon: str = "circle"
    key: str = ""


@dataclass
class NavGroup:
    key: str
    label: object
    links: list[NavLink] = field(default_factory=list)


def url_or_none(name: str, *args) -> str | None:
    """Reverse a URL name, or None when no app defines it (yet). Every page's menus ask
    for the same dozen names: each answer is kept per script prefix and URLconf."""
    return _reversed(name, args, get_script_prefix(), settings.ROOT_URLCONF)


@functools.lru_cache(maxsize=1024)
def _reversed(name: str, args: tuple, _prefix: str, _urlconf: str) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def main_navigation(user) -> list[NavGroup]:
    """Blocks of DESIGN.md §1 holding the entities this user may view."""
    groups = {key: NavGroup(key, label) for key, label in BLOCKS}
    for entity in registry:
        if not permissions.can(user, entity.key, "view"):
            continue
        url = url_or_none(f"{entity.url_base}:list")
        group = groups.get(entity.nav_group)
        if url is None or group is None:
            continue
        group.links.append(NavLink(entity.verbose_name_plural, url, entity.icon, entity.key))
    return [group for group in groups.values() if group.links]


def utility_links(user) -> list[NavLink]:
    """Links below the blocks: imports, duplicates and the trash, each when the user
    may do what it is for."""
    links = []
    may_add = any(permissions.can(user, e.key, "add") for e in registry)
    imports = url_or_none("dataio:import_list")
    if may_add and imports:
        links.append(NavLink(_("Imports"), imports, "upload", "imports"))
    may_export = any(permissions.can(user, e.key, "export") for e in registry)
    exports = url_or_none("dataio:export_list")
    if may_export and exports:
        links.append(NavLink(_("My exports"), exports, "download", "exports"))
    may_change = any(permissions.can(user, e.key, "change") for e in registry)
    duplicates = url_or_none("dataio:duplicate_list")
    if may_change and duplicates:
        links.append(NavLink(_("Duplicates"), duplicates, "copy", "duplicates"))
    may_delete = any(permissions.can(user, e.key, "delete") for e in registry)
    trash = url_or_none("core:trash")
    if may_delete and trash:
        links.append(NavLink(_("Trash"), trash, "trash", "trash"))
    return links


def account_links(user) -> dict[str, str | None]:
    """The user menu's targets; a missing one (another app not installed yet) is None."""
    from rapport.accounts.selectors import may_administer

    return {
        "profile": url_or_none("accounts:profile"),
        "admin": url_or_none("accounts:admin_home") if may_administer(user) else None,
        "logout": url_or_none("account_logout"),
    }
