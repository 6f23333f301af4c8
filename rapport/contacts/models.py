"""People, companies, their channels, employment, groups and consent."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.models import Tag, TrackedModel


class Gender(models.TextChoices):
    FEMALE = "female", _("female")
    MALE = "male", _("male")
    NONBINARY = "nonbinary", _("non-binary")
    UNDISCLOSED = "undisclosed", _("prefers not to say")


class FamilyStatus(models.TextChoices):
    SINGLE = "single", _("single")
    PARTNERED = "partnered", _("in a relationship")
    MARRIED = "married", _("married")
    DIVORCED = "divorced", _("divorced")
    WIDOWED = "widowed", _("widowed")


class IncomeBand(models.TextChoices):
    LOW = "low", _("low")
    LOWER_MIDDLE = "lower_middle", _("lower middle")
    MIDDLE = "middle", _("middle")
    UPPER_MIDDLE = "upper_middle", _("upper middle")
    HIGH = "high", _("high")


class SocialNetwork(models.TextChoices):
    LINKEDIN = "linkedin", "LinkedIn"
    FACEBOOK = "facebook", "Facebook"
    X = "x", "X"
    TELEGRAM = "telegram", "Telegram"
    INSTAGRAM = "instagram", "Instagram"
    GITHUB = "github", "GitHub"
    MASTODON = "mastodon", "Mastodon"
    OTHER = "other", _("other")


class ContactGroup(models.Model):
    """A named group of people (family, friends, business, a conference …)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("group")
        verbose_name_plural = _("groups")

    def __str__(self) -> str:
        return self.name


class SecondDomain(models.Func):
    """The second entry of a company's `domains` list (NULL when it has one or none),
    written the same way in the index and in queries, as `PhoneTail` is: the few
    companies with more than one domain are read from `company_second_domain_idx`
    instead of parsing every row's list (the company list's domain filter)."""

    output_field = models.TextField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} ->> 1)", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"json_extract({sql}, '$[1]')", params


class Company(TrackedModel):
    """An organisation: customer, prospect, partner or employer of people."""

    class Size(models.TextChoices):
        MICRO = "1-9", "1–9"
        SMALL = "10-49", "10–49"
        MEDIUM = "50-249", "50–249"
        LARGE = "250-999", "250–999"
        ENTERPRISE = "1000+", "1000+"

    name = models.CharField(_("name"), max_length=200)
    legal_name = models.CharField(_("legal name"), max_length=250, blank=True)
    registration_id = models.CharField(_("registration id"), max_length=50, blank=True)
    vat_id = models.CharField(_("VAT id"), max_length=50, blank=True)
    domains = models.JSONField(_("domains"), default=list, blank=True)
    primary_domain = models.CharField(_("domain"), max_length=253, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=Size.choices, blank=True)
    annual_revenue = models.DecimalField(
        _("annual revenue"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    revenue_currency = models.CharField(_("currency"), max_length=3, blank=True)
    addresses = models.JSONField(_("addresses"), default=list, blank=True)
    websites = models.JSONField(_("websites"), default=list, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subsidiaries",
        verbose_name=_("parent company"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="+", verbose_name=_("tags"))
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    sort_key = models.CharField(max_length=200, editable=False, default="")
    # Phonetic key of the folded name: the duplicate scan's blocking key (indexed in Meta:
    # compared whole, no `LIKE` index wanted; decision 0041).
    match_key = models.CharField(max_length=100, editable=False, default="")

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        indexes = [
            models.Index(fields=["match_key"], name="company_match_key_idx"),
            models.Index(fields=["sort_key", "id"], name="company_sort_idx"),
            models.Index(fields=["-created_at", "-id"], name="company_created_idx"),
            models.Index(fields=["team", "sort_key", "id"], name="company_team_sort_idx"),
            models.Index(fields=["owner", "sort_key", "id"], name="company_owner_sort_idx"),
            # most recently updated first: the dashboard and `ordering=-updated_at`
            models.Index(fields=["-updated_at", "-id"], name="company_updated_idx"),
            models.Index(fields=["team", "-updated_at", "-id"], name="company_team_updated_idx"),
            models.Index(fields=["owner", "-updated_at", "-id"], name="company_owner_updated_idx"),
            # the company list's industry filter (decision 0042)
            models.Index(Lower("industry"), name="company_industry_idx"),
            # the list sorted by industry walks this, checking the scope per row (a team
            # holds a large share of the companies), instead of sorting the whole scope
            models.Index(fields=["industry", "id"], name="company_industry_sort_idx"),
            # the domain filter's other domains: only companies with two or more
            models.Index(SecondDomain("domains"), name="company_second_domain_idx"),
        ]

    def __str__(self) -> str:
        return self.name


# The person list's sortable indexes other than by creation, each then deleted_at (the
# created ones carry it already): by name, by update and by email, for everyone, a team
# and an owner (decisions 0030, 0033, 0049).
PERSON_ORDER_INDEXES = {
    "sort": ["sort_key", "id", "created_at"],
    "team_sort": ["team", "sort_key", "id", "created_at"],
    "owner_sort": ["owner", "sort_key", "id", "created_at"],
    "updated": ["-updated_at", "-id"],
    "team_updated": ["team", "-updated_at", "-id"],
    "owner_updated": ["owner", "-updated_at", "-id"],
    "email": ["primary_email", "id"],
    "team_email": ["team", "primary_email", "id"],
    "owner_email": ["owner", "primary_email", "id"],
}


class Person(TrackedModel):
    """A human the business knows: customer, lead, colleague, friend."""

    prefix = models.CharField(_("prefix"), max_length=20, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    suffix = models.CharField(_("suffix"), max_length=20, blank=True)
    primary_email = models.CharField(_("email"), max_length=254, blank=True, editable=False)
    primary_phone = models.CharField(_("phone"), max_length=20, blank=True, editable=False)
    company = models.ForeignKey(
        Company,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("company"),
    )  # current employer, kept in step with employments by the service
    job_title = models.CharField(_("job title"), max_length=150, blank=True, editable=False)
    addresses = models.JSONField(_("addresses"), default=list, blank=True)
    websites = models.JSONField(_("websites"), default=list, blank=True)
    social_profiles = models.JSONField(_("social profiles"), default=list, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=12, choices=Gender.choices, blank=True)
    family_status = models.CharField(
        _("family status"), max_length=12, choices=FamilyStatus.choices, blank=True
    )
    income_band = models.CharField(
        _("income band"), max_length=12, choices=IncomeBand.choices, blank=True
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="people/%Y/%m/", blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="+", verbose_name=_("tags"))
    groups = models.ManyToManyField(
        ContactGroup, blank=True, related_name="people", verbose_name=_("groups")
    )
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    sort_key = models.CharField(max_length=320, editable=False, default="")
    # Phonetic key of the folded, nickname-resolved name: the duplicate scan's blocking key.
    # Indexed in Meta, which on PostgreSQL adds no second `LIKE` index: it is only ever
    # compared whole (decision 0041).
    match_key = models.CharField(max_length=100, editable=False, default="")

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [
            models.Index(fields=["match_key"], name="person_match_key_idx"),
            # The name indexes carry created_at, so "by name, created between" walks one in
            # order and checks the date from the index; the created indexes carry
            # deleted_at, so counting a date range reads no rows (decision 0033). Every
            # sortable index ends in deleted_at, so a walk that tests each row's search
            # entry (the text filter) reads a row only once it matches (decision 0049).
            *(
                models.Index(fields=[*lead, "deleted_at"], name=f"person_{name}_idx")
                for name, lead in PERSON_ORDER_INDEXES.items()
            ),
            models.Index(fields=["-created_at", "-id", "deleted_at"], name="person_created_idx"),
            models.Index(
                fields=["team", "-created_at", "-id", "deleted_at"], name="person_team_created_idx"
            ),
            # "my people": the owner's rows in every sortable order (decision 0030)
            models.Index(
                fields=["owner", "-created_at", "-id", "deleted_at"],
                name="person_owner_created_idx",
            ),
            # the list's language and source filters (decision 0042)
            models.Index(fields=["language"], name="person_language_idx"),
            models.Index(Lower("source"), name="person_source_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.primary_email or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        parts = [self.prefix, self.first_name, self.middle_name, self.last_name, self.suffix]
        return " ".join(p for p in parts if p)


class EmailAddress(models.Model):
    """One of a person's email addresses; `normalized` is what matching and search use."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="emails")
    address = models.EmailField(_("email"), max_length=254)
    # Indexed in Meta (compared whole or by `IN`, never by `LIKE`; decision 0041).
    normalized = models.CharField(max_length=254, editable=False)
    label = models.CharField(_("label"), max_length=30, blank=True)
    primary = models.BooleanField(_("primary"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("email address")
        verbose_name_plural = _("email addresses")
        indexes = [models.Index(fields=["normalized"], name="email_normalized_idx")]

    def __str__(self) -> str:
        return self.address


class PhoneTail(models.Func):
    """The last `length` characters of a phone number (nine, or four), written with a
    literal length in the index and in queries alike: SQLite matches a query's
    expression to an index's only when they are the same text, and Django's `Right`
    binds its length as parameters."""

    output_field = models.CharField()

    def __init__(self, expression, length: int = 9, **extra):
        super().__init__(expression, **extra)
        self.length = int(length)

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"RIGHT({sql}, {self.length})", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"SUBSTR({sql}, -{self.length})", params


class PhoneNumber(models.Model):
    """A phone number of a person or a company, stored in E.164."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, null=True, blank=True, related_name="phones"
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="phones"
    )
    # Indexed in Meta (compared whole or by `IN`; a tail search cannot use a `LIKE`
    # index; decision 0041).
    number = models.CharField(_("phone"), max_length=20)
    label = models.CharField(_("label"), max_length=30, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        indexes = [
            models.Index(fields=["number"], name="phone_number_idx"),
            # the last nine digits: the phone filter and a caller's number find the
            # person by them whatever the prefix was typed as (+380…, 0…)
            models.Index(PhoneTail("number"), name="phone_tail_idx"),
            # the last four: a shorter tail typed in the filter (4-8 digits) reads the
            # numbers ending with its last four, not the whole table
            models.Index(PhoneTail("number", 4), name="phone_tail4_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False) | models.Q(company__isnull=False),
                name="phone_has_owner",
            )
        ]

    def __str__(self) -> str:
        return self.number


class Employment(models.Model):
    """A person's job at a company over a span of time; several over a career."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="employments")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="employments")
    title = models.CharField(_("title"), max_length=150, blank=True)
    department = models.CharField(_("department"), max_length=150, blank=True)
    start_date = models.DateField(_("start"), null=True, blank=True)
    end_date = models.DateField(_("end"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = _("employment")
        verbose_name_plural = _("employments")
        indexes = [models.Index(fields=["company", "person"], name="employment_company_idx")]

    def __str__(self) -> str:
        return f"{self.person} @ {self.company}"

    @property
    def current(self) -> bool:
        return self.end_date is None or self.end_date >= timezone.localdate()


class Consent(models.Model):
    """A consent given or withdrawn; rows are kept, never overwritten."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("email")
        SMS = "sms", _("SMS")
        PHONE = "phone", _("phone")
        POST = "post", _("post")

    class LawfulBasis(models.TextChoices):
        CONSENT = "consent", _("consent")
        CONTRACT = "contract", _("contract")
        LEGAL_OBLIGATION = "legal_obligation", _("legal obligation")
        VITAL_INTERESTS = "vital_interests", _("vital interests")
        PUBLIC_TASK = "public_task", _("public task")
        LEGITIMATE_INTERESTS = "legitimate_interests", _("legitimate interests")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=100)
    lawful_basis = models.CharField(
        _("lawful basis"), max_length=30, choices=LawfulBasis.choices, default=LawfulBasis.CONSENT
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    given_at = models.DateTimeField(_("given"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [models.Index(fields=["person", "channel", "-created_at"], name="consent_idx")]

    def __str__(self) -> str:
        return f"{self.person} {self.channel} {self.purpose}"

    @property
    def active(self) -> bool:
        return self.given_at is not None and self.withdrawn_at is None
