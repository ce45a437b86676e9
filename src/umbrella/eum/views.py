"""End-use monitoring pages: the delinquency overview, serials and what happened to each (sightings, losses,
transfers) with the steps its viewer may take, inventories (recorded on a page), the recipient's units, the
inventory rules, a donor's end-use report (printable, CSV, XLSX) and the public's counts per capability area.

Every read goes through `visible_to`; every write through `eum.services`, whose refusals come back onto the form."""

from __future__ import annotations

import re
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from umbrella.catalog.models import ItemType
from umbrella.core.access import Actor, OrganizationKind, Role, allowed, deny, get_visible, require_owner
from umbrella.core.errors import DomainError, Invalid, NotFound
from umbrella.core.exports import FORMATS
from umbrella.core.numbers import format_eur_short, number, percent
from umbrella.eum import queries, services
from umbrella.eum.models import (
    ACCOUNTABLE,
    Inventory,
    InventoryRule,
    LossKind,
    LossReport,
    Serial,
    SightingMethod,
    Transfer,
    TransferKind,
    Unit,
    UnitKind,
)
from umbrella.eum.reads import public_counts
from umbrella.orgs.models import Organization
from umbrella.places.models import Place
from umbrella.pledges.models import REASON_MAX_LENGTH
from umbrella.ui.charts import Bar, bar_chart
from umbrella.ui.forms import ServiceForm, posted_version
from umbrella.ui.pages import DetailPage, FormPage, history_rows, list_or_export, submit, table_download

PLACE_HELP = gettext_lazy("A code (UA-30), a name or another name (Kyiv, Kiev, Київ).")
SHOWN_AT_MOST = 500  # rows of an inventory's expected, sighted and not-sighted serials drawn on its page
DIMENSION_LABELS = {
    "donor": gettext_lazy("By donor"),
    "item_type": gettext_lazy("By item type"),
    "unit": gettext_lazy("By unit"),
    "place": gettext_lazy("By handover place"),
}
NO_HANDOVER_PLACE = gettext_lazy("No handover place (registered from deliveries before Umbrella kept handovers)")


def _date_input(**attrs: Any) -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", **attrs})


def _recipient_editor(actor: Actor) -> bool:
    return allowed(services.require_recipient_editor, actor, doing=_("Recording end use"))


def _inspector(actor: Actor) -> bool:
    return allowed(services.require_inspector, actor)


def _monitors(actor: Actor) -> bool:
    """Members who may see end-use records: coordination staff, the recipient and donors (their own)."""
    return actor.is_member and actor.kind in (OrganizationKind.COORDINATOR, OrganizationKind.RECIPIENT, OrganizationKind.DONOR)


def for_monitors(view):
    """The monitoring pages are for who may see records; anyone else (the public, observers) would only read empty
    lists that say nothing exists, so is sent to the public figures instead."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _monitors(request.actor):
            return redirect("eum-public")
        return view(request, *args, **kwargs)

    return wrapped


def _rule_setter(actor: Actor) -> bool:
    return (
        actor.is_member and actor.has_role(Role.EDITOR) and actor.kind in (OrganizationKind.COORDINATOR, OrganizationKind.DONOR)
    )


# --- the overview -----------------------------------------------------------------------------------------------


def _chart_and_table(actor: Actor, now: queries.Delinquency) -> dict:
    history, today_only = queries.delinquency_over_time(actor, now=now)
    bars = [
        Bar(
            point.as_of.isoformat(),
            float(point.delinquent.count),
            _("%(count)s of %(held)s") % {"count": number(point.delinquent.count), "held": number(point.held.count)},
        )
        for point in history
    ]
    title = (
        _("Serials delinquent today")
        if today_only
        else _("Serials delinquent at each month end of the last year, and today (bars: how many)")
    )
    return {"chart": bar_chart(title, bars), "points": history, "today_only": today_only}


def _row_labels(actor: Actor, dimension: str, keys: list[str]) -> dict[str, str]:
    """What a delinquency table's row is called: a donor and a place by name with the code, the rest by code; the
    serials registered from deliveries before Umbrella kept handovers have no handover place, and say so."""
    labels = {"—": NO_HANDOVER_PLACE if dimension == "place" else "—"}
    codes = [key for key in keys if key != "—"]
    if dimension == "donor":
        named = Organization.objects.filter(kind=OrganizationKind.DONOR, code__in=codes).values_list("code", "name")
        labels |= {code: f"{name} ({code})" for code, name in named}
    elif dimension == "place":
        labels |= {
            place.code: f"{place.local_name} ({place.code})" for place in Place.objects.visible_to(actor).filter(code__in=codes)
        }
    return labels


def _delinquency_tables(actor: Actor, now: queries.Delinquency) -> list[dict]:
    tables = []
    for dimension in queries.DIMENSIONS:
        groups = sorted(now.by.get(dimension, {}).items(), key=lambda pair: (-pair[1].count, pair[0]))
        labels = _row_labels(actor, dimension, [key for key, _tally in groups])
        tables.append(
            {
                "key": dimension,
                "label": DIMENSION_LABELS[dimension],
                "rows": [(key, labels.get(key, key), tally) for key, tally in groups],
            }
        )
    return tables


@for_monitors
def overview(request: HttpRequest) -> HttpResponse:
    """Held and delinquent today, by donor, item type, unit and place, and over the last year; for a donor, what waits
    for its decision."""
    actor = request.actor
    now = queries.delinquency(actor)
    donors = []
    if actor.kind in (OrganizationKind.COORDINATOR, OrganizationKind.RECIPIENT):
        # Whether each donor gave a serial, one index probe each (not a distinct over a million serials).
        given = Exists(Serial.objects.visible_to(actor).filter(owner=OuterRef("pk")))
        donors = list(Organization.objects.filter(given, kind=OrganizationKind.DONOR).order_by("code"))
    elif actor.kind == OrganizationKind.DONOR:
        donors = [actor.organization]
    page = {
        "title": _("End-use monitoring"),
        "now": now,
        "share": percent(100 * now.share),
        "held_value": format_eur_short(now.held.value_eur),
        "delinquent_value": format_eur_short(now.delinquent.value_eur),
        "tables": _delinquency_tables(actor, now),
        "over_time": _chart_and_table(actor, now),
        "donors": donors,
        "decisions": queries.pending_decisions(actor) if actor.kind == OrganizationKind.DONOR else None,
        "may_decide": actor.kind == OrganizationKind.DONOR and actor.has_role(Role.EDITOR),
        "may_inspect": _inspector(actor),
        "may_keep_units": _recipient_editor(actor),
    }
    return render(request, "eum/overview.html", {"page": page})


# --- serials ----------------------------------------------------------------------------------------------------


@for_monitors
def serial_list(request: HttpRequest) -> HttpResponse:
    sees_all = request.actor.kind != OrganizationKind.DONOR
    return list_or_export(
        request,
        queries.SERIALS,
        queries.serials(request.actor),
        title=_("Serials"),
        empty=_("No serial-tracked item has been handed over yet.") if sees_all else _("None of your items is serial-tracked."),
        intro=_(
            "Each serial-tracked item handed over. An item is delinquent when its next inventory was due before today "
            "and it has not been sighted since."
        ),
    )


def _serial_actions(actor: Actor, serial: Serial) -> list[dict]:
    if not (serial.accountable and _recipient_editor(actor)):
        return []
    base = serial.get_absolute_url()
    return [
        {"label": _("Report a loss"), "url": f"{base}loss/"},
        {"label": _("Record a transfer"), "url": f"{base}transfer/"},
        {"label": _("Ask the donor's consent"), "url": f"{base}consent/"},
    ]


def _may_decide(actor: Actor, serial: Serial) -> bool:
    return allowed(require_owner, actor, serial, Role.EDITOR, doing=_("Deciding for the donor"))


def _overdue(today, serial: Serial) -> str:
    days = (today - serial.due_on).days
    return ngettext("yes: %(days)s day overdue", "yes: %(days)s days overdue", days) % {"days": number(days)}


def serial_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    serial = get_visible(queries.serials(actor).select_related("handover_place", "last_sighting_place", "pledge"), actor, pk=pk)
    today = timezone.localdate()
    delinquent = queries.is_delinquent(serial, today)
    fields = [
        (_("Item type"), f"{serial.item_type.code} — {serial.item_type.name}"),
        (_("Serial number"), serial.serial),
        (_("Donor"), serial.owner.name),
        (
            _("Status"),
            _("%(status)s since %(day)s") % {"status": serial.get_status_display(), "day": serial.status_on.isoformat()},
        ),
        (_("Holder"), str(serial.holder) if serial.holder_id else "—"),
        (
            _("Handover"),
            f"{serial.handover_date.isoformat()}{' · ' + str(serial.handover_place) if serial.handover_place_id else ''}",
        ),
        (
            _("Last sighted"),
            " · ".join(
                part
                for part in (
                    serial.last_sighted_on.isoformat() if serial.last_sighted_on else "",
                    str(serial.last_sighting_place) if serial.last_sighting_place_id else "",
                    serial.get_last_sighting_method_display() if serial.last_sighting_method else "",
                )
                if part
            )
            or _("never"),
        ),
        (_("Next inventory due"), serial.due_on.isoformat() if serial.due_on else _("none: no longer held")),
        (
            _("Delinquent"),
            _overdue(today, serial) if delinquent else _("no"),
        ),
        (_("Re-transfer needs the donor's consent"), _("yes") if serial.retransfer_requires_consent else _("no")),
        (_("Version"), serial.version),
    ]
    may_decide = _may_decide(actor, serial)
    page = DetailPage(
        title=str(serial),
        obj=serial,
        fields=fields,
        history=history_rows(serial),
        actions=_serial_actions(actor, serial),
        extra={
            "delinquent": delinquent,
            "sightings": list(serial.sightings.visible_to(actor).select_related("place", "inventory")[:100]),
            "missed_in": queries.missed_in(actor, serial),
            "losses": list(serial.losses.visible_to(actor).select_related("place")),
            "transfers": list(serial.transfers.visible_to(actor).select_related("to_unit")),
            "may_decide": may_decide,
            "consignment_url": reverse("consignment", args=[serial.consignment_id]) if serial.consignment_id else "",
        },
    )
    return render(request, "eum/serial_detail.html", {"page": page})


class LossForm(ServiceForm):
    kind = forms.ChoiceField(label=gettext_lazy("What happened"), choices=LossKind.choices)
    occurred_on = forms.DateField(label=gettext_lazy("Occurred on"), widget=_date_input())
    place = forms.CharField(label=gettext_lazy("Place"), max_length=120, required=False, help_text=PLACE_HELP)
    circumstances = forms.CharField(label=gettext_lazy("Circumstances"), widget=forms.Textarea(attrs={"rows": 4}))
    evidence_reference = forms.CharField(label=gettext_lazy("Evidence reference"), max_length=300, required=False)


def _accountable_serial(request: HttpRequest, pk: int, doing: str) -> Serial:
    serial = get_visible(queries.serials(request.actor), request.actor, pk=pk)
    services.require_recipient_editor(request.actor, doing=doing)
    return serial


@login_required
def serial_loss(request: HttpRequest, pk: int) -> HttpResponse:
    serial = _accountable_serial(request, pk, _("Reporting a loss"))
    form = LossForm(request.POST or None)
    page = FormPage(
        title=_("Report a loss: %(serial)s") % {"serial": serial},
        forms=[form],
        submit_label=_("Report the loss"),
        cancel_url=serial.get_absolute_url(),
        intro=_("The item leaves the inventory schedule; its donor is asked to acknowledge the report."),
    )

    def save() -> Serial:
        services.report_loss(actor=request.actor, serial_id=pk, **form.cleaned_data)
        return serial

    return submit(request, page, save, done=_("Loss reported."))


class TransferForm(ServiceForm):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=TransferKind.choices)
    to_unit = forms.ModelChoiceField(label=gettext_lazy("To unit"), queryset=Unit.objects.none(), required=False)
    third_party = forms.CharField(label=gettext_lazy("Third party"), max_length=200, required=False)
    end_use = forms.CharField(label=gettext_lazy("New end use"), max_length=300, required=False)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
    on = forms.DateField(
        label=gettext_lazy("On"), required=False, widget=_date_input(), help_text=gettext_lazy("Today when empty.")
    )

    def __init__(self, *args, actor: Actor, consent: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if consent:
            del self.fields["to_unit"], self.fields["on"]
            self.fields["kind"].choices = [c for c in TransferKind.choices if c[0] != TransferKind.INTERNAL]
        else:
            self.fields["to_unit"].queryset = Unit.objects.visible_to(actor).order_by("code")


@login_required
def serial_transfer(request: HttpRequest, pk: int, consent: bool = False) -> HttpResponse:
    doing = _("Asking a donor's consent") if consent else _("Recording a transfer")
    serial = _accountable_serial(request, pk, doing)
    form = TransferForm(request.POST or None, actor=request.actor, consent=consent)
    if consent:
        title, label = _("Ask the donor's consent: %(serial)s"), _("Ask for consent")
        intro = _("A transfer to a third party or a change of end use waits for %(donor)s's decision.") % {
            "donor": serial.owner.name
        }
    else:
        title, label = _("Record a transfer: %(serial)s"), _("Record the transfer")
        intro = _(
            "A move between your own units is recorded at once. A transfer to a third party or a change of end use "
            "needs the donor's consent first when the pledge says so."
        )
    page = FormPage(
        title=title % {"serial": serial},
        forms=[form],
        submit_label=label,
        cancel_url=serial.get_absolute_url(),
        intro=intro,
    )

    def save() -> Serial:
        data = {key: value for key, value in form.cleaned_data.items() if value not in (None, "") or key == "reason"}
        if consent:
            services.request_consent(actor=request.actor, serial_id=pk, **data)
        else:
            services.transfer(actor=request.actor, serial_id=pk, **data)
        return serial

    return submit(request, page, save, done=_("Consent requested.") if consent else _("Transfer recorded."))


class NoteForm(ServiceForm):
    note = forms.CharField(label=gettext_lazy("Note"), max_length=REASON_MAX_LENGTH, required=False)


@login_required
def loss_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_visible(LossReport.objects.select_related("serial__item_type", "serial__owner"), request.actor, pk=pk)
    require_owner(request.actor, report.serial, Role.EDITOR, doing=_("Acknowledging a loss"))
    form = NoteForm(request.POST or None)
    page = FormPage(
        title=_("Acknowledge the loss of %(serial)s") % {"serial": report.serial},
        forms=[form],
        submit_label=_("Acknowledge"),
        cancel_url=report.serial.get_absolute_url(),
        intro=_("%(kind)s on %(day)s: %(circumstances)s")
        % {"kind": report.get_kind_display(), "day": report.occurred_on.isoformat(), "circumstances": report.circumstances},
    )

    def save() -> Serial:
        services.acknowledge_loss(actor=request.actor, loss_id=pk, note=form.cleaned_data["note"])
        return report.serial

    return submit(request, page, save, done=_("Loss acknowledged."))


class DecisionForm(ServiceForm):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[("consent", gettext_lazy("Consent")), ("refuse", gettext_lazy("Refuse"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Needed for a refusal."),
    )


@login_required
def transfer_decide(request: HttpRequest, pk: int) -> HttpResponse:
    request_ = get_visible(Transfer.objects.select_related("serial__item_type", "serial__owner"), request.actor, pk=pk)
    require_owner(request.actor, request_.serial, Role.EDITOR, doing=_("Deciding on a transfer"))
    form = DecisionForm(request.POST or None)
    target = request_.third_party or request_.end_use
    page = FormPage(
        title=_("Consent to a transfer of %(serial)s?") % {"serial": request_.serial},
        forms=[form],
        submit_label=_("Record the decision"),
        cancel_url=request_.serial.get_absolute_url(),
        intro=_("%(kind)s: %(target)s. The recipient's reason: %(reason)s")
        % {"kind": request_.get_kind_display(), "target": target, "reason": request_.reason},
    )

    def save() -> Serial:
        services.decide_consent(
            actor=request.actor,
            transfer_id=pk,
            consent=form.cleaned_data["decision"] == "consent",
            reason=form.cleaned_data["reason"],
        )
        return request_.serial

    return submit(request, page, save, done=_("Decision recorded."))


# --- inventories ------------------------------------------------------------------------------------------------


@for_monitors
def inventory_list(request: HttpRequest) -> HttpResponse:
    donor = request.actor.kind == OrganizationKind.DONOR
    return list_or_export(
        request,
        queries.INVENTORIES,
        queries.inventories(request.actor),
        title=_("Inventories"),
        empty=_("No inventory that you may see.") if donor else _("No inventory recorded yet."),
        intro=_(
            "The inventories your organization recorded. Those of the headquarters and the recipient are theirs: each "
            "of your serials' pages lists every sighting of it, whoever inspected."
        )
        if donor
        else "",
        create_url=reverse("eum-inventory-new") if _inspector(request.actor) else None,
        create_label=_("Record an inventory"),
    )


INVENTORY_FIELDS = (
    "conducted_on",
    "place",
    "method",
    "evidence_reference",
    "evidence_digest",
    "holder",
    "item_type",
    "donor",
    "note",
)
SIGHTINGS_FIELD = "sightings"
CHOSEN_FIELD = "chosen"


class InventoryForm(ServiceForm):
    conducted_on = forms.DateField(label=gettext_lazy("Conducted on"), widget=_date_input())
    place = forms.CharField(label=gettext_lazy("Place"), max_length=120, required=False, help_text=PLACE_HELP)
    method = forms.ChoiceField(label=gettext_lazy("Method"), choices=SightingMethod.choices)
    evidence_reference = forms.CharField(
        label=gettext_lazy("Evidence reference"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("Where the photo, video or scan is kept; needed for a remote inventory."),
    )
    evidence_digest = forms.CharField(
        label=gettext_lazy("Evidence digest (SHA-256)"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("64 hexadecimal digits, e.g. from sha256sum."),
    )
    holder = forms.ModelChoiceField(label=gettext_lazy("Unit inspected"), queryset=Unit.objects.none(), required=False)
    item_type = forms.ModelChoiceField(label=gettext_lazy("Item type"), queryset=ItemType.objects.none(), required=False)
    donor = forms.ModelChoiceField(label=gettext_lazy("Donor"), queryset=Organization.objects.none(), required=False)
    sightings = forms.CharField(
        label=gettext_lazy("Serials sighted"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy("One a line: item type code, a space, serial number (AMM-JAVELIN USA-AMM-JAVELIN-00001)."),
    )
    chosen = forms.MultipleChoiceField(
        label=gettext_lazy("Or tick the expected serials sighted"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, actor: Actor, expected: list[Serial], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["holder"].queryset = Unit.objects.visible_to(actor).order_by("code")
        self.fields["item_type"].queryset = ItemType.objects.visible_to(actor).filter(sensitive=True).order_by("code")
        self.fields["item_type"].label_from_instance = lambda item: f"{item.code} — {item.name}"
        if actor.kind == OrganizationKind.DONOR:
            del self.fields["donor"]  # a donor inventories its own serials
        else:
            self.fields["donor"].queryset = Organization.objects.filter(kind=OrganizationKind.DONOR).order_by("code")
        self.expected = {str(serial.pk): serial for serial in expected}
        if expected:
            self.fields[CHOSEN_FIELD].choices = [
                (str(serial.pk), f"{serial.item_type.code} {serial.serial}") for serial in expected
            ]
        else:
            del self.fields[CHOSEN_FIELD]

    def clean_evidence_digest(self) -> str:
        return self.cleaned_data["evidence_digest"].strip().lower()

    def inventory_fields(self) -> dict:
        names = (
            "conducted_on",
            "place",
            "method",
            "evidence_reference",
            "evidence_digest",
            "holder",
            "item_type",
            "donor",
            "note",
        )
        return {
            name: self.cleaned_data[name]
            for name in names
            if name in self.cleaned_data and self.cleaned_data[name] not in (None, "")
        }

    def sighting_entries(self) -> tuple[list[dict], list[str], list[str]]:
        """The sightings, each with where it came from (a line of the text, or a ticked serial), for the messages;
        and the lines that cannot be read as an item type code and a serial number, each with its problem."""
        entries, origins, unreadable = [], [], []
        for line_number, line in enumerate((self.cleaned_data.get(SIGHTINGS_FIELD) or "").splitlines(), start=1):
            if not line.strip():
                continue
            origin = _("Line %(line)s (%(text)s)") % {"line": line_number, "text": line.strip()}
            words = line.split()
            if len(words) != 2:
                unreadable.append(
                    _("%(line)s cannot be read: write the item type code, a space, then the serial number.") % {"line": origin}
                )
                continue
            entries.append({"item_type": words[0], "serial": words[1]})
            origins.append(origin)
        for pk in self.cleaned_data.get(CHOSEN_FIELD) or []:
            serial = self.expected[pk]
            entries.append({"item_type": serial.item_type.code, "serial": serial.serial})
            origins.append(_("Ticked %(serial)s") % {"serial": f"{serial.item_type.code} {serial.serial}"})
        return entries, origins, unreadable


def _on_the_inventory_form(error: Invalid, origins: list[str]) -> Invalid:
    """The service names a sighting's problem `sightings[<i>].<field>`; the form shows it under the sightings,
    saying which line or ticked serial it is about."""
    renamed: dict[str, list[str]] = {}
    for name, problems in error.field_errors.items():
        found = re.fullmatch(r"sightings\[(\d+)\]\.(\w+)", name)
        if found and int(found[1]) < len(origins):
            renamed.setdefault(SIGHTINGS_FIELD, []).extend(f"{origins[int(found[1])]}: {problem}" for problem in problems)
        else:
            renamed.setdefault(name, []).extend(problems)
    return Invalid(renamed)


def _sighting_problems(actor: Actor, fields: dict, entries: list[dict]) -> dict[str, list[str]]:
    """The sightings' problems when the inventory's own fields were refused first, so every problem shows at once:
    the same sightings tried on an inventory of the same scope, today, physically, and rolled back."""
    trial = {key: value for key, value in fields.items() if key in ("holder", "item_type", "donor")}
    day = fields.get("conducted_on")
    trial |= {"conducted_on": day if day and day <= timezone.localdate() else timezone.localdate(), "method": "physical"}
    try:
        with transaction.atomic():
            services.record_inventory(actor=actor, fields=trial, sightings=entries)
            transaction.set_rollback(True)
    except Invalid as error:
        return {name: problems for name, problems in error.field_errors.items() if name.startswith("sightings[")}
    except DomainError:
        return {}
    return {}


def _rolled_back(actor: Actor, fields: dict, entries: list[dict]) -> None:
    """The inventory tried and undone: raises what the service refuses, writes nothing (some lines could not be
    read, so the inventory is not recorded, but every other problem is shown with theirs)."""
    with transaction.atomic():
        services.record_inventory(actor=actor, fields=fields, sightings=entries)
        transaction.set_rollback(True)


SCOPE_FIELDS = ("holder", "item_type", "donor")
# What a person may have typed before asking for the expected serials, carried through that GET so it is not lost
# (short fields only: the sightings and the note stay out of a URL).
CARRIED_FIELDS = ("conducted_on", "place", "method", "evidence_reference", "evidence_digest")


def _expected_for(request: HttpRequest) -> tuple[list[Serial], int]:
    """The serials the scope chosen on the form (GET) expects, for ticking, and how many there are."""
    actor, params = request.actor, request.GET if request.method == "GET" else request.POST
    if not any(params.get(name) for name in ("holder", "item_type", "donor")):
        return [], 0
    scope = Inventory(conducted_on=timezone.localdate())
    for name in ("holder", "item_type", "donor"):
        value = params.get(name, "")
        if value.isdigit():
            setattr(scope, f"{name}_id", int(value))
    if actor.kind == OrganizationKind.DONOR:
        scope.donor_id = actor.organization.pk
    expected = services.expected_serials(actor, scope).select_related("item_type").order_by("item_type__code", "serial")
    return list(expected[:SHOWN_AT_MOST]), expected.count()


@login_required
def inventory_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    services.require_inspector(actor)
    if request.method == "POST" and "show_expected" in request.POST:
        # Showing the expected serials is a GET of the scope alone: never the whole form, whose CSRF token must
        # not end up in a URL (a browser's history, a proxy's log, a Referer).
        scope = {name: request.POST[name] for name in SCOPE_FIELDS if request.POST.get(name, "").isdigit()}
        scope |= {name: request.POST[name][:200] for name in CARRIED_FIELDS if request.POST.get(name)}
        return redirect(f"{reverse('eum-inventory-new')}?{urlencode(scope)}" if scope else reverse("eum-inventory-new"))
    expected, expected_count = _expected_for(request)
    initial = {name: request.GET.get(name) for name in (*SCOPE_FIELDS, *CARRIED_FIELDS) if request.GET.get(name)}
    initial.setdefault("conducted_on", timezone.localdate())
    form = InventoryForm(request.POST or None, actor=actor, expected=expected, initial=initial)
    intro = _(
        "Choose the scope (a unit, an item type, a donor, or none for everything you may see) and list the serials "
        "sighted. Every expected serial not listed is recorded as not sighted. Nothing is written unless every line "
        "passes. To tick serials instead, choose the scope and press “Show the expected serials”."
    )
    if expected_count > len(expected):
        intro += " " + _("Only the first %(shown)s of %(count)s expected serials can be ticked; list the others.") % {
            "shown": number(len(expected)),
            "count": number(expected_count),
        }
    page = FormPage(
        title=_("Record an inventory"),
        forms=[form],
        submit_label=_("Record the inventory"),
        cancel_url=reverse("eum-inventories"),
        intro=intro,
    )
    if request.method == "POST" and form.is_valid():
        fields = form.inventory_fields()
        entries, origins, unreadable = form.sighting_entries()
        try:
            if unreadable:
                _rolled_back(actor, fields, entries)
                raise Invalid({})
            inventory = services.record_inventory(actor=actor, fields=fields, sightings=entries)
        except Invalid as error:
            problems = dict(error.field_errors)
            if not any(name.startswith("sightings[") for name in problems):
                problems |= _sighting_problems(actor, fields, entries)
            shown = _on_the_inventory_form(Invalid(problems), origins).field_errors
            if unreadable:
                shown[SIGHTINGS_FIELD] = unreadable + shown.get(SIGHTINGS_FIELD, [])
            form.show(Invalid(shown))
        except DomainError as error:
            form.show(error)
            if unreadable:
                form.show(Invalid({SIGHTINGS_FIELD: unreadable}))
        else:
            messages.success(
                request,
                _("Inventory recorded: %(sighted)s of %(expected)s expected serials sighted.")
                % {"sighted": number(inventory.sighted_count), "expected": number(inventory.expected_count)},
            )
            return redirect(inventory)
    status = 400 if form.errors else 200
    return render(request, "eum/inventory_form.html", {"page": page}, status=status)


def inventory_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    inventory = get_visible(queries.inventories(actor), actor, pk=pk)
    sightings = inventory.sightings.visible_to(actor).select_related("serial__item_type", "place").order_by("serial__serial")
    # In the order they were registered, as the inventory keeps them: sorting hundreds of thousands by item type and
    # serial to show the first few cost more than the rest of the page (measured at a million serials).
    not_sighted = queries.not_sighted(actor, inventory).select_related("item_type", "holder").order_by("pk")
    sighted_count, not_sighted_count = sightings.count(), not_sighted.count()
    page = DetailPage(
        title=_("Inventory of %(day)s by %(inspector)s")
        % {"day": inventory.conducted_on.isoformat(), "inspector": inventory.owner.name},
        obj=inventory,
        fields=[
            (_("Conducted on"), inventory.conducted_on.isoformat()),
            (_("Inspected by"), inventory.owner.name),
            (_("Place"), str(inventory.place) if inventory.place_id else "—"),
            (_("Method"), inventory.get_method_display()),
            (_("Evidence reference"), inventory.evidence_reference or "—"),
            (_("Evidence digest (SHA-256)"), inventory.evidence_digest or "—"),
            (_("Scope"), queries._scope(inventory)),
            (_("Expected"), number(sighted_count + not_sighted_count)),
            (_("Sighted"), number(sighted_count)),
            (_("Not sighted"), number(not_sighted_count)),
            (_("Note"), inventory.note or "—"),
        ],
        history=history_rows(inventory),
        extra={
            "sightings": list(sightings[:SHOWN_AT_MOST]),
            "not_sighted": list(not_sighted[:SHOWN_AT_MOST]),
            "today": timezone.localdate(),
            "sighted_count": sighted_count,
            "not_sighted_count": not_sighted_count,
            "shown_at_most": SHOWN_AT_MOST,
            "partial": sighted_count + not_sighted_count < inventory.expected_count,
        },
    )
    return render(request, "eum/inventory_detail.html", {"page": page})


# --- units ------------------------------------------------------------------------------------------------------


@for_monitors
def unit_list(request: HttpRequest) -> HttpResponse:
    intro = _("The recipient's own structure that holds the items: brigades, battalions, depots.")
    donor = request.actor.kind == OrganizationKind.DONOR
    if donor:
        intro += " " + _("The units are the recipient's: each of your serials' pages names the unit that holds it.")
    return list_or_export(
        request,
        queries.UNITS,
        queries.units(request.actor),
        title=pgettext("military units", "Units"),
        empty=_("No unit that you may see.") if donor else _("No unit recorded yet."),
        create_url=reverse("eum-unit-new") if _recipient_editor(request.actor) else None,
        create_label=_("New unit"),
        intro=intro,
    )


class UnitForm(ServiceForm):
    code = forms.CharField(
        label=gettext_lazy("Code"), max_length=40, help_text=gettext_lazy("Capital letters, digits and hyphens, e.g. 47-MECH.")
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=UnitKind.choices)
    parent = forms.ModelChoiceField(label=gettext_lazy("Part of"), queryset=Unit.objects.none(), required=False)
    station = forms.CharField(
        label=gettext_lazy("Stationed at"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("A place's code, name or alias, e.g. UA-63 or Kharkiv: readiness counts the unit's crews there."),
    )

    def __init__(self, *args, actor: Actor, unit: Unit | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        others = Unit.objects.visible_to(actor).order_by("code")
        self.fields["parent"].queryset = others.exclude(pk=unit.pk) if unit else others


@login_required
def unit_create(request: HttpRequest) -> HttpResponse:
    services.require_recipient_editor(request.actor, doing=_("Adding a unit"))
    form = UnitForm(request.POST or None, actor=request.actor)
    page = FormPage(title=_("New unit"), forms=[form], submit_label=_("Add the unit"), cancel_url=reverse("eum-units"))
    return submit(
        request, page, lambda: services.create_unit(actor=request.actor, fields=form.cleaned_data), done=_("Unit added.")
    )


@login_required
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_visible(Unit.objects.all(), request.actor, pk=pk)
    services.require_recipient_editor(request.actor, doing=_("Changing a unit"))
    initial = {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "parent": unit.parent_id,
        "station": unit.station.code if unit.station_id else "",
    }
    form = UnitForm(request.POST or None, actor=request.actor, unit=unit, initial=initial)
    page = FormPage(
        title=_("Change %(unit)s") % {"unit": unit},
        forms=[form],
        submit_label=_("Save"),
        cancel_url=unit.get_absolute_url(),
        version=unit.version,
    )
    return submit(
        request,
        page,
        lambda: services.update_unit(
            actor=request.actor, unit_id=pk, expected_version=posted_version(request), changes=form.cleaned_data
        ),
        done=_("Unit changed."),
    )


def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    unit = get_visible(queries.units(actor), actor, pk=pk)
    held = queries.serials(actor).filter(holder=unit, status__in=ACCOUNTABLE)
    figures = held.aggregate(delinquent=Count("pk", filter=queries.delinquent_now(actor)))
    page = DetailPage(
        title=str(unit),
        obj=unit,
        fields=[
            (_("Code"), unit.code),
            (_("Name"), unit.name),
            (_("Kind"), unit.get_kind_display()),
            (_("Part of"), str(unit.parent) if unit.parent_id else "—"),
            (_("Stationed at"), str(unit.station) if unit.station_id else "—"),
            (_("Items held"), number(unit.held)),
            (_("Delinquent"), number(figures["delinquent"])),
            (_("Version"), unit.version),
        ],
        history=history_rows(unit),
        actions=[{"label": _("Change"), "url": reverse("eum-unit-edit", args=[unit.pk])}] if _recipient_editor(actor) else [],
        extra={
            "serials_url": f"{reverse('eum-serials')}?unit={unit.code}",
            "children": list(Unit.objects.visible_to(actor).filter(parent=unit).order_by("code")),
        },
    )
    return render(request, "eum/unit_detail.html", {"page": page})


# --- inventory rules --------------------------------------------------------------------------------------------


class RuleForm(ServiceForm):
    item_type = forms.ModelChoiceField(
        label=gettext_lazy("Item type"),
        queryset=ItemType.objects.none(),
        required=False,
        empty_label=gettext_lazy("every item type"),
    )
    donor = forms.ModelChoiceField(
        label=gettext_lazy("Donor programme"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=gettext_lazy("every donor"),
    )
    initial_days = forms.IntegerField(
        label=gettext_lazy("Initial inventory within (days)"), min_value=1, max_value=3650, initial=90
    )
    interval_days = forms.IntegerField(label=gettext_lazy("Then every (days)"), min_value=1, max_value=3650, initial=365)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=REASON_MAX_LENGTH, required=False)

    def __init__(self, *args, actor: Actor, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item_type"].queryset = ItemType.objects.visible_to(actor).filter(sensitive=True).order_by("code")
        self.fields["item_type"].label_from_instance = lambda item: f"{item.code} — {item.name}"
        donors = Organization.objects.filter(kind=OrganizationKind.DONOR).order_by("code")
        if actor.kind == OrganizationKind.DONOR:
            donors = donors.filter(pk=actor.organization.pk)
            self.fields["donor"].required = True
            self.fields["donor"].initial = actor.organization.pk
        self.fields["donor"].queryset = donors


@for_monitors
def rules_page(request: HttpRequest) -> HttpResponse:
    """The inventory rules the reader may see, and (for who may set them) a form that sets one."""
    actor = request.actor
    may_set = _rule_setter(actor)
    form = RuleForm(request.POST or None, actor=actor) if may_set else None
    if request.method == "POST":
        if form is None:
            raise deny(actor, _("Inventory rules are set by coordination staff and donors' editors."))
        if form.is_valid():
            try:
                services.set_rule(actor=actor, **form.cleaned_data)
            except DomainError as error:
                form.show(error)
            else:
                messages.success(request, _("Rule set; every serial it covers is rescheduled."))
                return redirect("eum-rules")
    rules = (
        InventoryRule.objects.visible_to(actor)
        .select_related("item_type", "donor", "owner")
        .order_by("item_type__code", "donor__code", "id")
    )
    if actor.kind == OrganizationKind.COORDINATOR:
        empty = _("No rule set: every serial is inventoried within 90 days of its handover, then every 365 days.")
    else:
        empty = _(
            "No rule that you may see. Where no rule applies, a serial is inventoried within 90 days of its handover, "
            "then every 365 days."
        )
    page = {"title": _("Inventory rules"), "rules": list(rules), "form": form, "empty": empty}
    return render(request, "eum/rules.html", {"page": page}, status=400 if form is not None and form.errors else 200)


# --- reports ----------------------------------------------------------------------------------------------------

REPORT_COLUMNS = (
    ("item_type", gettext_lazy("Item type")),
    ("name", gettext_lazy("Name")),
    ("handed_over", gettext_lazy("Handed over")),
    ("held", gettext_lazy("Held")),
    ("inventoried", gettext_lazy("Inventoried, next not yet due")),
    ("awaiting_first", gettext_lazy("Awaiting first inventory, not yet due")),
    ("delinquent", gettext_lazy("Delinquent (inventory overdue)")),
    ("lost", gettext_lazy("Lost, destroyed or captured")),
    ("transferred", gettext_lazy("Transferred")),
    ("other", gettext_lazy("Returned or disposed of")),
)


def _report_donor(actor: Actor, code: str) -> Organization:
    """The donor whose report this is, for who may read it: the donor itself, the headquarters, the recipient.
    Anyone else is told there is no such report, as for a donor that does not exist."""
    donor = Organization.objects.filter(kind=OrganizationKind.DONOR, code__iexact=code).first()
    readers = (OrganizationKind.COORDINATOR, OrganizationKind.RECIPIENT)
    if donor is None or not actor.is_member or not (actor.kind in readers or actor.organization.pk == donor.pk):
        raise NotFound(_("No end-use report for %(donor)s.") % {"donor": code})
    return donor


@login_required
def donor_report_page(request: HttpRequest, code: str) -> HttpResponse:
    donor = _report_donor(request.actor, code)
    report = queries.donor_report(request.actor, donor)
    title = _("End-use monitoring report: %(donor)s") % {"donor": donor.name}
    fmt = request.GET.get("format")
    header = [str(label) for _key, label in REPORT_COLUMNS]
    rows = [[row[key] for key, _label in REPORT_COLUMNS] for row in report.rows]
    if fmt in FORMATS:
        totals = report.totals()
        rows.append([_("Total"), "", *(totals[key] for key, _label in REPORT_COLUMNS[2:])])
        # A spreadsheet's sheet is named after the file, and a sheet's name takes no colon.
        return table_download(fmt, f"{_('End-use report')} {donor.code} {report.as_of.isoformat()}", header, rows)
    page = {
        "title": title,
        "donor": donor,
        "report": report,
        "header": header,
        "rows": rows,
        "totals": report.totals(),
        "total_keys": [key for key, _label in REPORT_COLUMNS[2:]],
    }
    return render(request, "eum/report.html", {"page": page})


def public_page(request: HttpRequest) -> HttpResponse:
    """What anyone may know: serial-tracked items per capability area, never a serial, a place or a unit."""
    rows = public_counts()
    totals = {key: sum(row[key] for row in rows) for key in ("handed_over", "held", "lost")}
    page = {"title": _("End-use monitoring: the public figures"), "rows": rows, "totals": totals}
    return render(request, "eum/public.html", {"page": page})
