"""People and companies in the HTTP API: only their shapes are declared here; the
generic entity router (rapport.core.api.crud) serves /people and /companies."""

from rapport.contacts import schemas
from rapport.contacts.entities import CompanyEntity, PersonEntity
from rapport.core.api.crud import expose

expose(PersonEntity, output=schemas.PersonOut, create=schemas.PersonWrite)
expose(
    CompanyEntity,
    output=schemas.CompanyOut,
    create=schemas.CompanyWrite,
    references={"parent": "company"},
)
