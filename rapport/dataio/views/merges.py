"""Merge pages: the side-by-side merge, its undo, the merge history, "Merge with…" from a
record page and the administrators' bulk merge of high-confidence clusters."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import keyset, permissions, search
from rapport.core.exceptions import ConflictError
from rapport.core.registry import registry
from rapport.dataio.merge_preview import preview
from rapport.dataio.merge_undo import (
    MergeUndoRefused,
    merge_clusters_bulk,
    merge_undo,
    merges_visible_to,
)
from rapport.dataio.merging import MERGED, SURVIVOR, moved_counts, record_merge

NEWEST_FIRST = keyset.Ordering("-at", (("at", True), ("id", True)))
DEFAULT_THRESHOLD = 0.9


def _entity(key: str):
    entity = registry.get(key)
    if entity is None:
        raise Http404
    return entity


def _live(entity, user, pk: int):
    return get_object_or_404(
        entity.detail_queryset(entity.model.objects.restrict(user, "view")), pk=pk
    )


def _page(request, entity, survivor, merged, *, status=200, errors=None):
    user = request.user
    shown = preview(survivor, merged, user)
    for choice in shown.choices:
        posted = request.POST.get(f"choice:{choice.key}")
        choice.selected = posted if posted in (SURVIVOR, MERGED) else choice.default
    allowed = all(permissions.allows(user, entity.key, "change", o) for o in (survivor, merged))
    context = {
        "entity": entity,
        "survivor": survivor,
        "merged": merged,
        "preview": shown,
        "may_merge": allowed
        and survivor.pk != merged.pk
        and permissions.allows(user, entity.key, "delete", merged),
        "swap_url": reverse("dataio:merge", args=[entity.key, merged.pk, survivor.pk]),
        "errors": errors or [],
    }
    return render(request, "dataio/merge.html", context, status=status)


@login_required
def merge_page(request, entity: str, left: int, right: int):
    """GET: side by side, `left` survives; POST: merge with the chosen values."""
    entity = _entity(entity)
    survivor, merged = _live(entity, request.user, left), _live(entity, request.user, right)
    if survivor.pk == merged.pk:
        message = _("A record cannot be merged with itself.")
        return _page(request, entity, survivor, merged, status=422, errors=[message])
    if request.method != "POST":
        return _page(request, entity, survivor, merged)
    choices = {
        key.removeprefix("choice:"): value
        for key, value in request.POST.items()
        if key.startswith("choice:") and value in (SURVIVOR, MERGED)
    }
    versions = {
        name: int(request.POST[name]) if request.POST.get(name, "").isdigit() else None
        for name in ("survivor_version", "merged_version")
    }
    try:
        merge = record_merge(
            actor=request.user,
            entity=entity.key,
            survivor=survivor,
            merged=merged,
            choices=choices,
            **versions,
        )
    except ConflictError:
        message = _("One of the records changed while you were choosing; check again.")
        return _page(request, entity, survivor, merged, status=409, errors=[message])
    except ValidationError as exc:
        return _page(request, entity, survivor, merged, status=422, errors=exc.messages)
    survivor = entity.model.objects.get(pk=survivor.pk)  # with the values that survived
    messages.success(
        request,
        _("“%(merged)s” was merged into “%(survivor)s”.")
        % {"merged": merged, "survivor": survivor},
        extra_tags=f"undo:{reverse('dataio:merge_undo', args=[merge.pk])}",
    )
    return redirect(entity.get_absolute_url(survivor))


@login_required
@require_POST
def merge_undo_view(request, pk: int):
    merge = get_object_or_404(merges_visible_to(request.user), pk=pk)
    entity = _entity(merge.entity)
    try:
        merge_undo(actor=request.user, merge=merge)
    except MergeUndoRefused as exc:
        messages.error(request, exc.reason)
        return redirect("dataio:merge_list")
    messages.success(request, _("The merge was undone."))
    return redirect(reverse(f"{entity.url_base}:detail", args=[merge.merged_id]))


@login_required
def merge_start(request, entity: str, pk: int):
    """ "Merge with…": an id goes straight to the merge page; text is searched."""
    entity = _entity(entity)
    record = _live(entity, request.user, pk)
    text = request.GET.get("other", "").strip().lstrip("#")
    hits = []
    if text.isdigit() and int(text) != record.pk:
        if entity.model.objects.restrict(request.user, "view").filter(pk=int(text)).exists():
            return redirect("dataio:merge", entity.key, record.pk, int(text))
    elif text:
        hits = [
            h
            for h in search.search(request.user, text)
            if h.entity == entity.key and h.id != record.pk
        ]
        if len(hits) == 1:
            return redirect("dataio:merge", entity.key, record.pk, hits[0].id)
    context = {"entity": entity, "record": record, "text": text, "hits": hits}
    return render(request, "dataio/merge_pick.html", context)


@login_required
def merge_list(request):
    try:
        page = keyset.paginate(
            merges_visible_to(request.user).select_related("actor", "undone_by"),
            ordering=NEWEST_FIRST,
            filters={},
            cursor=request.GET.get("cursor") or None,
            limit=50,
        )
    except keyset.CursorError as exc:
        raise Http404 from exc
    wanted: dict[str, set[int]] = {}
    for merge in page.items:
        wanted.setdefault(merge.entity, set()).update((merge.survivor_id, merge.merged_id))
    names = {
        (key, obj.pk): str(obj)
        for key, ids in wanted.items()
        for obj in registry.get(key).model.all_objects.filter(pk__in=sorted(ids))
    }
    rows = []
    for merge in page.items:
        entity = registry.get(merge.entity)
        rows.append(
            {
                "merge": merge,
                "entity": entity,
                "survivor": names.get((merge.entity, merge.survivor_id), ""),
                "merged": names.get((merge.entity, merge.merged_id), ""),
                "moved": sum(moved_counts(merge.moved).values()),
                "survivor_url": reverse(f"{entity.url_base}:detail", args=[merge.survivor_id]),
                "merged_url": reverse(f"{entity.url_base}:detail", args=[merge.merged_id]),
            }
        )
    context = {"rows": rows, "next_cursor": page.next_cursor}
    return render(request, "dataio/merge_list.html", context)


@login_required
@require_POST
def merge_bulk(request):
    """Administrators merge every cluster of the latest scan scoring at least the threshold."""
    entity = _entity(request.POST.get("entity", ""))
    try:
        threshold = float(request.POST.get("threshold", DEFAULT_THRESHOLD))
    except ValueError:
        threshold = -1.0
    back = f"{reverse('dataio:duplicate_list')}?entity={entity.key}"
    if not 0.5 <= threshold <= 1.0:
        messages.error(request, _("Threshold: enter a score from 50 to 100 %."))
        return redirect(back)
    try:
        result = merge_clusters_bulk(actor=request.user, entity=entity.key, threshold=threshold)
    except PermissionDenied:
        raise Http404 from None  # the form is not there for non-administrators either
    messages.success(
        request,
        _("%(clusters)s groups merged (%(merges)s records); %(skipped)s skipped.")
        % {
            "clusters": result.clusters,
            "merges": len(result.merges),
            "skipped": len(result.skipped),
        },
    )
    for cluster_id, reason in result.skipped[:10]:
        messages.warning(
            request, _("Group %(id)s: %(reason)s") % {"id": cluster_id, "reason": reason}
        )
    return redirect(back)


urlpatterns = [
    path("", merge_list, name="merge_list"),
    path("bulk/", merge_bulk, name="merge_bulk"),
    path("<int:pk>/undo/", merge_undo_view, name="merge_undo"),
    path("<str:entity>/<int:pk>/with/", merge_start, name="merge_start"),
    path("<str:entity>/<int:left>/<int:right>/", merge_page, name="merge"),
]
