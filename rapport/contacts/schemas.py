"""API shapes of people and companies; the generic entity router serves them.

Output shapes mirror `PersonEntity.serialize` / `CompanyEntity.serialize`; write shapes
list what a client may send (anything else is 422, read-only fields named as such).
Lengths follow the model columns so an over-long value is a 422, not a database error.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field

from rapport.contacts.models import Company, FamilyStatus, Gender, IncomeBand, SocialNetwork
from rapport.core.api.schemas import Id, Text, WriteSchema, choices

PERSONAL = "Personal data: present only for readers with the personal_data permission."
MAX_ITEMS = 100


def Items(item):  # noqa: N802 - reads like a type
    return Annotated[list[item], Field(max_length=MAX_ITEMS)]


# --- output ------------------------------------------------------------------------------


class EmailOut(BaseModel):
    address: str
    label: str
    primary: bool


class PhoneOut(BaseModel):
    number: str = Field(description="E.164, e.g. +380441234567.")
    label: str


class AddressOut(BaseModel):
    label: str = ""
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


class SocialProfileOut(BaseModel):
    network: str
    handle: str
    url: str


class PersonOut(BaseModel):
    id: int
    prefix: str
    first_name: str
    middle_name: str
    last_name: str
    suffix: str
    emails: list[EmailOut]
    phones: list[PhoneOut]
    company: int | None = Field(description="Current employer (from employments); read-only.")
    job_title: str = Field(description="Title at the current employer; read-only.")
    addresses: list[AddressOut]
    websites: list[str]
    social_profiles: list[SocialProfileOut]
    language: str
    time_zone: str
    source: str
    notes: str
    tags: list[str]
    groups: list[str]
    custom_fields: dict[str, Any]
    owner: int | None
    team: int | None
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    deleted_at: datetime.datetime | None
    birthday: datetime.date | None = Field(None, description=PERSONAL)
    gender: str | None = Field(None, description=PERSONAL)
    family_status: str | None = Field(None, description=PERSONAL)
    income_band: str | None = Field(None, description=PERSONAL)


class CompanyOut(BaseModel):
    id: int
    name: str
    legal_name: str
    registration_id: str
    vat_id: str
    domains: list[str]
    industry: str
    size: str
    annual_revenue: decimal.Decimal | None = Field(description="Decimal as a string.")
    revenue_currency: str
    addresses: list[AddressOut]
    websites: list[str]
    phones: list[PhoneOut]
    parent: int | None
    tags: list[str]
    custom_fields: dict[str, Any]
    owner: int | None
    team: int | None
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    deleted_at: datetime.datetime | None


# --- input -------------------------------------------------------------------------------


class EmailIn(WriteSchema):
    address: Text(254)
    label: Text(30) = ""
    primary: bool = False


class PhoneIn(WriteSchema):
    number: Text(40) = Field(description="Any format; parsed with your default phone region.")
    label: Text(30) = ""


class AddressIn(WriteSchema):
    label: Text(200) = ""
    street: Text(200) = ""
    city: Text(200) = ""
    region: Text(200) = ""
    postal_code: Text(200) = ""
    country: Text(200) = ""


class SocialProfileIn(WriteSchema):
    network: choices(SocialNetwork, blank=False) = "other"
    handle: Text(100) = ""
    url: Text(500) = ""


OWNER = "User id; needs the assign permission when not yourself. Defaults to you."
TEAM = "Team id; needs the assign permission when not your primary team."


class PersonWrite(WriteSchema):
    """A person as sent in POST (all optional: a name or an email is enough) and PATCH
    (JSON merge patch: absent keys stay, null clears, arrays are replaced whole)."""

    prefix: Text(20) | None = None
    first_name: Text(100) | None = None
    middle_name: Text(100) | None = None
    last_name: Text(100) | None = None
    suffix: Text(20) | None = None
    emails: Items(EmailIn) | None = None
    phones: Items(PhoneIn) | None = None
    addresses: Items(AddressIn) | None = None
    websites: Items(Text(500)) | None = None
    social_profiles: Items(SocialProfileIn) | None = None
    language: Text(10) | None = None
    time_zone: Text(64) | None = None
    source: Text(100) | None = None
    notes: Text(20000) | None = None
    tags: Items(Text(60)) | None = None
    groups: Items(Text(100)) | None = None
    custom_fields: dict[str, Any] | None = Field(None, description="Values by field key.")
    owner: Id = Field(None, description=OWNER)
    team: Id = Field(None, description=TEAM)
    birthday: datetime.date | None = Field(None, description=PERSONAL)
    gender: choices(Gender) | None = Field(None, description=PERSONAL)
    family_status: choices(FamilyStatus) | None = Field(None, description=PERSONAL)
    income_band: choices(IncomeBand) | None = Field(None, description=PERSONAL)


class CompanyWrite(WriteSchema):
    """A company as sent in POST (`name` needed) and PATCH (JSON merge patch)."""

    name: Text(200) | None = None
    legal_name: Text(250) | None = None
    registration_id: Text(50) | None = None
    vat_id: Text(50) | None = None
    domains: Items(Text(253)) | None = None
    industry: Text(100) | None = None
    size: choices(Company.Size) | None = None
    annual_revenue: (
        Annotated[decimal.Decimal, Field(max_digits=18, decimal_places=2, allow_inf_nan=False)]
        | None
    ) = Field(None, description="Needs revenue_currency.")
    revenue_currency: Text(3) | None = Field(None, description="ISO 4217 code, e.g. EUR.")
    addresses: Items(AddressIn) | None = None
    websites: Items(Text(500)) | None = None
    phones: Items(PhoneIn) | None = None
    parent: Id | None = Field(None, description="Parent company id.")
    tags: Items(Text(60)) | None = None
    custom_fields: dict[str, Any] | None = Field(None, description="Values by field key.")
    owner: Id = Field(None, description=OWNER)
    team: Id = Field(None, description=TEAM)
