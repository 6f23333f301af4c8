"""Demo data: about 2,000 people and 300 companies in English, Ukrainian, Russian and
Polish, three teams, a user for every built-in role.

Everything goes through the services (bulk forms where there are many rows), so the
demo has what real data has: audit rows, search entries, validated phones in E.164,
custom-field values, employment history and consent rows. It is loaded once: the
demo admin user is the marker, and a second run only prints the logins. The whole
load is one transaction, so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import datetime
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from rapport.accounts.models import Team, User
from rapport.accounts.services import user_create
from rapport.contacts import services
from rapport.contacts.demo_data import (
    COMPANY_FIELDS,
    COMPANY_TAGS,
    DEMO_PASSWORD,
    DEPARTMENTS,
    GROUPS,
    INDUSTRIES,
    LEGAL_WORDS,
    LOCALES,
    MARKER_USER,
    PERSON_FIELDS,
    PERSON_TAGS,
    REVENUE_BY_SIZE,
    SIZES,
    SOURCES,
    TEAM_SHARE,
    TEAMS,
    TITLES,
    USERS,
    LocaleSpec,
)
from rapport.core import context, search
from rapport.core.customfield_services import customfield_create
from rapport.core.models import CustomFieldDefinition
from rapport.core.text import fold
from rapport.dataio.dedup.scan import scan_duplicates


@dataclass
class DemoResult:
    loaded: bool
    people: int = 0
    companies: int = 0
    seconds: float = 0.0
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)


def logins() -> list[tuple[str, str, str, str]]:
    """(username, password, role, team) of every demo user."""
    return [(name, DEMO_PASSWORD, role, team) for name, role, team, *_rest in USERS]


def is_loaded() -> bool:
    return User.objects.filter(username=MARKER_USER, email=f"{MARKER_USER}@demo.rapport").exists()


def load(*, people: int = 2000, companies: int = 300, seed: int = 2024) -> DemoResult:
    """Load the demo data unless it is there already (see the module docstring)."""
    if is_loaded():
        return DemoResult(loaded=False, logins=logins())
    started = time.monotonic()
    token = context.bind(context.RequestContext(via="cli"))
    try:
        with transaction.atomic():
            builder = Builder(random.Random(seed), seed)
            builder.users()
            builder.custom_fields()
            company_objs = builder.companies(companies)
            planted = max(1, people // 80) if people >= 20 else 0
            person_objs = builder.people(people - planted, company_objs)
            builder.consents(person_objs)
            person_objs += builder.duplicates(person_objs, planted)
        search.backend().analyze()  # the index was filled on commit: fresh statistics
        scan_duplicates.call("person")  # the Duplicates page opens with proposals
    finally:
        context.reset(token)
    return DemoResult(
        loaded=True,
        people=len(person_objs),
        companies=len(company_objs),
        seconds=time.monotonic() - started,
        logins=logins(),
    )


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


class Builder:
    """Generates rows and hands them to the services; one instance per load."""

    def __init__(self, rng: random.Random, seed: int):
        from faker import Faker  # runtime dependency of `rapport demo` only

        self.rng = rng
        self.fakers = {key: Faker(spec.faker) for key, spec in LOCALES.items()}
        for offset, faker in enumerate(self.fakers.values()):
            faker.seed_instance(seed + offset)
        self.users_by_name: dict[str, User] = {}
        self.teams: dict[str, Team] = {}
        self.owner_weights: dict[str, dict[str, int]] = {}
        self.domains: set[str] = set()
        self.emails: set[str] = set()

    # --- users and settings ------------------------------------------------------------
    def users(self) -> None:
        for name, role, team, first, last, share in USERS:
            user = user_create(
                username=name,
                password=DEMO_PASSWORD,
                email=f"{name}@demo.rapport",
                first_name=first,
                last_name=last,
                teams=[team],
                roles=[] if role == "admin" else [role],
                admin=role == "admin",
                validate=False,
            )
            self.users_by_name[name] = user
            self.teams[team] = user.primary_team
            if share:
                self.owner_weights.setdefault(team, {})[name] = share
        self.admin = self.users_by_name[MARKER_USER]

    def custom_fields(self) -> None:
        for spec in PERSON_FIELDS + COMPANY_FIELDS:
            if not CustomFieldDefinition.objects.filter(
                entity=spec["entity"], slug=spec["slug"]
            ).exists():
                customfield_create(actor=self.admin, data=spec)

    def owner(self, team: str) -> tuple[User, Team]:
        return self.users_by_name[weighted(self.rng, self.owner_weights[team])], self.teams[team]

    # --- small generators ----------------------------------------------------------------
    def digits(self, count: int) -> str:
        first = str(self.rng.randint(2, 9))
        return first + "".join(str(self.rng.randint(0, 9)) for _ in range(count - 1))

    def mobile(self, spec: LocaleSpec) -> str:
        return "+" + self.rng.choice(spec.mobile_prefixes) + self.digits(spec.mobile_digits)

    def landline(self, spec: LocaleSpec) -> str:
        return "+" + spec.landline_prefix + self.digits(spec.landline_digits)

    def unique_email(self, local: str, domain: str) -> str:
        local = ".".join(part for part in local.replace(" ", ".").split(".") if part) or "info"
        candidate, n = f"{local}@{domain}", 1
        while candidate in self.emails:
            n += 1
            candidate = f"{local}{n}@{domain}"
        self.emails.add(candidate)
        return candidate

    def domain_for(self, name: str, spec: LocaleSpec) -> str:
        words = [w for w in fold(name).replace(".", " ").split() if w not in LEGAL_WORDS]
        stem = "-".join(words[:2]) or "company"
        stem = "".join(ch for ch in stem if ch.isalnum() or ch == "-").strip("-")[:40] or "co"
        candidate, n = f"{stem}.{self.rng.choice(spec.tlds)}", 1
        while candidate in self.domains:
            n += 1
            candidate = f"{stem}{n}.{self.rng.choice(spec.tlds)}"
        self.domains.add(candidate)
        return candidate

    def address(self, spec: LocaleSpec, faker, label: str) -> dict:
        return {
            "label": label,
            "street": faker.street_address(),
            "city": self.rng.choice(spec.cities),
            "region": "",
            "postal_code": faker.postcode(),
            "country": spec.country,
        }

    # --- companies ---------------------------------------------------------------------
    def company_row(self, team: str) -> tuple[dict, str]:
        key = weighted(self.rng, TEAMS[team])
        spec, faker = LOCALES[key], self.fakers[key]
        owner, team_obj = self.owner(team)
        name = faker.company()
        domain = self.domain_for(name, spec)
        size = weighted(self.rng, dict(SIZES))
        low, high = REVENUE_BY_SIZE[size]
        row = {
            "name": name,
            "legal_name": name,
            "registration_id": self.digits(8 if key == "uk" else 10),
            "domains": [domain],
            "industry": self.rng.choice(INDUSTRIES),
            "size": size,
            "annual_revenue": Decimal(self.rng.randrange(low, high, 1000)),
            "revenue_currency": spec.currency,
            "addresses": [self.address(spec, faker, "office")],
            "websites": [f"https://{domain}"],
            "phones": [{"number": self.landline(spec), "label": "office"}],
            "tags": self.rng.sample(COMPANY_TAGS, self.rng.choice((0, 1, 1, 2))),
            "owner": owner,
            "team": team_obj,
        }
        if self.rng.random() < 0.6:
            row["custom_fields"] = {
                "account_tier": self.rng.choice(("Gold", "Silver", "Bronze")),
                "renewal_date": (
                    timezone.localdate() + datetime.timedelta(days=self.rng.randint(10, 700))
                ).isoformat(),
            }
        if key == "pl":
            row["vat_id"] = "PL" + self.digits(10)
        return row, key

    def companies(self, count: int) -> list:
        rows = [self.company_row(weighted(self.rng, TEAM_SHARE))[0] for _ in range(count)]
        parents_n = max(0, count // 15)
        created = services.company_bulk_create(actor=self.admin, rows=rows[parents_n:])
        children = rows[:parents_n]
        for row in children:
            row["parent"] = self.rng.choice(created)
        created += services.company_bulk_create(actor=self.admin, rows=children)
        return created

    # --- people ------------------------------------------------------------------------
    def person_row(self, team: str) -> tuple[dict, str]:
        key = weighted(self.rng, TEAMS[team])
        spec, faker = LOCALES[key], self.fakers[key]
        owner, team_obj = self.owner(team)
        female = self.rng.random() < 0.5
        first = faker.first_name_female() if female else faker.first_name_male()
        last = faker.last_name_female() if female else faker.last_name_male()
        row: dict = {
            "first_name": first,
            "last_name": last,
            "language": spec.language,
            "time_zone": spec.time_zone,
            "source": self.rng.choice(SOURCES),
            "owner": owner,
            "team": team_obj,
            "phones": [{"number": self.mobile(spec), "label": "mobile"}],
            "tags": self.rng.sample(PERSON_TAGS, self.rng.choice((0, 1, 1, 2, 3))),
        }
        if spec.patronymic and self.rng.random() < 0.5:
            row["middle_name"] = faker.middle_name_female() if female else faker.middle_name_male()
        if self.rng.random() < 0.25:
            row["phones"].append({"number": self.mobile(spec), "label": "work"})
        if self.rng.random() < 0.4:
            row["birthday"] = datetime.date(
                self.rng.randint(1955, 2003), self.rng.randint(1, 12), self.rng.randint(1, 28)
            )
            row["gender"] = "female" if female else "male"
        if self.rng.random() < 0.25:
            row["family_status"] = self.rng.choice(("single", "partnered", "married", "divorced"))
        if self.rng.random() < 0.2:
            row["income_band"] = self.rng.choice(("lower_middle", "middle", "upper_middle", "high"))
        if self.rng.random() < 0.3:
            row["addresses"] = [self.address(spec, faker, "home")]
        if self.rng.random() < 0.3:
            handle = f"{fold(first)}-{fold(last)}".replace(" ", "-")
            row["social_profiles"] = [
                {
                    "network": "linkedin",
                    "handle": handle,
                    "url": f"https://www.linkedin.com/in/{handle}",
                }
            ]
            if key in ("uk", "ru"):
                row["social_profiles"].append(
                    {"network": "telegram", "handle": "@" + handle.replace("-", "_"), "url": ""}
                )
        if self.rng.random() < 0.1:
            row["groups"] = [self.rng.choice(GROUPS)]
        if self.rng.random() < 0.5:
            row["custom_fields"] = {
                "preferred_channel": self.rng.choice(("Email", "Phone", "Telegram", "WhatsApp")),
                "nps": self.rng.randint(0, 10),
                "newsletter": self.rng.random() < 0.5,
            }
        if self.rng.random() < 0.1:
            row["notes"] = faker.sentence(nb_words=12)
        return row, key

    def people(self, count: int, companies: list) -> list:
        """Create the people (email domain follows the employer), then their jobs."""
        by_team: dict[int, list] = {}
        for company in companies:
            by_team.setdefault(company.team_id, []).append(company)
        rows, employers = [], []
        for _ in range(count):
            row, key = self.person_row(weighted(self.rng, TEAM_SHARE))
            spec = LOCALES[key]
            employer = None
            if companies and self.rng.random() < 0.85:
                pool = by_team.get(row["team"].pk) if self.rng.random() < 0.8 else None
                employer = self.rng.choice(pool or companies)
            local = f"{fold(row['first_name'])}.{fold(row['last_name'])}"
            domain = employer.primary_domain if employer else self.rng.choice(spec.free_mail)
            row["emails"] = [{"address": self.unique_email(local, domain), "label": "work"}]
            if employer and self.rng.random() < 0.3:
                home = self.unique_email(local, self.rng.choice(spec.free_mail))
                row["emails"].append({"address": home, "label": "home"})
            rows.append(row)
            employers.append(employer)
        created = services.person_bulk_create(actor=self.admin, rows=rows)
        services.employment_bulk_add(
            actor=self.admin, links=self.employment_links(created, employers, companies)
        )
        return created

    def employment_links(self, people: list, employers: list, companies: list) -> list[dict]:
        """A current job for the employed, and an earlier one for some of them."""
        today = timezone.localdate()
        links = []
        for person, employer in zip(people, employers, strict=True):
            if employer is None:
                continue
            start = today - datetime.timedelta(days=self.rng.randint(60, 3000))
            previous = self.rng.choice(companies)
            if self.rng.random() < 0.15 and previous.pk != employer.pk:
                links.append(
                    {
                        "person": person,
                        "company": previous,
                        "title": self.rng.choice(TITLES),
                        "department": self.rng.choice(DEPARTMENTS),
                        "start_date": start - datetime.timedelta(days=self.rng.randint(400, 2000)),
                        "end_date": start - datetime.timedelta(days=self.rng.randint(1, 60)),
                    }
                )
            links.append(
                {
                    "person": person,
                    "company": employer,
                    "title": self.rng.choice(TITLES),
                    "department": self.rng.choice(DEPARTMENTS),
                    "start_date": start,
                }
            )
        return links

    def duplicates(self, people: list, count: int) -> list:
        """Near-duplicates of a few people, as real address books hold them: the name in
        Latin letters, the email in capitals or the same phone, so the Duplicates page and
        the merge have something to show."""
        chosen = self.rng.sample(people, min(count, len(people)))
        rows = []
        for person in chosen:
            emails = [e.address for e in person.emails.all()]
            numbers = [p.number for p in person.phones.all()]
            row = {
                "first_name": fold(person.first_name).title(),
                "last_name": fold(person.last_name).title(),
                "owner": person.owner,
                "team": person.team,
                "source": "business card scan",
            }
            if emails:
                row["emails"] = [{"address": emails[0].upper(), "label": "work"}]
            if numbers:
                row["phones"] = [{"number": numbers[0], "label": "mobile"}]
            rows.append(row)
        return services.person_bulk_create(actor=self.admin, rows=rows)

    def consents(self, people: list) -> None:
        """Consent rows for about one person in twelve; every tenth one withdrawn."""
        chosen = self.rng.sample(people, min(len(people), max(1, len(people) // 12)))
        for n, person in enumerate(chosen):
            consent = services.consent_record(
                actor=self.admin,
                person=person,
                channel=self.rng.choice(("email", "sms", "phone")),
                purpose="newsletter" if n % 2 else "product updates",
                source="web form",
                given_at=timezone.now() - datetime.timedelta(days=self.rng.randint(1, 700)),
            )
            if n % 10 == 9:
                services.consent_withdraw(actor=self.admin, consent=consent)
