"""Dashboard and global search pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from rapport.core import selectors


@login_required
def dashboard(request):
    """A welcome page: what the user can see, what changed lately, where to start."""
    summaries = selectors.entity_summaries(request.user)
    return render(request, "core/dashboard.html", {"summaries": summaries})


@login_required
def search_page(request):
    """Full search results grouped by entity."""
    text = request.GET.get("q", "").strip()[:200]
    hits = selectors.search_hits(request.user, text, limit=50)
    context = {"q": text, "groups": selectors.group_hits(hits), "count": len(hits)}
    return render(request, "core/search.html", context)


@login_required
def palette(request):
    """The Ctrl+K palette's result list (an HTMX partial)."""
    text = request.GET.get("q", "").strip()[:200]
    hits = selectors.search_hits(request.user, text, limit=12)
    context = {"q": text, "groups": selectors.group_hits(hits)}
    return render(request, "core/_palette_results.html", context)
