"""My profile: preferences (language, time zone, theme, phone region) and API tokens.

Views parse, call a service and render; the administration area is in admin_views.py.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from rapport.accounts import admin_services, forms, selectors, services
from rapport.accounts.models import User


def _set_language_cookie(response, language: str) -> None:
    if not language:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        return
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


# --- my profile -----------------------------------------------------------------------


def _profile_page(request, *, form=None, token_form=None, new_token=None, status=200):
    from allauth.mfa.models import Authenticator

    kinds = set(Authenticator.objects.filter(user=request.user).values_list("type", flat=True))
    context = {
        "form": form or forms.ProfileForm(initial=_profile_initial(request.user)),
        "token_form": token_form or forms.TokenCreateForm(),
        "tokens": selectors.tokens_for_user(user=request.user),
        "new_token": new_token,
        "mfa_totp": Authenticator.Type.TOTP in kinds,
        "mfa_recovery": Authenticator.Type.RECOVERY_CODES in kinds,
        "time_zones": admin_services.time_zone_names(),
        "phone_regions": admin_services.phone_regions(),
        "can_administer": selectors.may_administer(request.user),
    }
    return render(request, "accounts/profile.html", context, status=status)


def _profile_initial(user: User) -> dict:
    return {name: getattr(user, name) for name in admin_services.PROFILE_FIELDS}


@never_cache
@login_required
def profile(request):
    if request.method != "POST":
        return _profile_page(request)
    form = forms.ProfileForm(request.POST)
    if form.is_valid():
        try:
            admin_services.profile_update(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
    if not form.is_valid():
        return _profile_page(request, form=form, status=422)
    language = request.user.language
    if language:
        translation.activate(language)
    messages.success(request, _("Your preferences are saved."))
    response = redirect("accounts:profile")
    _set_language_cookie(response, language)
    return response


@never_cache
@login_required
@require_POST
def token_create(request):
    """Create a token and show its raw value in this one response only (never stored)."""
    form = forms.TokenCreateForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, token_form=form, status=422)
    _token, raw = services.token_create(user=request.user, name=form.cleaned_data["name"])
    return _profile_page(request, new_token=raw, status=201)  # never_cache: no-store


@login_required
@require_POST
def token_revoke(request, token_id: int):
    token = selectors.token_of_user(user=request.user, token_id=token_id)
    services.token_revoke(actor=request.user, token=token)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("accounts:profile")
