"""Forms of the import wizard: upload, file reading options, column mapping, templates,
duplicate strategy.

They only parse what the person chose; the import services judge it (unknown targets,
a field mapped twice, a job that is no longer a draft) and their ValidationErrors are
put back on the fields here, so the page shows each error next to its column.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rapport.core import permissions
from rapport.core.registry import registry
from rapport.dataio.models import ImportJob

# Delimiters a person can pick; the tab travels as a name (a tab in an HTML attribute
# is easy to lose).
DELIMITERS = [(",", _("comma ( , )")), (";", _("semicolon ( ; )")), ("tab", _("tab")), ("|", "|")]

STEPS = [(1, _("Upload")), (2, _("Columns")), (3, _("Preview")), (4, _("Report"))]

SOURCE_LABELS = {
    "google": _("recognised as a Google Contacts export"),
    "outlook": _("recognised as an Outlook export"),
    "linkedin": _("recognised as LinkedIn connections"),
    "vcard": _("vCard"),
}

MATCH_LABELS = {
    "email": _("email address"),
    "phone": _("phone number"),
    "name_company": _("name and company"),
    "external_id": _("external id"),
}


def importable(entity_key: str) -> bool:
    """Whether the import engine knows how to map columns onto this record type."""
    from rapport.dataio import mapping

    known = getattr(mapping, "ENTITIES", None)  # no query on every list page
    if known is not None:
        return entity_key in known
    try:
        return bool(mapping.targets(entity_key))
    except (KeyError, LookupError, ValueError, ValidationError):
        return False


def importable_entities(user) -> list:
    """Record types the user may add and the engine can import, in registry order."""
    return [
        entity
        for entity in registry
        if importable(entity.key) and permissions.can(user, entity.key, "add")
    ]


def delimiter_to_form(value: str) -> str:
    return "tab" if value == "\t" else value


def delimiter_from_form(value: str) -> str:
    return "\t" if value == "tab" else value


def match_choices() -> list[tuple[str, str]]:
    from rapport.dataio import mapping

    return [(key, MATCH_LABELS.get(key, key)) for key in mapping.MATCH_KEYS]


def mapping_from_template(template_mapping: list[dict], headers: list[str]) -> list[dict]:
    """A saved mapping laid onto this file's columns: matched by header name (files with
    the same columns in another order), by position when no header name matches."""
    by_header: dict[str, str] = {}
    for entry in template_mapping:
        name = str(entry.get("header", "")).strip().casefold()
        if entry.get("target") and name and name not in by_header:
            by_header[name] = entry["target"]
    names = [str(h).strip().casefold() for h in headers]
    if not any(name in by_header for name in names):
        return [dict(entry) for entry in template_mapping]
    seen: set[str] = set()
    result = []
    for index, header in enumerate(headers):
        target = by_header.get(names[index], "") if names[index] not in seen else ""
        seen.add(names[index])
        result.append({"column": index, "header": header, "target": target})
    return result


def attach_errors(form: forms.Form, exc: ValidationError, fields: dict[str, str]) -> None:
    """Put a service's ValidationError on the form: `fields` maps the service's field
    names ("mapping.3.target", "encoding") to form fields; the rest go to the top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        parts = name.split(".")
        candidates = [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
        target = next((fields[c] for c in candidates if c in fields), None)
        if target is not None and target in form.fields:
            form.add_error(target, errors)
        else:
            form.add_error(None, errors)


class UploadForm(forms.Form):
    """Step 1: what the rows become and which file holds them."""

    entity = forms.ChoiceField(label=_("Import as"))
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (any delimiter and encoding), Excel (.xlsx) or vCard (.vcf)."),
        widget=forms.FileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.vcf,.vcard"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [
            (entity.key, str(entity.verbose_name_plural).capitalize())
            for entity in importable_entities(user)
        ]


class SourceForm(forms.Form):
    """How to read the file: encoding, delimiter (CSV) and sheet (XLSX)."""

    encoding = forms.ChoiceField(label=_("Encoding"), required=False)
    delimiter = forms.ChoiceField(label=_("Delimiter"), required=False, choices=DELIMITERS)
    sheet = forms.ChoiceField(label=_("Sheet"), required=False)

    def __init__(self, *args, job: ImportJob, sheets: list[str], **kwargs):
        from rapport.dataio import readers

        kwargs.setdefault(
            "initial",
            {
                "encoding": job.encoding,
                "delimiter": delimiter_to_form(job.delimiter),
                "sheet": job.sheet,
            },
        )
        super().__init__(*args, **kwargs)
        encodings = list(readers.ENCODINGS)
        if job.encoding and job.encoding not in {codec for codec, _label in encodings}:
            encodings.insert(0, (job.encoding, job.encoding))  # what detection found
        self.fields["encoding"].choices = encodings
        self.fields["sheet"].choices = [(name, name) for name in sheets]
        if job.format == "xlsx":  # a workbook knows its own encoding
            del self.fields["encoding"]
        if job.format != "csv":
            del self.fields["delimiter"]
        if job.format != "xlsx" or not sheets:
            del self.fields["sheet"]

    def options(self) -> dict[str, str]:
        """Only what the person can change for this format, as import_configure takes it."""
        data = {name: self.cleaned_data.get(name) or "" for name in self.fields}
        if "delimiter" in data:
            data["delimiter"] = delimiter_from_form(data["delimiter"])
        return {name: value for name, value in data.items() if value}


class MappingForm(forms.Form):
    """One select per column of the file, pre-filled with the suggested target."""

    def __init__(self, *args, job: ImportJob, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        current = {int(m.get("column", i)): m for i, m in enumerate(job.mapping or [])}
        choices = [("", _("— don't import —"))] + [(t.key, str(t.label)) for t in targets]
        self.multi = {t.key for t in targets if t.multi}
        for index, header in enumerate(job.headers or []):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or _("Column %(n)s") % {"n": index + 1},
                required=False,
                choices=choices,
                initial=current.get(index, {}).get("target", ""),
            )

    def column_fields(self):
        return [self[f"col_{index}"] for index in range(len(self.job.headers or []))]

    def mapping(self) -> list[dict]:
        """The whole mapping, one entry per column in order (so "mapping.<i>" names the
        column i), keeping whatever else the engine stored on each entry."""
        current = {int(m.get("column", i)): m for i, m in enumerate(self.job.mapping or [])}
        result = []
        for index, header in enumerate(self.job.headers or []):
            entry = dict(current.get(index, {}))
            entry.update(column=index, header=header, target=self.cleaned_data[f"col_{index}"])
            result.append(entry)
        return result

    def error_fields(self) -> dict[str, str]:
        return {f"mapping.{i}": f"col_{i}" for i in range(len(self.job.headers or []))} | {
            f"mapping.{i}.target": f"col_{i}" for i in range(len(self.job.headers or []))
        }


class TemplateSaveForm(forms.Form):
    """Save the current mapping under a name, for the next file with these columns."""

    template_name = forms.CharField(label=_("Template name"), max_length=100)
    shared = forms.BooleanField(label=_("Share with everyone"), required=False)


class TemplateApplyForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Saved mapping"), queryset=None, empty_label=None)

    def __init__(self, *args, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates


class StartForm(forms.Form):
    """Step 3: what to do when a row matches a record that already exists."""

    strategy = forms.ChoiceField(
        label=_("When a record already exists"),
        choices=ImportJob.Strategy.choices,
        widget=forms.RadioSelect,
    )
    match_on = forms.MultipleChoiceField(
        label=_("Match on"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, job: ImportJob, **kwargs):
        kwargs.setdefault("initial", {"strategy": job.strategy, "match_on": job.match_on})
        super().__init__(*args, **kwargs)
        self.fields["match_on"].choices = match_choices()
