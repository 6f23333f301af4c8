"""The Duplicates page: clusters from the latest scan, "Scan now", "Not duplicates"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import keyset, permissions
from rapport.dataio.dedup import selectors, services
from rapport.dataio.models import DuplicateCluster

PAGE_SIZE = 25


def _entity(raw: str | None) -> str:
    entity = raw or "person"
    if entity not in services.ENTITIES:
        raise Http404
    return entity


def _back(entity: str):
    return redirect(f"{reverse('dataio:duplicate_list')}?entity={entity}")


@login_required
def duplicate_list(request):
    entity = _entity(request.GET.get("entity"))
    if not permissions.can(request.user, entity, "view"):
        raise PermissionDenied
    try:
        clusters, next_cursor = selectors.clusters_for(
            request.user, entity, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except keyset.CursorError:
        return _back(entity)
    context = {
        "entity": entity,
        "url_base": "people" if entity == "person" else "companies",
        "entities": [("person", _("People")), ("company", _("Companies"))],
        "clusters": clusters,
        "next_cursor": next_cursor,
        "scan": selectors.latest_scan(entity),
        "can_scan": services.may_scan(request.user, entity),
    }
    return render(request, "dataio/duplicate_list.html", context)


@login_required
@require_POST
def duplicate_scan(request):
    entity = _entity(request.POST.get("entity"))
    services.duplicate_scan_start(actor=request.user, entity=entity)
    messages.info(request, _("The scan is queued; refresh this page to see its results."))
    return _back(entity)


@login_required
@require_POST
def duplicate_dismiss(request):
    """Dismiss a whole cluster (`cluster`) or one pair (`left_id`, `right_id`)."""
    entity = _entity(request.POST.get("entity"))
    try:
        if request.POST.get("cluster"):
            cluster = get_object_or_404(
                DuplicateCluster, pk=int(request.POST["cluster"]), entity=entity
            )
            services.duplicate_dismiss_cluster(actor=request.user, cluster=cluster)
        else:
            services.duplicate_dismiss(
                actor=request.user,
                entity=entity,
                left_id=int(request.POST.get("left_id", "")),
                right_id=int(request.POST.get("right_id", "")),
            )
    except (ValueError, ObjectDoesNotExist) as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(entity)
    messages.success(request, _("Marked as not duplicates; they will not be proposed again."))
    return _back(entity)


urlpatterns = [
    path("", duplicate_list, name="duplicate_list"),
    path("scan/", duplicate_scan, name="duplicate_scan"),
    path("dismiss/", duplicate_dismiss, name="duplicate_dismiss"),
]
