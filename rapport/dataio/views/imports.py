"""The import wizard: upload → column mapping → preview and duplicate strategy → run,
then live progress, the per-row report, its CSV and undo.

Views only parse, call the import services (rapport.dataio.importing) and render; a
job belongs to the person who uploaded it (administrators see all) and answers 404 to
anyone else.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.core import keyset
from rapport.core.registry import registry
from rapport.dataio import forms_imports as forms
from rapport.dataio import import_selectors as sel
from rapport.dataio.models import ImportJob
from rapport.dataio.views import import_steps as steps

LIST_ORDER = keyset.Ordering("-created_at", (("created_at", True), ("id", True)))


def _draft_or_detail(job: ImportJob):
    """Set-up pages are for drafts only; a job already started shows its report."""
    if job.status != ImportJob.Status.DRAFT:
        return redirect("dataio:import_detail", job.pk)
    return None


def _base(job: ImportJob, **extra) -> dict:
    return {
        "job": job,
        "entity": registry.get(job.entity),
        "steps": forms.STEPS,
        "step": extra.pop("step", 4),
        "source_label": forms.SOURCE_LABELS.get(job.source, ""),
        **extra,
    }


@login_required
@require_GET
def import_list(request):
    from rapport.dataio.importing import imports_for

    try:
        page = keyset.paginate(
            imports_for(request.user),
            ordering=LIST_ORDER,
            filters={},
            cursor=request.GET.get("cursor") or None,
            limit=50,
        )
    except keyset.CursorError:
        return redirect("dataio:import_list")
    entities = {entity.key: entity for entity in registry}
    return render(
        request,
        "dataio/import_list.html",
        {
            "page": page,
            "jobs": [(job, entities.get(job.entity), sel.percent(job)) for job in page.items],
            "can_import": bool(forms.importable_entities(request.user)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_new(request):
    if not forms.importable_entities(request.user):
        raise PermissionDenied(_("You may not import records."))
    if request.method == "POST":
        form = forms.UploadForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            try:
                job = steps.engine().import_upload(
                    actor=request.user,
                    entity=form.cleaned_data["entity"],
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as exc:
                forms.attach_errors(form, exc, {"file": "file", "entity": "entity"})
            else:
                return redirect("dataio:import_mapping", job.pk)
    else:
        form = forms.UploadForm(user=request.user, initial={"entity": request.GET.get("entity")})
    return render(
        request, "dataio/import_new.html", {"form": form, "steps": forms.STEPS, "step": 1}
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request, pk: int):
    job = sel.job_for(request.user, pk)
    if (done := _draft_or_detail(job)) is not None:
        return done
    engine = steps.engine()
    if request.method == "POST":
        ctx = steps.mapping_forms(request, job, request.POST)
        action = request.POST.get("action") or "next"
        done = steps.mapping_post(request, job, engine, ctx, action)
        if done is not None:
            return done
    else:
        ctx = steps.mapping_forms(request, job)
    errors: list[str] = []
    samples = steps.samples(request, job, errors)
    columns = list(zip(ctx["mapping_form"].column_fields(), samples, strict=False))
    return render(
        request,
        "dataio/import_mapping.html",
        _base(job, step=2, columns=columns, read_errors=errors, **ctx),
    )


def _preview_page(request, job: ImportJob, start_form, status: int = 200):
    errors: list[str] = []
    preview = None
    try:
        preview = steps.engine().import_preview(actor=request.user, job=job, limit=20)
    except ValidationError as exc:
        errors.extend(exc.messages)
    ctx = _base(
        job,
        step=3,
        preview=preview,
        read_errors=errors,
        start_form=start_form,
        **steps.preview_grid(job, preview),
    )
    return render(request, "dataio/import_preview.html", ctx, status=status)


@login_required
@require_GET
def import_preview(request, pk: int):
    job = sel.job_for(request.user, pk)
    if (done := _draft_or_detail(job)) is not None:
        return done
    return _preview_page(request, job, forms.StartForm(job=job))


@login_required
@require_POST
def import_start(request, pk: int):
    job = sel.job_for(request.user, pk)
    if (done := _draft_or_detail(job)) is not None:
        return done
    form = forms.StartForm(request.POST, job=job)
    if form.is_valid():
        engine = steps.engine()
        try:
            engine.import_configure(
                actor=request.user,
                job=job,
                strategy=form.cleaned_data["strategy"],
                match_on=form.cleaned_data["match_on"],
            )
            engine.import_start(actor=request.user, job=job)
        except ValidationError as exc:
            forms.attach_errors(form, exc, {"strategy": "strategy", "match_on": "match_on"})
        else:
            return redirect("dataio:import_detail", job.pk)
    return _preview_page(request, job, form, status=400)


def _record_labels(user, job: ImportJob, rows) -> dict[int, str]:
    """Names of the page's records the user may still view (one query); the others are
    shown by id without a link."""
    entity = registry.get(job.entity)
    ids = {row.object_id for row in rows if row.object_id}
    if entity is None or not ids:
        return {}
    found = entity.model.objects.restrict(user, "view").in_bulk(list(ids))
    return {pk: str(obj) for pk, obj in found.items()}


def _cells(headers: list[str], values: list) -> list[tuple[str, str]]:
    """A report row's original values under the file's headers (ragged rows padded)."""
    values = list(values or [])
    width = max(len(headers), len(values))
    return [
        (headers[i] if i < len(headers) else "", values[i] if i < len(values) else "")
        for i in range(width)
    ]


def _progress_context(job: ImportJob) -> dict:
    return {"job": job, "percent": sel.percent(job), "active": sel.is_active(job)}


@login_required
@require_GET
def import_detail(request, pk: int):
    job = sel.job_for(request.user, pk)
    outcome = request.GET.get("outcome", "")
    if outcome not in sel.OUTCOMES:
        outcome = ""
    try:
        report = sel.report_page(job, outcome=outcome, cursor=request.GET.get("cursor"))
    except keyset.CursorError:
        return redirect(reverse("dataio:import_detail", args=[job.pk]))
    labels = _record_labels(request.user, job, report.rows)
    rows = [
        (
            row,
            sel.record_url(job, row.object_id) if row.object_id in labels else "",
            labels.get(row.object_id, f"#{row.object_id}" if row.object_id else ""),
            _cells(job.headers, row.values),
        )
        for row in report.rows
    ]
    counts = [
        ("created", _("Created"), job.created_count),
        ("updated", _("Updated"), job.updated_count),
        ("skipped", _("Skipped"), job.skipped_count),
        ("rejected", _("Rejected"), job.rejected_count),
    ]
    ctx = _base(
        job,
        report=report,
        rows=rows,
        outcome=outcome,
        counts=counts,
        may_undo=sel.may_undo(job) and job.user_id == request.user.pk,
        undo_deadline=sel.undo_deadline(job),
        undo=job.undo_report or {},
        conflicts=[
            (c.get("row"), c.get("id"), c.get("reason", ""), sel.record_url(job, c.get("id")))
            for c in (job.undo_report or {}).get("conflicts") or []
        ],
        percent=sel.percent(job),
        active=sel.is_active(job),
    )
    return render(request, "dataio/import_detail.html", ctx)


@login_required
@require_GET
def import_progress(request, pk: int):
    """The progress bar alone, polled by HTMX every second while the job runs; once it
    has finished, the page reloads to show the report."""
    job = sel.job_for(request.user, pk)
    response = render(request, "dataio/import_progress.html", _progress_context(job))
    if request.GET.get("poll") and not sel.is_active(job):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
def import_report(request, pk: int):
    return sel.report_csv_response(sel.job_for(request.user, pk))


@login_required
@require_POST
def import_undo(request, pk: int):
    job = sel.job_for(request.user, pk)
    try:
        job = steps.engine().import_undo(actor=request.user, job=job)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        conflicts = (job.undo_report or {}).get("conflicts") or []
        if conflicts:
            messages.warning(
                request,
                _("The import was undone, except for records edited since: see below."),
            )
        else:
            messages.success(request, _("The import was undone."))
    return redirect("dataio:import_detail", job.pk)


urlpatterns = [
    path("", import_list, name="import_list"),
    path("new/", import_new, name="import_new"),
    path("<int:pk>/", import_detail, name="import_detail"),
    path("<int:pk>/mapping/", import_mapping, name="import_mapping"),
    path("<int:pk>/preview/", import_preview, name="import_preview"),
    path("<int:pk>/start/", import_start, name="import_start"),
    path("<int:pk>/progress/", import_progress, name="import_progress"),
    path("<int:pk>/report.csv", import_report, name="import_report"),
    path("<int:pk>/undo/", import_undo, name="import_undo"),
]
