"""Users, teams, roles and API tokens."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    """A group of users; records belong to one team and "team" scope reads by it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. Preferences (language, time zone, theme, phone region)
    live here; what they may do comes only from role assignments, never from
    is_superuser."""

    class Theme(models.TextChoices):
        SYSTEM = "system", _("system")
        LIGHT = "light", _("light")
        DARK = "dark", _("dark")

    primary_team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("primary team"),
    )
    teams = models.ManyToManyField(
        Team, through="Membership", related_name="members", blank=True, verbose_name=_("teams")
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    theme = models.CharField(_("theme"), max_length=10, choices=Theme.choices, default=Theme.SYSTEM)
    phone_region = models.CharField(_("default phone region"), max_length=2, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @classmethod
    def entity_key(cls) -> str:
        return "user"


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} ∈ {self.team}"


class Role(models.Model):
    """Per entity ("*" = all) and action, the scope the role grants.

    permissions = {"*": {"view": "team", "add": "own"}, "person": {"export": "team"}}
    """

    name = models.SlugField(_("name"), max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=100)
    builtin = models.BooleanField(default=False, editable=False)
    permissions = models.JSONField(_("permissions"), default=dict)
    field_permissions = models.JSONField(_("field permissions"), default=list, blank=True)
    can_grant_roles = models.BooleanField(_("may grant roles within own teams"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.label or self.name


class RoleAssignment(models.Model):
    """A role held on one team, or on every team when `team` is empty."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="assignments")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True)
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "team"],
                name="roleassignment_team_unique",
                condition=models.Q(team__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                name="roleassignment_all_unique",
                condition=models.Q(team__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} {self.team or '*'}"


class UserFieldGrant(models.Model):
    """A field permission (such as personal_data) granted to one user directly."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="field_grants")
    permission = models.CharField(max_length=50)
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "permission"], name="fieldgrant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.permission}"


TOKEN_PREFIX = "rpt_"  # noqa: S105 — a public prefix, not a secret


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 is stored, the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
