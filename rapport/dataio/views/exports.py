"""Export pages: download a list as CSV/XLSX/vCard/JSON, follow a large export, list
one's recent exports. Views only parse, call `rapport.dataio.exporting` and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from rapport.core import permissions
from rapport.core.exceptions import PermissionDenied
from rapport.core.navigation import url_or_none
from rapport.core.registry import registry
from rapport.core.selectors import capped_count
from rapport.core.services import deny
from rapport.dataio import exporting
from rapport.dataio.models import ExportJob


def _download(job: ExportJob) -> FileResponse:
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.filename,
        content_type=exporting.content_type_for(job),
    )


def _back_to_list(entity, request):
    query = request.GET.copy()
    query.pop("format", None)
    base = url_or_none(f"{entity.url_base}:list") or reverse("dataio:export_list")
    return redirect(f"{base}?{query.urlencode()}" if query else base)


@login_required
@require_http_methods(["GET", "POST"])
def export(request, entity: str):
    """GET: a small export downloads at once, a large one asks to be prepared; POST
    prepares it (a task) and follows the job."""
    entity_cls = registry.get(entity)
    if entity_cls is None:
        raise Http404
    user = request.user
    if not permissions.can(user, entity_cls.key, "export"):
        deny("export", actor=user, object_type=entity_cls.key, extra={"action": "export"})
        raise PermissionDenied("export")
    query = {
        "fmt": request.GET.get("format", ""),
        "filters": exporting.filters_from_query(request.GET),
        "ordering": request.GET.get("ordering"),
        "columns": request.GET.getlist("columns"),
        "strict_columns": False,
    }
    try:
        if request.method == "GET":
            spec = exporting.parse_export(user, entity_cls, **query)
            rows = exporting.rows_queryset(spec, user)
            size = capped_count(rows, exporting.DIRECT_LIMIT)
            if size.capped:
                context = {"entity": entity_cls, "spec": spec, "limit": exporting.DIRECT_LIMIT}
                return render(request, "dataio/export_confirm.html", context)
        job = exporting.export_start(actor=user, entity_key=entity_cls.key, **query)
    except exporting.ExportQueryError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _back_to_list(entity_cls, request)
    if job.status == ExportJob.Status.DONE:
        return _download(job)
    return redirect("dataio:export_job", job_id=job.pk)


@login_required
def export_job(request, job_id: int):
    """A job's status; the page polls itself (HTMX) until the file is ready."""
    job = exporting.export_job_for(request.user, job_id)
    if job is None:
        raise Http404
    context = {"job": job, "entity": registry.get(job.entity)}
    template = "dataio/export_job.html"
    if request.htmx:
        template += "#status"
    return render(request, template, context)


@login_required
def export_download(request, job_id: int):
    """The file of one of the user's own finished exports (nobody else's)."""
    job = exporting.export_job_for(request.user, job_id)
    if job is None or job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    return _download(job)


@login_required
def export_list(request):
    jobs = exporting.exports_recent(request.user)
    rows = [(job, registry.get(job.entity)) for job in jobs]
    return render(request, "dataio/export_list.html", {"rows": rows})


urlpatterns = [
    path("", export_list, name="export_list"),
    path("job/<int:job_id>/", export_job, name="export_job"),
    path("job/<int:job_id>/download/", export_download, name="export_download"),
    path("<str:entity>/", export, name="export"),
]
