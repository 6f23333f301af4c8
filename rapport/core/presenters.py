"""Turning records and audit rows into what pages display (no queries per row)."""

from __future__ import annotations

import datetime
import html
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Manager
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from rapport.core import phones

ALIASES = {"email": "primary_email", "phone": "primary_phone", "domain": "primary_domain"}


def cell(obj, key: str) -> Any:
    """The value of a list column: scalars as text, related rows as a list of strings."""
    name = ALIASES.get(key, key)
    if not hasattr(obj, name):
        name = key if hasattr(obj, key) else f"{key}s"
    display = getattr(obj, f"get_{name}_display", None)
    if callable(display):
        return display()
    value = getattr(obj, name, None)
    if isinstance(value, Manager):
        items = value.all()  # prefetched by the entity's list_queryset
        return [phones.pretty(i.number) if hasattr(i, "number") else str(i) for i in items]
    if key.endswith("phone") and isinstance(value, str):
        return phones.pretty(value) if value else ""
    return display_value(value)


def display_value(value: Any) -> Any:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATE_FORMAT")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, Decimal):
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    return value


EXTRA_LABELS = {
    "employment": _lazy("employment"),
    "employment_end": _lazy("employment ended"),
    "consent": _lazy("consent"),
    "photo": _lazy("photo"),
}


def _label(model, key: str) -> str:
    if key in EXTRA_LABELS:
        return str(EXTRA_LABELS[key])
    try:
        field = model._meta.get_field(key)
    except FieldDoesNotExist:
        return key.replace("_", " ")
    label = getattr(field, "verbose_name", None)
    if label is None and field.related_model is not None:
        label = field.related_model._meta.verbose_name_plural
    return str(label or key)


def _text(value: Any, names: dict[tuple[str, int], str], key: str) -> str:
    if value in (None, "", [], {}):
        return "—"
    if key in {"owner", "team", "parent"} and isinstance(value, int):
        return names.get((key, value), f"#{value}")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(_text(v, names, key) for v in value)
    if isinstance(value, dict):
        label = value.get("company_name") or value.get("purpose")
        parts = [f"{k}: {v}" for k, v in value.items() if k not in {"company", "company_name"}]
        return " · ".join([str(label)] + parts) if label else ", ".join(parts)
    return str(value)


def _esc(value) -> str:
    """What Django's `escape` writes (the same `html.escape`), without its lazy-text
    wrapper and SafeString: the timeline escapes thousands of short values a page."""
    return html.escape(str(value))


def _loaded_actor(event):
    """The event's actor as it was read with the event (`selectors.HistoryEvent` or an
    `AuditEvent` with `select_related("actor")`), None when absent or not loaded."""
    state = getattr(event, "_state", None)
    if state is None:
        return event.actor
    return state.fields_cache.get("actor")


def _known_names(events: list, record) -> dict[tuple[str, int], str]:
    """Names already in memory: the events' actors and the record's own owner and team
    (loaded with it), so the usual history needs no lookup at all."""
    names: dict[tuple[str, int], str] = {}
    for event in events:
        actor = _loaded_actor(event)
        if actor is not None:
            names[("owner", actor.pk)] = str(actor)
    if record is not None:
        for key in ("owner", "team"):
            related = record._state.fields_cache.get(key)
            if related is not None:
                names[(key, related.pk)] = str(related)
    return names


def timeline(events: list, model, record=None) -> list[dict[str, Any]]:
    """History rows with labelled field changes; owners and teams by name (one query each
    at most, none for the names `record` and the events' actors already carry)."""
    from rapport.accounts.models import Team, User

    names = _known_names(events, record)
    wanted: dict[str, set[int]] = {"owner": set(), "team": set(), "parent": set()}
    for event in events:
        for key, pair in event.visible.items():
            if key in wanted and isinstance(pair, list):
                flat = [x for v in pair for x in (v if isinstance(v, list) else [v])]
                wanted[key].update(v for v in flat if isinstance(v, int) and (key, v) not in names)
    if wanted["owner"]:
        for user in User.objects.filter(pk__in=wanted["owner"]):
            names[("owner", user.pk)] = str(user)
    if wanted["team"]:
        for team in Team.objects.filter(pk__in=wanted["team"]):
            names[("team", team.pk)] = str(team)
    if wanted["parent"]:
        for parent in model.all_objects.filter(pk__in=wanted["parent"]):
            names[("parent", parent.pk)] = str(parent)
    from rapport.core.models import AuditEvent

    action_labels = dict(AuditEvent.Action.choices)
    from rapport.core.listrows import date_formatter

    moment = date_formatter(formats.get_format("SHORT_DATETIME_FORMAT"))  # once a page
    zone = timezone.get_current_timezone()
    actions: dict[str, str] = {}  # each action and field label translated once per page
    labels: dict[str, str] = {}
    rows = []
    for event in events:
        if event.action not in actions:
            actions[event.action] = str(action_labels.get(event.action, event.action))
        at = event.at.astimezone(zone)
        changes = []
        for key, pair in sorted(event.visible.items()):
            old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
            if key not in labels:
                labels[key] = _label(model, key)
            changes.append(
                {
                    "label": labels[key],
                    "old": _text(old, names, key),
                    "new": _text(new, names, key),
                }
            )
        rows.append(
            {
                "event": event,
                "changes": changes,
                "action_label": actions[event.action],
                "at_iso": at.isoformat(),
                "at_display": moment(at),
            }
        )
    return rows


def timeline_html(rows: list[dict[str, Any]]) -> SafeString:
    """The timeline's `<li>` items written in Python, every value escaped once: through
    template tags 50 events with their changes were thousands of node renders, most of
    the person page's time. The markup is what kit/_history.html wrote before."""
    parts = []
    for row in rows:
        event = row["event"]
        actor = _loaded_actor(event) if event.actor_id else None
        who = _esc(str(actor) if actor is not None else event.actor_label)
        changes = ""
        if row["changes"]:
            update = event.action == "update"
            items = "".join(
                '<li class="text-xs"><span class="muted">{label}:</span>\n                '
                '{old}<span class="change-new">{new}</span></li>'.format(
                    label=_esc(capfirst(change["label"])),
                    old=f'<span class="change-old">{_esc(change["old"])}</span> → '
                    if update
                    else "",
                    new=_esc(change["new"]),
                )
                for change in row["changes"]
            )
            changes = f'\n          <ul class="mt-1 space-y-0.5">{items}</ul>'
        parts.append(
            '<li class="timeline-item">\n          <span class="timeline-dot"></span>\n'
            '          <div class="flex flex-wrap items-baseline gap-x-2">\n'
            f'            <span class="font-medium">{who}</span>\n'
            f"            <span>{_esc(row['action_label'])}</span>\n"
            f'            <time class="muted text-xs" datetime="{_esc(row["at_iso"])}">'
            f"{_esc(row['at_display'])}</time>\n          </div>{changes}\n        </li>"
        )
    return mark_safe("\n".join(parts))  # noqa: S308  # nosec B308 B703 # every value above is escaped
