"""The trash: every entity's deleted records the user may restore."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from rapport.core import selectors


@login_required
def trash(request):
    sections = selectors.trash_sections(request.user)
    return render(request, "core/trash.html", {"sections": sections})
