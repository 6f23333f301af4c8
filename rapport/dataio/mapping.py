"""Column mapping: what each column of a file becomes, suggested from its header,
validated, and applied to a row to build the data a create/update service accepts.

A mapping is a list of `{"column": i, "header": h, "target": key}`; an empty target
ignores the column. Multi-value targets (emails, phones, tags, groups) take several
columns and also split one cell on ";", ",", newlines or Google's " ::: ".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from rapport.core import customfields, permissions
from rapport.core.models import CustomFieldDefinition
from rapport.core.text import fold
from rapport.dataio import mapping_values as values
from rapport.dataio.cells import unguard
from rapport.dataio.mapping_targets import (
    COMPANY_TARGETS,
    FOLDED,
    FOLDED_SOURCE,
    KEYWORDS,
    PATTERNS,
    PERSON_TARGETS,
    Target,
)

__all__ = [
    "MATCH_KEYS",
    "BuildContext",
    "Record",
    "Target",
    "build_record",
    "suggest",
    "targets",
    "validate_mapping",
]

MATCH_KEYS = ("email", "phone", "name_company", "external_id")
PERSONAL_TARGETS = frozenset({"birthday", "gender"})
ENTITIES = ("person", "company")


def _check_entity(entity: str) -> None:
    if entity not in ENTITIES:
        raise ValidationError({"entity": [_("Records of this type cannot be imported.")]})


def targets(entity: str, *, definitions: list[CustomFieldDefinition] | None = None) -> list[Target]:
    """Every target of an entity, its custom fields (`cf:<slug>`) last."""
    _check_entity(entity)
    base = PERSON_TARGETS if entity == "person" else COMPANY_TARGETS
    defs = customfields.definitions(entity) if definitions is None else definitions
    return [*base, *(Target(f"cf:{d.slug}", d.label) for d in defs)]


def suggest(entity: str, headers: list[str], source: str) -> list[dict]:
    """A proposed target per column (or ""), from the header names and the source."""
    available = {t.key: t for t in targets(entity)}
    custom = {}
    for key, target in available.items():
        if key.startswith("cf:"):
            custom[fold(key[3:].replace("-", " ").replace("_", " "))] = key
            custom[fold(str(target.label))] = key
    used: set[str] = set()
    result = []
    for index, header in enumerate(headers):
        target = _guess(entity, fold(header), source, custom)
        if target not in available:
            target = ""
        if target and not available[target].multi:
            if target in used:
                target = ""
            used.add(target)
        result.append({"column": index, "header": header, "target": target})
    return result


def _guess(entity: str, key: str, source: str, custom: dict[str, str]) -> str:
    if not key:
        return ""
    overrides = FOLDED_SOURCE.get(source, {})
    if key in overrides and (overrides[key] == "" or overrides[key] in _keys(entity)):
        return overrides[key]
    if key in FOLDED[entity]:
        return FOLDED[entity][key]
    if key in custom:
        return custom[key]
    for pattern, target in PATTERNS:
        if pattern.match(key):
            return target
    words = f" {key} "
    for word, target in KEYWORDS:
        if word in words and "label" not in words and "type" not in words:
            return target
    return ""


def _keys(entity: str) -> set[str]:
    return {t.key for t in (PERSON_TARGETS if entity == "person" else COMPANY_TARGETS)}


def validate_mapping(entity: str, mapping: list[dict]) -> list[dict]:
    """The mapping normalised (column ints, header text, target keys), or
    ValidationError naming `mapping.<i>.<field>`."""
    available = {t.key: t for t in targets(entity)}
    if not isinstance(mapping, list | tuple):
        raise ValidationError({"mapping": [_("The mapping must be a list of columns.")]})
    errors: dict[str, list] = {}
    single_seen: dict[str, int] = {}
    result = []
    for index, item in enumerate(mapping):
        if not isinstance(item, Mapping):
            errors[f"mapping.{index}"] = [_("Each column must be an object.")]
            continue
        try:
            column = int(item.get("column", index))
            if column < 0:
                raise ValueError
        except (TypeError, ValueError):
            errors[f"mapping.{index}.column"] = [_("The column must be a number from 0.")]
            continue
        target = str(item.get("target") or "").strip()
        if target and target not in available:
            errors[f"mapping.{index}.target"] = [
                _("“%(target)s” is not something a column can be imported into.")
                % {"target": target}
            ]
            continue
        if target and not available[target].multi:
            if target in single_seen:
                errors[f"mapping.{index}.target"] = [
                    _("“%(label)s” is already filled from column %(column)s.")
                    % {"label": available[target].label, "column": single_seen[target] + 1}
                ]
                continue
            single_seen[target] = column
        result.append({"column": column, "header": str(item.get("header") or ""), "target": target})
    if errors:
        raise ValidationError(errors)
    return sorted(result, key=lambda m: m["column"])


@dataclass
class Record:
    """One row turned into service data, with the cell errors that reject it."""

    data: dict[str, Any] = field(default_factory=dict)
    company_name: str = ""
    external_id: str = ""
    job_title: str = ""
    errors: dict[int, str] = field(default_factory=dict)
    columns: dict[str, int] = field(default_factory=dict)  # data key -> column, for messages


class BuildContext:
    """What building records needs once per batch, not once per row: the custom-field
    definitions, the actor's phone region and personal-data permission, the plan."""

    def __init__(self, entity: str, mapping: list[dict], *, actor) -> None:
        _check_entity(entity)
        self.entity = entity
        self.actor = actor
        self.definitions = {d.slug: d for d in customfields.definitions(entity)}
        self.region = values.phone_region(actor)
        self.personal = permissions.has_field_permission(actor, permissions.PERSONAL_DATA)
        self.plan: list[tuple[int, str]] = [
            (int(m["column"]), m["target"]) for m in mapping if m.get("target")
        ]


def build_record(
    entity: str,
    mapping: list[dict],
    cells: list[str],
    *,
    actor,
    context: BuildContext | None = None,
) -> Record:
    """Turn one row's cells into the data `person_create`/`company_create` accept."""
    ctx = context or BuildContext(entity, mapping, actor=actor)
    record = Record()
    multi: dict[str, list[tuple[int, str]]] = {}
    for column, target in ctx.plan:
        raw = cells[column] if column < len(cells) else ""
        text = unguard(str(raw).strip()).strip()
        if not text:
            continue
        try:
            if target in values.MULTI:
                multi.setdefault(target, []).extend((column, v) for v in values.split(text))
            else:
                _single(ctx, record, target, column, text)
        except ValidationError as exc:
            record.errors[column] = " ".join(exc.messages)
    for target, items in multi.items():
        _multi(ctx, record, target, items)
    return record


def _single(ctx: BuildContext, record: Record, target: str, column: int, text: str) -> None:
    data = record.data
    if target == "external_id":
        record.external_id = values.limit(text, 200)
    elif target == "company":
        record.company_name = values.limit(text, 200)
    elif target == "job_title":
        record.job_title = values.limit(text, 150)
    elif target == "full_name":
        for key, part in values.split_full_name(text).items():
            if part and not data.get(key):
                data[key] = values.limit(part, values.max_length(ctx.entity, key))
                record.columns.setdefault(key, column)
        return
    elif target.startswith("address_"):
        addresses = data.setdefault("addresses", [{"label": ""}])
        addresses[0][target.removeprefix("address_")] = values.limit(text, 200)
    elif target == "website":
        data.setdefault("websites", []).append(values.website(text))
        if ctx.entity == "company" and "domains" not in data:
            data["domains"] = [values.domain_of(data["websites"][0])]
    elif target == "domain":
        data["domains"] = [values.domain(text)]
    elif target == "linkedin":
        data["social_profiles"] = [values.linkedin(text)]
    elif target in PERSONAL_TARGETS:
        if not ctx.personal:
            raise ValidationError(_("You may not set personal data."))
        data[target] = values.date(text) if target == "birthday" else values.gender(text)
    elif target == "size":
        data["size"] = values.company_size(text)
    elif target == "annual_revenue":
        data["annual_revenue"] = values.amount(text)
    elif target == "revenue_currency":
        data["revenue_currency"] = values.currency(text)
    elif target.startswith("cf:"):
        definition = ctx.definitions.get(target[3:])
        if definition is None:
            raise ValidationError(_("This custom field no longer exists."))
        if definition.kind == CustomFieldDefinition.Kind.DATE:
            text = values.date(text).isoformat()
        customfields.clean_value(definition, text)
        data.setdefault("custom_fields", {})[definition.slug] = text
    else:
        data[target] = values.checked_text(ctx.entity, target, text)
    record.columns.setdefault(_data_key(target), column)


@functools.lru_cache(maxsize=1024)
def _data_key(target: str) -> str:
    if target.startswith("address_"):
        return "addresses"
    if target.startswith("cf:"):
        return f"custom_fields.{target[3:]}"
    return {
        "website": "websites",
        "domain": "domains",
        "linkedin": "social_profiles",
        "email": "emails",
        "phone": "phones",
    }.get(target, target)


def _multi(ctx: BuildContext, record: Record, target: str, items: list[tuple[int, str]]) -> None:
    collected: list = []
    for column, text in items:
        try:
            if target == "email":
                collected.append({"address": values.email(text), "label": "", "primary": False})
            elif target == "phone":
                collected.append({"number": values.phone(text, ctx.region), "label": ""})
            else:
                name = values.tag(text)
                if name:
                    collected.append(name)
        except ValidationError as exc:
            record.errors.setdefault(column, " ".join(exc.messages))
        record.columns.setdefault(_data_key(target), column)
    if collected:
        record.data[_data_key(target)] = collected
