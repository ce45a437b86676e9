"""One context object per page, and the helpers every app's views share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms as django_forms
from django.apps import apps
from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext_lazy

from umbrella.core import exports, listing
from umbrella.core.errors import DomainError, Invalid
from umbrella.core.ledger import entity_name, history
from umbrella.core.listing import Listing, ListResult
from umbrella.core.models import ChangeRecord

HISTORY_LIMIT = 50
EXPORT_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    exports.HXL: "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class ListPage:
    title: str
    result: ListResult
    create_url: str | None = None
    create_label: str = ""
    intro: str = ""
    export_kind: str | None = None
    empty: str = ""  # what an empty list says before anything narrows it ("No scenarios yet."), then the create link


@dataclass
class FormPage:
    title: str
    forms: list[django_forms.BaseForm]
    submit_label: str
    cancel_url: str
    version: int | None = None
    intro: str = ""
    cancel_label: str = ""  # "Cancel" when empty; "Back" where the page's own step is a cancellation

    @property
    def form(self) -> django_forms.BaseForm:
        return self.forms[0]

    @property
    def problems(self) -> int:
        """How many problems the forms show, said at the top: on a long form the first may be far below."""
        return sum(len(messages) for form in self.forms if form.is_bound for messages in form.errors.values())


@dataclass
class ConfirmPage:
    title: str
    question: str
    submit_label: str
    cancel_url: str
    version: int


@dataclass
class DetailPage:
    title: str
    obj: Any
    fields: list[tuple[str, Any]]
    history: list[dict[str, Any]]
    actions: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


# What each action recorded in the ledger reads as in a record's history (a lifecycle step by its name).
ACTION_LABELS = {
    "create": gettext_lazy("created"),
    "update": gettext_lazy("changed"),
    "delete": gettext_lazy("deleted"),
    "offer": gettext_lazy("offered"),
    "accept": gettext_lazy("accepted"),
    "allocate": gettext_lazy("allocated"),
    "ship": gettext_lazy("shipped"),
    "deliver": gettext_lazy("delivered"),
    "hand_over": gettext_lazy("handed over"),
    "withdraw": gettext_lazy("withdrawn"),
    "expire": gettext_lazy("expired"),
    "propose": gettext_lazy("proposed"),
    "approve": gettext_lazy("approved"),
    "return": gettext_lazy("returned to draft"),
    "supersede": gettext_lazy("superseded"),
    "commit": gettext_lazy("committed"),
    "disburse": gettext_lazy("disbursed"),
    "release": gettext_lazy("released"),
    "decide": gettext_lazy("decided"),
    "carry": gettext_lazy("carried to the new revision"),
    "new-revision": gettext_lazy("new revision started"),
    "issue-token": gettext_lazy("token issued"),
    "revoke-token": gettext_lazy("token revoked"),
    "set-password": gettext_lazy("password changed"),
    "set-flags": gettext_lazy("account flags changed"),
    "rehash-password": gettext_lazy("password hash upgraded at sign-in"),
    "migrate": gettext_lazy("filled in by a schema upgrade"),
    "adopt": gettext_lazy("taken into the ledger by a schema upgrade"),
    "dispatch": gettext_lazy("dispatched"),
    "reach_hub": gettext_lazy("arrived at a hub"),
    "leave_hub": gettext_lazy("left the hub"),
    "arrive": gettext_lazy("arrived"),
    "receive": gettext_lazy("received"),
    "correct_receipt": gettext_lazy("receipt corrected"),
    "cancel": gettext_lazy("cancelled"),
    "close_short": gettext_lazy("closed short"),
    "deliver_part": gettext_lazy("partly delivered"),
    "unship": gettext_lazy("back to allocated (its consignment was cancelled)"),
    "consignments": gettext_lazy("consignment figures changed"),
    "handover": gettext_lazy("registered at its handover"),
    "sighted": gettext_lazy("seen in another state in an inventory"),
    "close": gettext_lazy("closed"),
    "report_loss": gettext_lazy("loss reported"),
    "acknowledge": gettext_lazy("acknowledged"),
    "request_consent": gettext_lazy("consent requested"),
    "consent": gettext_lazy("consented"),
    "refuse": gettext_lazy("refused"),
    "transfer": gettext_lazy("transferred"),
    "confirm": gettext_lazy("confirmed"),
    "complete": gettext_lazy("completed"),
    "nominate": gettext_lazy("nominated"),
    "attend": gettext_lazy("attending"),
    "graduate": gettext_lazy("graduated"),
    "fail": gettext_lazy("did not graduate"),
}


def field_label(model: type[models.Model], name: str) -> str:
    """A recorded field by its name in the reader's language (a snapshot names foreign keys by their column)."""
    for candidate in (name, name.removesuffix("_id")):
        try:
            return str(model._meta.get_field(candidate).verbose_name)
        except FieldDoesNotExist:
            continue
    return name


def entity_label(entity: str) -> str:
    """A ledger entry's kind of record (an app label such as "funding.funding") in the reader's language."""
    model = _model_of(entity)
    return str(model._meta.verbose_name) if model is not None else entity


def change_rows(changes: list) -> list[dict[str, Any]]:
    """Ledger entries as a reader sees them in a list of recent changes."""
    return [
        {
            "at": c.at,
            "action": ACTION_LABELS.get(c.action, c.action),
            "what": entity_label(c.entity),
            "id": c.entity_id,
            "user": c.actor_user,
        }
        for c in changes
    ]


def history_rows(obj: Any, entries: models.QuerySet[ChangeRecord] | None = None) -> list[dict[str, Any]]:
    """A record's history as its page shows it. `entries` (the record's own when not given) may hold entries about
    related records too (a pledge's sources); each of those is named by what it is about (`subject`)."""
    own = (entity_name(obj), str(obj.pk))
    rows = []
    for change in (history(obj) if entries is None else entries)[:HISTORY_LIMIT]:
        model = _model_of(change.entity) or type(obj)
        rows.append(
            {
                "at": change.at,
                "action": ACTION_LABELS.get(change.action, change.action),
                "user": change.actor_user,
                "organization": change.actor_organization,
                "subject": "" if (change.entity, change.entity_id) == own else _record_named(model, change),
                "fields": _created_fields(model, change) if _creates(change) else _changed_fields(model, change),
            }
        )
    return rows


def _creates(change: ChangeRecord) -> bool:
    """An entry that made the record (whatever its action: a serial is made by its handover) or removed it: it has
    no before or no after to compare."""
    return change.action in ("create", "delete") or not change.before or not change.after


def _created_fields(model: type[models.Model], change: ChangeRecord) -> list[str]:
    """What a record was made with, of the few fields its model names (`history_created_shows`), by their values;
    every other field would only list the record's columns."""
    recorded = change.after or {}
    shown = []
    for name in getattr(model, "history_created_shows", ()):
        value = recorded.get(name)
        if value in (None, ""):
            continue
        choices = _choices(model, name)
        shown.append(f"{field_label(model, name)}: {_choice(choices, value) if choices else value}")
    return shown


def _model_of(entity: str) -> type[models.Model] | None:
    try:
        return apps.get_model(entity)
    except (LookupError, ValueError):
        return None


def _changed_fields(model: type[models.Model], change: ChangeRecord) -> list[str]:
    """The fields an entry changed, by their labels; a field the model shows by its value (`history_shows_values`,
    such as a reason) with the text it was given."""
    before, after = change.before or {}, change.after or {}
    shown_by_value = getattr(model, "history_shows_values", ())
    changed = []
    for name in set(before) | set(after):
        if before.get(name) == after.get(name) or name in ("version", "updated_at", "updated_by_id"):
            continue
        label = field_label(model, name)
        if name in shown_by_value and after.get(name):
            changed.append(f"{label}: “{after[name]}”")
        elif choices := _choices(model, name):
            changed.append(f"{label} {_choice(choices, before.get(name))} → {_choice(choices, after.get(name))}")
        else:
            changed.append(label)
    return sorted(changed)


def _choices(model: type[models.Model], name: str) -> dict:
    """The labels of a field's values when it has a fixed set of them (a state), so a change reads from → to."""
    try:
        return dict(model._meta.get_field(name).flatchoices)
    except FieldDoesNotExist:
        return {}


def _choice(choices: dict, value: Any) -> str:
    return str(choices.get(value, value if value not in (None, "") else "—"))


def _record_named(model: type[models.Model], change: ChangeRecord) -> str:
    """What an entry about a related record is about, as its kind and name, read from the entry itself (the record
    may since have been removed)."""
    recorded = change.after or change.before or {}
    try:
        record = model(
            **{f.attname: f.to_python(recorded[f.attname]) for f in model._meta.concrete_fields if f.attname in recorded}
        )
        name = f" ({record})"
    except (TypeError, ValueError, ValidationError, ObjectDoesNotExist):
        name = ""
    return f"{capfirst(model._meta.verbose_name)} #{change.entity_id}{name}"


def list_or_export(
    request: HttpRequest, spec: Listing, queryset, *, title: str, export_kind: str | None = None, **page: Any
) -> HttpResponse:
    """A list page, or (with ?format=csv|xlsx|hxl) the same filtered rows as a file."""
    fmt = request.GET.get("format")
    if export_kind and (fmt in exports.FORMATS or (fmt == exports.HXL and exports.exporter_for(export_kind).hxl)):
        exporter = exports.exporter_for(export_kind)
        narrowed = listing.filtered(
            spec, exporter.queryset(request.actor).filter(pk__in=queryset.values("pk")), request.GET, request.actor
        )
        content = exports.render(exporter, request.actor, fmt, queryset=narrowed)
        response = HttpResponse(content, content_type=EXPORT_CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{slugify(title)}.{"csv" if fmt == exports.HXL else fmt}"'
        return response
    result = listing.run(spec, queryset, request.GET, request.actor)
    return render(request, "ui/list_page.html", {"page": ListPage(title=title, result=result, export_kind=export_kind, **page)})


def form_page(request: HttpRequest, page: FormPage, status: int = 200) -> HttpResponse:
    return render(request, "ui/form_page.html", {"page": page}, status=status)


def _form_for(error: DomainError, forms: list) -> Any:
    fields = set(error.field_errors) if isinstance(error, Invalid) else set()
    return next((form for form in forms if fields & set(form.fields)), forms[0])


def submit(
    request: HttpRequest, page: FormPage, save: Callable[[], Any], *, done: str = "", redirect_to: str | None = None
) -> HttpResponse:
    """The one form flow of every create and edit page: on a valid POST, `save` calls a service; its refusal
    goes onto the form that holds the field; success redirects to the saved record (or `redirect_to`)."""
    if request.method == "POST":
        if page.version is not None:
            page.version = request.POST.get("version", page.version)
        if all([form.is_valid() for form in page.forms]):
            try:
                saved = save()
            except DomainError as error:
                _form_for(error, page.forms).show(error)
            else:
                if done:
                    messages.success(request, done)
                return redirect(redirect_to or saved)
    return form_page(request, page, status=400 if any(form.errors for form in page.forms) else 200)


def table_download(fmt: str, title: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    """A report's table as a CSV or XLSX file (what the page shows, in the same order)."""
    content = exports.to_csv(header, rows) if fmt == "csv" else exports.to_xlsx(header, rows, title[:31])
    response = HttpResponse(content, content_type=EXPORT_CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{slugify(title)}.{fmt}"'
    return response
