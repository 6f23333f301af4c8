"""Writes on people, companies, employment and consent. UI, API, imports and the demo
loader all come through here; `from rapport.contacts import services` gives every one."""

from rapport.contacts.services.bulk import (
    company_bulk_create,
    employment_bulk_add,
    person_bulk_create,
)
from rapport.contacts.services.cleaning import (
    ADDRESS_KEYS,
    COMPANY_SCALARS,
    PERSON_PERSONAL,
    PERSON_SCALARS,
    normalize_domain,
)
from rapport.contacts.services.companies import (
    company_create,
    company_snapshot,
    company_update,
)
from rapport.contacts.services.people import (
    person_create,
    person_snapshot,
    person_update,
)
from rapport.contacts.services.relations import (
    consent_record,
    consent_withdraw,
    employment_add,
    employment_end,
    employment_remove,
)

__all__ = [
    "ADDRESS_KEYS",
    "COMPANY_SCALARS",
    "PERSON_PERSONAL",
    "PERSON_SCALARS",
    "company_bulk_create",
    "company_create",
    "company_snapshot",
    "company_update",
    "consent_record",
    "consent_withdraw",
    "employment_add",
    "employment_bulk_add",
    "employment_end",
    "employment_remove",
    "normalize_domain",
    "person_bulk_create",
    "person_create",
    "person_snapshot",
    "person_update",
]
