"""The wizard's set-up steps behind the import pages: the forms of the columns page and
what its buttons do, sample values, the workbook's sheets, the preview grid."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from rapport.dataio import forms_imports as forms
from rapport.dataio.models import ImportJob


def engine():
    """The import services (imported late: the engine pulls in the file readers)."""
    from rapport.dataio import importing

    return importing


def sheets(job: ImportJob) -> list[str]:
    """The workbook's sheet names, for the sheet select (XLSX only)."""
    if job.format != "xlsx":
        return []
    from rapport.dataio import readers

    try:
        with engine().local_path(job) as local:
            return list(readers.sniff(local, job.filename, sheet=job.sheet).sheets)
    except (ValidationError, OSError, ValueError):
        return [job.sheet] if job.sheet else []


def samples(request, job: ImportJob, errors: list) -> list[list[str]]:
    """The first values of each column, to tell the columns apart while mapping."""
    try:
        preview = engine().import_preview(actor=request.user, job=job, limit=3)
    except ValidationError as exc:
        errors.extend(exc.messages)
        return [[] for _header in job.headers]
    return [
        [row.cells[i] for row in preview.rows if i < len(row.cells) and row.cells[i]]
        for i in range(len(job.headers))
    ]


def mapping_forms(request, job: ImportJob, data=None) -> dict:
    from rapport.dataio import mapping

    action = (data or {}).get("action")
    templates = engine().mapping_templates(request.user, job.entity)
    return {
        "source_form": forms.SourceForm(
            data if action == "read" else None, job=job, sheets=sheets(job)
        ),
        "mapping_form": forms.MappingForm(
            data if action in (None, "next", "save_template") else None,
            job=job,
            targets=mapping.targets(job.entity),
        ),
        "template_form": forms.TemplateSaveForm(data if action == "save_template" else None),
        "apply_form": forms.TemplateApplyForm(
            data if action == "apply" else None, templates=templates
        ),
        "has_templates": templates.exists(),
    }


def mapping_post(request, job, engine, ctx, action):
    """Carry out one of the mapping page's buttons; a redirect, or None to show errors."""
    here = redirect("dataio:import_mapping", job.pk)
    if action == "read":
        form = ctx["source_form"]
        if form.is_valid():
            try:
                engine.import_configure(actor=request.user, job=job, **form.options())
            except ValidationError as exc:
                forms.attach_errors(form, exc, {n: n for n in form.fields})
            else:
                return here
        return None
    if action == "apply":
        form = ctx["apply_form"]
        if form.is_valid():
            try:
                engine.import_configure(
                    actor=request.user,
                    job=job,
                    mapping=forms.mapping_from_template(
                        form.cleaned_data["template"].mapping, job.headers
                    ),
                )
            except ValidationError as exc:
                forms.attach_errors(form, exc, {"mapping": "template"})
            else:
                messages.success(request, _("The saved mapping was applied."))
                return here
        return None
    form = ctx["mapping_form"]
    if not form.is_valid():
        return None
    try:
        engine.import_configure(actor=request.user, job=job, mapping=form.mapping())
    except ValidationError as exc:
        forms.attach_errors(form, exc, form.error_fields())
        return None
    if action != "save_template":
        return redirect("dataio:import_preview", job.pk)
    save = ctx["template_form"]
    if not save.is_valid():
        return None
    try:
        engine.mapping_template_save(
            actor=request.user,
            entity=job.entity,
            name=save.cleaned_data["template_name"],
            mapping=form.mapping(),
            shared=save.cleaned_data["shared"],
        )
    except ValidationError as exc:
        forms.attach_errors(save, exc, {"name": "template_name", "shared": "shared"})
        return None
    messages.success(request, _("The mapping was saved as a template."))
    return here


def preview_grid(job: ImportJob, preview) -> dict:
    """Headers with the field each feeds, and every preview cell with its error."""
    from rapport.dataio import mapping

    labels = {t.key: str(t.label) for t in mapping.targets(job.entity)}
    targets = {int(m.get("column", i)): m.get("target") for i, m in enumerate(job.mapping)}
    heads = [
        (header, labels.get(targets.get(i) or "", targets.get(i) or ""))
        for i, header in enumerate(job.headers)
    ]
    grid = []
    for row in preview.rows if preview else []:
        errors = {int(k): v for k, v in (row.errors or {}).items()}
        width = max(len(heads), len(row.cells))
        cells = [
            (
                row.cells[i] if i < len(row.cells) else "",
                errors.get(i, ""),
                heads[i][1] if i < len(heads) else "",
                heads[i][0] if i < len(heads) else "",
            )
            for i in range(width)
        ]
        grid.append((row.number, bool(errors), cells))
    invalid = sum(len(row.errors or {}) for row in (preview.rows if preview else []))
    return {"heads": heads, "grid": grid, "invalid_cells": invalid}
