"""Login, logout and failed-login audit rows (authentication events only), plus the
security events around them: password changed or reset, second factor added or removed.

Django and django-axes announce these events only through signals, so this is the one
place signals write audit rows; business writes never happen here. Each row carries
the actor (when known), IP and request id through rapport.core.audit.record, which
reads the request context bound by RequestContextMiddleware.
"""

from __future__ import annotations

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from rapport.core import audit


def _user_row(user) -> dict:
    return {"object_type": "user", "object_id": user.pk, "object_repr": user.get_username()}


def _target(request, credentials) -> tuple[str, dict]:
    """The login text typed and, when it names exactly one account, that account's row."""
    from rapport.accounts.auth import attempted_login
    from rapport.accounts.models import User

    typed = attempted_login(request, credentials)
    if not typed:
        return "", {}
    matches = list(User.objects.filter(username__iexact=typed)[:2]) or list(
        User.objects.filter(email__iexact=typed)[:2]
    )
    if len(matches) == 1:
        return typed, _user_row(matches[0])
    return typed, {"object_type": "user", "object_repr": typed[:200]}


def _record_anonymous(typed: str, target: dict, *, reason: str) -> None:
    """A failed-login row: nobody is signed in, so the actor stays empty (not "system")."""
    event = audit.build(
        audit.Action.LOGIN_FAILED, extra={"login": typed[:150], "reason": reason}, **target
    )
    event.actor_label = ""
    event.save(force_insert=True)


@receiver(user_logged_in, dispatch_uid="rapport_audit_login")
def audit_login(sender, request, user, **kwargs) -> None:
    methods: list[str] = []
    if request is not None and hasattr(request, "session"):
        from allauth.account.authentication import get_authentication_records

        methods = sorted({r.get("method", "") for r in get_authentication_records(request, user)})
    audit.record(audit.Action.LOGIN, actor=user, extra={"methods": methods}, **_user_row(user))


@receiver(user_logged_out, dispatch_uid="rapport_audit_logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is None or not getattr(user, "pk", None):
        return
    audit.record(audit.Action.LOGOUT, actor=user, **_user_row(user))


@receiver(user_login_failed, dispatch_uid="rapport_audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    typed, target = _target(request, credentials)
    refused = bool(getattr(request, "axes_locked_out", False)) and (
        getattr(request, "axes_failures_since_start", None) is None
    )
    _record_anonymous(typed, target, reason="locked_out" if refused else "invalid_credentials")


@receiver(user_locked_out, dispatch_uid="rapport_audit_lockout")
def audit_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """One row when a (username, IP) pair becomes locked (not for each refused retry)."""
    if request is not None and getattr(request, "axes_failures_since_start", None) is None:
        return
    typed, target = _target(request, None)
    _record_anonymous(typed or username or "", target, reason="lockout")


@receiver(mfa_signals.authentication_failed, dispatch_uid="rapport_audit_mfa_failed")
def audit_mfa_failed(sender, request=None, user=None, authenticator=None, **kwargs) -> None:
    """A wrong second-factor code: the password was right, the sign-in still failed."""
    if user is None:
        return
    _record_anonymous(user.get_username(), _user_row(user), reason="invalid_mfa_code")


def _security_event(user, event: str, **extra) -> None:
    audit.record(
        audit.Action.UPDATE, actor=user, extra={"event": event, **extra}, **_user_row(user)
    )


@receiver(account_signals.password_changed, dispatch_uid="rapport_audit_password_changed")
def audit_password_changed(sender, request=None, user=None, **kwargs) -> None:
    _security_event(user, "password_changed")


@receiver(account_signals.password_reset, dispatch_uid="rapport_audit_password_reset")
def audit_password_reset(sender, request=None, user=None, **kwargs) -> None:
    _security_event(user, "password_reset")


@receiver(mfa_signals.authenticator_added, dispatch_uid="rapport_audit_mfa_added")
def audit_mfa_added(sender, request=None, user=None, authenticator=None, **kwargs) -> None:
    _security_event(user, "mfa_added", kind=getattr(authenticator, "type", ""))


@receiver(mfa_signals.authenticator_removed, dispatch_uid="rapport_audit_mfa_removed")
def audit_mfa_removed(sender, request=None, user=None, authenticator=None, **kwargs) -> None:
    _security_event(user, "mfa_removed", kind=getattr(authenticator, "type", ""))


@receiver(mfa_signals.authenticator_reset, dispatch_uid="rapport_audit_mfa_reset")
def audit_mfa_reset(sender, request=None, user=None, authenticator=None, **kwargs) -> None:
    _security_event(user, "mfa_reset", kind=getattr(authenticator, "type", ""))
