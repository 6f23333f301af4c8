"""A person's employment at companies over time, and their consent records."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.contacts.models import (
    Company,
    Consent,
    Employment,
    Person,
)
from rapport.core import audit
from rapport.core.services import (
    reindex_on_commit,
    require,
    service,
)


def _refresh_current_employer(person: Person) -> None:
    today = timezone.localdate()
    current = (
        person.employments.filter(company__deleted_at__isnull=True)
        .exclude(end_date__lt=today)
        .order_by("-start_date", "-id")
        .select_related("company")
        .first()
    )
    person.company = current.company if current else None
    person.job_title = current.title if current else ""
    Person.all_objects.filter(pk=person.pk).update(
        company=person.company, job_title=person.job_title
    )
    reindex_on_commit(person)


@service
def employment_add(
    *,
    actor,
    person: Person,
    company: Company,
    title: str = "",
    department: str = "",
    start_date=None,
    end_date=None,
) -> Employment:
    """Link a person to a company; changes on the person's record and history."""
    require(actor, "change", person)
    if start_date and end_date and end_date < start_date:
        raise ValidationError({"end_date": [_("The end is before the start.")]})
    employment = Employment(
        person=person,
        company=company,
        title=title[:150],
        department=department[:150],
        start_date=start_date,
        end_date=end_date,
    )
    employment.full_clean()
    employment.save()
    _refresh_current_employer(person)
    audit.record(
        audit.Action.UPDATE,
        actor=actor,
        obj=person,
        changes={
            "employment": [
                None,
                {"company": company.pk, "company_name": company.name, "title": title},
            ]
        },
    )
    return employment


@service
def employment_end(*, actor, employment: Employment, end_date=None) -> Employment:
    require(actor, "change", employment.person)
    employment.end_date = end_date or timezone.localdate()
    employment.save(update_fields=["end_date"])
    _refresh_current_employer(employment.person)
    audit.record(
        audit.Action.UPDATE,
        actor=actor,
        obj=employment.person,
        changes={
            "employment_end": [
                None,
                {"company": employment.company_id, "end_date": employment.end_date},
            ]
        },
    )
    return employment


@service
def employment_remove(*, actor, employment: Employment) -> None:
    person = employment.person
    require(actor, "change", person)
    audit.record(
        audit.Action.UPDATE,
        actor=actor,
        obj=person,
        changes={
            "employment": [{"company": employment.company_id, "title": employment.title}, None]
        },
    )
    employment.delete()
    _refresh_current_employer(person)


@service
def consent_record(
    *,
    actor,
    person: Person,
    channel: str,
    purpose: str,
    lawful_basis: str = "consent",
    source: str = "",
    given_at=None,
) -> Consent:
    """Record a consent as a new row; earlier rows stay as history."""
    require(actor, "change", person)
    consent = Consent(
        person=person,
        channel=channel,
        purpose=purpose,
        lawful_basis=lawful_basis,
        source=source,
        given_at=given_at or timezone.now(),
        recorded_by=actor,
    )
    consent.full_clean(exclude=["recorded_by"])
    consent.save()
    audit.record(
        audit.Action.UPDATE,
        actor=actor,
        obj=person,
        changes={"consent": [None, {"channel": channel, "purpose": purpose, "given": True}]},
    )
    return consent


@service
def consent_withdraw(*, actor, consent: Consent, at=None) -> Consent:
    require(actor, "change", consent.person)
    if consent.withdrawn_at is None:
        consent.withdrawn_at = at or timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        audit.record(
            audit.Action.UPDATE,
            actor=actor,
            obj=consent.person,
            changes={
                "consent": [{"channel": consent.channel, "purpose": consent.purpose}, "withdrawn"]
            },
        )
    return consent
