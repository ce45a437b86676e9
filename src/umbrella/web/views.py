from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from umbrella.core import exports, imports
from umbrella.core.access import OrganizationKind
from umbrella.core.errors import Forbidden, NotFound, UnreadableFile
from umbrella.core.tabular import read_table
from umbrella.needs.models import ListState, RequirementList
from umbrella.orgs.queries import SESSION_ORGANIZATION_KEY, memberships_of
from umbrella.ui import uploads
from umbrella.web.dashboards import dashboard_for

IMPORTED_SHOWN = 500
LAST_IMPORT_KEY = "umbrella-last-import"
# The uploads this session committed, so committing one again (Back, then Commit) is told so rather than "not found".
COMMITTED_UPLOADS_KEY = "umbrella-committed-uploads"
COMMITTED_REMEMBERED = 20
# The kind a person of each kind of organization most likely came to import.
LIKELY_IMPORT = {
    OrganizationKind.DONOR: "pledges",
    OrganizationKind.MULTILATERAL: "pledges",
    OrganizationKind.RECIPIENT: "requirements",
    OrganizationKind.COORDINATOR: "item-types",
}
AFTER_IMPORT = {
    "item-types": "item-types",
    "compatibilities": "item-types",
    "places": "places",
    "requirements": "requirement-lists",
    "pledges": "pledges",
    "funding": "funding-list",
    "fx-rates": "funding-list",
    "gdp": "fair-share",
}


def home(request: HttpRequest) -> HttpResponse:
    """The dashboard of the reader's kind of organization (coordination, donor, recipient; else the public one)."""
    context = {
        "page": {"title": _("Overview"), "memberships": memberships_of(request.user) if request.user.is_authenticated else []},
        "dashboard": dashboard_for(request.actor),
    }
    return render(request, "web/home.html", context)


@require_POST
@login_required
def switch_organization(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("organization")
    chosen = next((m for m in memberships_of(request.user) if str(m.organization_id) == wanted), None)
    if chosen is not None:
        request.session[SESSION_ORGANIZATION_KEY] = chosen.organization_id
        messages.success(request, _("You now act for %(organization)s.") % {"organization": chosen.organization.name})
    return redirect("home")


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"))
    file = forms.FileField(label=gettext_lazy("CSV or XLSX file"))
    requirement_list = forms.CharField(
        label=gettext_lazy("Requirement list (for requirements)"),
        required=False,
        help_text=gettext_lazy(
            "The draft list to add to: its series, e.g. UA-WINTER. Leave empty when the file has a list_series column."
        ),
    )

    def __init__(self, *args, offered: list[imports.Importer], initial_kind: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Every kind is accepted so that one the person may not import is refused by name (with who may),
        # not as "not a valid choice"; the list offers only theirs.
        self.fields["kind"].choices = [(kind, importer.label) for kind, importer in sorted(imports.REGISTRY.items())]
        self.fields["kind"].widget.choices = [(importer.kind, importer.label) for importer in offered]
        self.fields["kind"].initial = initial_kind
        # Only requirements are imported into a list; a page that works without JavaScript cannot hide the field
        # as the kind changes, so it is there for whoever may import requirements, and for no one else.
        if "requirements" not in {importer.kind for importer in offered}:
            del self.fields["requirement_list"]

    @property
    def asks_for_a_list(self) -> bool:
        return "requirement_list" in self.fields


def _preview(
    request: HttpRequest, pending: uploads.PendingImport, report: imports.ImportReport, status: int = 200
) -> HttpResponse:
    importer = imports.importer_for(pending.kind)
    page = {
        "title": _("Check the import"),
        "pending": pending,
        "report": report,
        "columns": [column.name for column in importer.columns],
        "rows": report.preview,
        "more_rows": report.rows - len(report.preview),
    }
    return render(request, "web/import_preview.html", {"page": page}, status=status)


def _run(request: HttpRequest, pending: uploads.PendingImport, data: bytes, *, dry_run: bool) -> imports.ImportReport:
    importer = imports.importer_for(pending.kind)
    importer.require_role(request.actor)
    table = read_table(data, pending.filename, max_bytes=settings.IMPORT_MAX_BYTES)
    return imports.run_import(
        importer,
        actor=request.actor,
        table=table,
        filename=pending.filename,
        dry_run=dry_run,
        options={"list": pending.list_reference},
    )


def _refusal_before_reading(request: HttpRequest, form: ImportForm) -> int | None:
    """The status with which to refuse an upload before the file is kept or opened: someone whose role could
    not write a single row of this kind, or a file over the size limit. None when it may be read."""
    try:
        imports.importer_for(form.cleaned_data["kind"]).require_role(request.actor)
    except Forbidden as refusal:
        form.add_error("kind", refusal.message)
        return 403
    if form.cleaned_data["file"].size > settings.IMPORT_MAX_BYTES:
        form.add_error("file", _("The file is larger than %(limit)s bytes.") % {"limit": f"{settings.IMPORT_MAX_BYTES:,}"})
        return 400
    return None


def _likely_kind(request: HttpRequest, offered: list[imports.Importer]) -> str | None:
    kinds = [importer.kind for importer in offered]
    for wanted in (request.GET.get("kind"), LIKELY_IMPORT.get(request.actor.kind)):
        if wanted in kinds:
            return wanted
    return kinds[0] if kinds else None


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    offered = imports.importers_for(request.actor)
    form = ImportForm(request.POST or None, request.FILES or None, offered=offered, initial_kind=_likely_kind(request, offered))
    refused = None
    if request.method == "POST" and form.is_valid():
        refused = _refusal_before_reading(request, form)
        if refused is None:
            upload = form.cleaned_data["file"]
            data = upload.read()
            pending = uploads.keep(
                data,
                user_id=request.user.pk,
                organization_id=getattr(request.actor.organization, "pk", None),
                kind=form.cleaned_data["kind"],
                filename=upload.name,
                list_reference=form.cleaned_data.get("requirement_list", ""),
            )
            try:
                return _preview(request, pending, _run(request, pending, data, dry_run=True))
            except UnreadableFile as error:
                uploads.discard(pending.token)
                form.add_error("file", error.message)
    drafts = (
        RequirementList.objects.visible_to(request.actor).filter(state=ListState.DRAFT, owner=request.actor.organization)
        if form.asks_for_a_list
        else RequirementList.objects.none()
    )
    return render(
        request,
        "web/import_upload.html",
        {"page": {"title": _("Import"), "form": form, "drafts": drafts, "importers": offered}},
        status=refused or (400 if form.errors else 200),
    )


@login_required
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    """A file to fill in: the kind's header row and one example row."""
    if kind not in imports.REGISTRY:
        raise Http404
    header, example = imports.importer_for(kind).template_rows()
    response = HttpResponse(exports.to_csv(header, [example]), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="umbrella-{kind}-template.csv"'
    return response


def _imported_rows(records: list) -> list[dict[str, str | None]]:
    # A record several rows wrote (the rows of one manifest line) is listed once, as the last of them left it.
    unique = {(type(record), record.pk if record.pk is not None else id(record)): record for record in records}
    return [
        {"label": str(record), "url": record.get_absolute_url() if hasattr(record, "get_absolute_url") else None}
        for record in list(unique.values())[:IMPORTED_SHOWN]
    ]


@login_required
def import_done(request: HttpRequest) -> HttpResponse:
    """The rows the person's last import wrote, each leading to its record."""
    last = request.session.get(LAST_IMPORT_KEY)
    if last is None:
        return redirect("import")
    importer = imports.REGISTRY.get(last["kind"])
    page = {
        "title": _("Imported"),
        "kind_label": importer.label if importer else last["kind"],
        "rows": last["rows"],
        "total": last["total"],
        "more": last["total"] - len(last["rows"]),
        "next_url": reverse(AFTER_IMPORT.get(last["kind"], "home")),
    }
    return render(request, "web/import_done.html", {"page": page})


def _upload_gone(request: HttpRequest, token: str, gone: NotFound) -> HttpResponse:
    """An upload no longer pending: one this session committed is said to be, and nothing is imported twice; any
    other (expired, or never this person's) is not found, with the way back to the import page."""
    if token in request.session.get(COMMITTED_UPLOADS_KEY, []):
        messages.info(request, _("This upload was already committed; nothing was imported again."))
        return redirect("import")
    return render(
        request,
        "404.html",
        {"message": gone.message, "next_url": reverse("import"), "next_label": _("Import a file")},
        status=404,
    )


@require_POST
@login_required
def import_commit(request: HttpRequest, token: str) -> HttpResponse:
    try:
        pending, data = uploads.fetch(token, user_id=request.user.pk)
    except NotFound as gone:
        return _upload_gone(request, token, gone)
    try:
        report = _run(request, pending, data, dry_run=False)
    except UnreadableFile as error:
        uploads.discard(token)
        messages.error(request, error.message)
        return redirect("import")
    if not report.written:
        return _preview(request, pending, report, status=400)
    uploads.discard(token)
    request.session[COMMITTED_UPLOADS_KEY] = [
        *request.session.get(COMMITTED_UPLOADS_KEY, [])[-(COMMITTED_REMEMBERED - 1) :],
        token,
    ]
    messages.success(request, ngettext("%(rows)d row imported.", "%(rows)d rows imported.", report.rows) % {"rows": report.rows})
    request.session[LAST_IMPORT_KEY] = {
        "kind": pending.kind,
        "rows": _imported_rows(report.records),
        "total": report.rows,
    }
    return redirect("import-done")
