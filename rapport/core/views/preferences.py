"""Top-bar endpoints: interface language and theme."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from rapport.core import preferences


def _back(request):
    target = request.POST.get("next") or request.headers.get("referer") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    return redirect(target)


@require_POST
def set_language(request):
    """Django's set_language (cookie + redirect), plus the choice saved on the profile."""
    if request.user.is_authenticated:
        try:
            preferences.user_set_language(
                user=request.user, language=request.POST.get("language", "")
            )
        except ValidationError:
            return HttpResponseBadRequest()
    return django_set_language(request)


@require_POST
def set_theme(request):
    """Save light/dark/system on the profile; fetch calls get 204, forms a redirect."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)  # anonymous pages keep the choice in localStorage
    try:
        preferences.user_set_theme(user=request.user, theme=request.POST.get("theme", ""))
    except ValidationError:
        return HttpResponseBadRequest()
    if request.headers.get("X-Requested-With") == "fetch" or request.htmx:
        return HttpResponse(status=204)
    return _back(request)
