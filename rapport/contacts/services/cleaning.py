"""Cleaning and validating the values people and companies are made of (emails, phones,
addresses, websites, social profiles, domains); shared by single and bulk writes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext as _

from rapport.contacts.models import (
    ContactGroup,
    SocialNetwork,
)
from rapport.core import permissions, phones
from rapport.core.exceptions import FieldPermissionDenied

PERSON_SCALARS = [
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "language",
    "time_zone",
    "source",
    "notes",
    "addresses",
    "websites",
    "social_profiles",
]
PERSON_PERSONAL = ["birthday", "gender", "family_status", "income_band"]
COMPANY_SCALARS = [
    "name",
    "legal_name",
    "registration_id",
    "vat_id",
    "industry",
    "size",
    "annual_revenue",
    "revenue_currency",
    "addresses",
    "websites",
]
ADDRESS_KEYS = ("label", "street", "city", "region", "postal_code", "country")


# --- shared cleaning ------------------------------------------------------------------


class _Memo(dict):
    """A bounded set of strings known good lately. Imports check every value twice (the
    mapping, then the service): `CANONICAL_PHONES` holds numbers `to_e164` produced
    (E.164 text parses back to itself whatever the region, so cleaning it again cannot
    change it), `VALID_EMAILS` addresses `validate_email` accepted (a pure function of
    the text)."""

    LIMIT = 20_000

    def add(self, number: str) -> None:
        if len(self) >= self.LIMIT:
            self.clear()
        self[number] = None


CANONICAL_PHONES = _Memo()
VALID_EMAILS = _Memo()


def clean_emails(items: list[Mapping[str, Any]] | None) -> list[dict]:
    cleaned, errors, seen = [], {}, set()
    for index, item in enumerate(items or []):
        address = str((item or {}).get("address", "")).strip()
        if not address:
            continue
        try:
            if address not in VALID_EMAILS:
                validate_email(address)
        except ValidationError:
            errors[f"emails.{index}.address"] = [_("Enter a valid email address.")]
            continue
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        cleaned.append(
            {
                "address": address,
                "label": str(item.get("label") or "")[:30],
                "primary": bool(item.get("primary")),
            }
        )
    if errors:
        raise ValidationError(errors)
    if cleaned and not any(e["primary"] for e in cleaned):
        cleaned[0]["primary"] = True
    first_primary = next(i for i, e in enumerate(cleaned) if e["primary"]) if cleaned else None
    for index, email in enumerate(cleaned):
        email["primary"] = index == first_primary
    return cleaned


def clean_phones(items: list[Mapping[str, Any]] | None, *, region: str) -> list[dict]:
    cleaned, errors, seen = [], {}, set()
    for index, item in enumerate(items or []):
        raw = str((item or {}).get("number", "")).strip()
        if not raw:
            continue
        try:
            number = raw if raw in CANONICAL_PHONES else phones.to_e164(raw, region=region)
        except ValidationError as exc:
            errors[f"phones.{index}.number"] = exc.messages
            continue
        if number in seen:
            continue
        seen.add(number)
        cleaned.append({"number": number, "label": str(item.get("label") or "")[:30]})
    if errors:
        raise ValidationError(errors)
    return cleaned


def clean_addresses(items) -> list[dict]:
    result = []
    for item in items or []:
        if not isinstance(item, Mapping):
            raise ValidationError({"addresses": [_("Each address must be an object.")]})
        address = {k: str(item.get(k) or "").strip()[:200] for k in ADDRESS_KEYS}
        if any(address[k] for k in ADDRESS_KEYS if k != "label"):
            result.append(address)
    return result


def clean_websites(items) -> list[str]:
    validator = URLValidator(schemes=["http", "https"])
    result, errors = [], {}
    for index, item in enumerate(items or []):
        url = str(item.get("url") if isinstance(item, Mapping) else item or "").strip()
        if not url:
            continue
        if "://" not in url:
            url = "https://" + url
        try:
            validator(url)
        except ValidationError:
            errors[f"websites.{index}"] = [_("Enter a valid web address.")]
            continue
        result.append(url)
    if errors:
        raise ValidationError(errors)
    return result


def clean_social(items) -> list[dict]:
    result, errors = [], {}
    networks = set(SocialNetwork.values)
    validator = URLValidator(schemes=["http", "https"])
    for index, item in enumerate(items or []):
        if not isinstance(item, Mapping):
            errors[f"social_profiles.{index}"] = [_("Each profile must be an object.")]
            continue
        network = str(item.get("network") or "other")
        handle = str(item.get("handle") or "").strip()[:100]
        url = str(item.get("url") or "").strip()
        if network not in networks:
            errors[f"social_profiles.{index}.network"] = [_("Unknown network.")]
            continue
        if url:
            try:
                validator(url)
            except ValidationError:
                errors[f"social_profiles.{index}.url"] = [_("Enter a valid web address.")]
                continue
        if handle or url:
            result.append({"network": network, "handle": handle, "url": url})
    if errors:
        raise ValidationError(errors)
    return result


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_domain(raw: str) -> str:
    text = str(raw or "").strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/")[0].split(":")[0]
    return text.removeprefix("www.")


def clean_domains(items) -> list[str]:
    result, errors = [], {}
    for index, item in enumerate(items or []):
        domain = normalize_domain(item)
        if not domain:
            continue
        if not _DOMAIN.match(domain):
            errors[f"domains.{index}"] = [_("“%s” is not a domain name.") % item]
            continue
        if domain not in result:
            result.append(domain)
    if errors:
        raise ValidationError(errors)
    return result


def check_personal(actor, data: Mapping[str, Any]) -> None:
    if permissions.has_field_permission(actor, permissions.PERSONAL_DATA):
        return
    for field in PERSON_PERSONAL:
        if field in data:
            raise FieldPermissionDenied(field, _("You may not see or change personal data."))


def groups_from_names(names) -> list[ContactGroup]:
    groups = []
    for name in names or []:
        name = " ".join(str(name).split())[:100]
        if name:
            groups.append(ContactGroup.objects.get_or_create(name=name)[0])
    return groups
