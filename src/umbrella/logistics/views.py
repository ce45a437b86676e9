"""Consignment pages: the list (late ones flagged), one consignment with its lines, legs and history, and the pages
that take its steps: a movement (its day), a cancellation (why), the receipt (line by line) and the handover."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from umbrella.core import checkpoints, proofs
from umbrella.core.access import OrganizationKind, allowed, get_visible
from umbrella.core.errors import Conflict, Invalid, NotFound
from umbrella.core.ledger import ledger_size, signed_inclusion
from umbrella.core.numbers import number
from umbrella.logistics import services
from umbrella.logistics.exports import manifest_response
from umbrella.logistics.models import (
    CONSIGNMENT_LIFECYCLE,
    LIVE_STATES,
    Consignment,
    ConsignmentState,
    DiscrepancyKind,
    TransportMode,
)
from umbrella.logistics.queries import (
    CONSIGNMENTS,
    HubLoad,
    coming,
    coming_rows,
    consignments,
    days_late,
    destination_warnings,
    handover_entry,
    hub_board,
    is_late,
)
from umbrella.matching.models import Allocation, AllocationState
from umbrella.places.models import CapacityUnit
from umbrella.places.queries import resolve_place
from umbrella.pledges import services as pledges
from umbrella.pledges.models import REASON_MAX_LENGTH, Pledge
from umbrella.ui.charts import Bar, BarChart, bar_chart
from umbrella.ui.forms import ServiceForm, posted_version
from umbrella.ui.pages import DetailPage, FormPage, history_rows, list_or_export, submit

# Steps taken on a page of their own (a day, a reason); the receipt and the handover have richer pages.
MOVEMENT_STEPS = ("dispatch", "reach_hub", "leave_hub", "arrive", "cancel")


def consignment_list(request: HttpRequest) -> HttpResponse:
    may_create = allowed(services.require_shipper, request.actor)
    return list_or_export(
        request,
        CONSIGNMENTS,
        consignments(request.actor),
        title=_("Consignments"),
        empty=_("No consignments yet."),
        create_url=reverse("consignment-new") if may_create else None,
        create_label=_("New consignment"),
    )


PLACE_HELP = gettext_lazy("A code (UA-30), a name or another name (Kyiv, Kiev, Київ).")


LINE_FORMS = 5  # lines a consignment planned on the page may carry; more through a manifest file or the API
LEG_FORMS = 2  # to a hub and on from it; more through the API


class ConsignmentForm(ServiceForm):
    """The consignment itself; its lines and legs are the forms below it."""

    reference = forms.CharField(label=gettext_lazy("Reference"), max_length=80)
    weight_kg = forms.DecimalField(label=gettext_lazy("Weight (kg)"), required=False, min_value=0, decimal_places=1)


@dataclass(frozen=True)
class Shippable:
    """The active allocations the actor may ship with units left, read once for every line of the form: the
    choices, and what each has left and whether it is serial-tracked, so that a line's problems are named with the
    others' on the first submit (the service checks them all again)."""

    choices: list[tuple[str, str]]
    left: dict[int, Decimal]
    serial_tracked: dict[int, str]  # allocation → item type name, for serial-tracked ones


def shippable(actor) -> Shippable:
    allocations = Allocation.objects.visible_to(actor).filter(state=AllocationState.ACTIVE)
    if actor.is_member and actor.kind != OrganizationKind.COORDINATOR:
        allocations = allocations.filter(pledge__owner=actor.organization)
    spoken_for = Sum("consignment_lines__quantity", filter=Q(consignment_lines__consignment__state__in=LIVE_STATES))
    with_something_left = (
        allocations.annotate(shipped=Coalesce(spoken_for, 0))
        .filter(quantity__gte=F("shipped") + 1)
        .select_related("pledge__item_type", "pledge__owner", "requirement__destination")
        .order_by("id")
    )
    choices, left, serial_tracked = [], {}, {}
    for a in with_something_left:
        left[a.pk] = a.quantity - a.shipped
        if a.pledge.item_type.sensitive:
            serial_tracked[a.pk] = a.pledge.item_type.name
        label = _("#%(id)s %(item)s (%(donor)s) to %(destination)s: %(left)s left to ship of %(allocation)s") % {
            "id": a.pk,
            "item": a.pledge.item_type.name,
            "donor": a.pledge.owner.code,
            "destination": a.requirement.destination.code,
            "left": number(left[a.pk]),
            "allocation": a,
        }
        choices.append((str(a.pk), label))
    return Shippable(choices, left, serial_tracked)


class LineForm(ServiceForm):
    """One line: part of one allocation. The first line is needed; the others are left empty when not used."""

    allocation = forms.TypedChoiceField(label=gettext_lazy("Allocation"), coerce=int, required=False, empty_value=None)
    quantity = forms.IntegerField(label=gettext_lazy("Quantity"), min_value=1, required=False)
    serials = forms.CharField(
        label=gettext_lazy("Serial numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One a line, one per unit, for a serial-tracked item type."),
    )
    lots = forms.CharField(
        label=gettext_lazy("Lot numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One a line, for ammunition and other bulk supply."),
    )

    def __init__(self, *args, number_: int, shippable_: Shippable, **kwargs) -> None:
        super().__init__(*args, prefix=f"line{number_}", **kwargs)
        self.number = number_
        self.shippable = shippable_
        self.legend = (
            _("Line %(number)s") % {"number": number_} if number_ == 1 else _("Line %(number)s (optional)") % {"number": number_}
        )
        self.fields["allocation"].choices = [("", "—"), *shippable_.choices]

    @property
    def used(self) -> bool:
        return any(self.cleaned_data.get(name) for name in ("allocation", "quantity", "serials", "lots"))

    def clean(self):
        data = super().clean()
        if self.number == 1 or self.used:
            if data.get("allocation") is None and "allocation" not in self.errors:
                self.add_error("allocation", _("Choose the allocation this line ships."))
            if data.get("quantity") is None and "quantity" not in self.errors:
                self.add_error("quantity", _("Give the number of units this line ships."))
        allocation, quantity = data.get("allocation"), data.get("quantity")
        if allocation is not None and quantity is not None:
            self._check_against(allocation, quantity, [text for text in (data.get("serials") or "").splitlines() if text])
        return data

    def _check_against(self, allocation: int, quantity: int, serials: list[str]) -> None:
        left = self.shippable.left.get(allocation)
        if left is not None and quantity > left:
            self.add_error(
                "quantity",
                _("This allocation has %(left)s left to ship; %(quantity)s is more.")
                % {"left": f"{max(left, Decimal(0)).normalize():f}", "quantity": quantity},
            )
        item = self.shippable.serial_tracked.get(allocation)
        if item is not None and len(serials) != quantity:
            self.add_error(
                "serials",
                _("%(item)s is serial-tracked: give one serial number per unit (%(quantity)s), not %(count)s.")
                % {"item": item, "quantity": quantity, "count": len(serials)},
            )

    def line(self) -> dict:
        data = self.cleaned_data
        return {
            "allocation": data["allocation"],
            "quantity": data["quantity"],
            "serials": (data["serials"] or "").splitlines(),
            "lots": (data["lots"] or "").splitlines(),
        }


def _check_lines_together(lines: list[LineForm], shippable_: Shippable) -> None:
    """Lines of one allocation together never ship more than it has left: said at the line that goes over."""
    taken: dict[int, int] = defaultdict(int)
    for line in lines:
        if not line.is_valid() or not line.used:
            continue
        allocation, quantity = line.cleaned_data["allocation"], line.cleaned_data["quantity"]
        taken[allocation] += quantity
        left = shippable_.left.get(allocation)
        if left is not None and taken[allocation] > left:
            line.add_error(
                "quantity",
                _("With the lines above of the same allocation this makes %(taken)s; it has %(left)s left to ship.")
                % {"taken": taken[allocation], "left": f"{max(left, Decimal(0)).normalize():f}"},
            )


class LegForm(ServiceForm):
    """One leg, optional: from a place to another (a hub, then on from it), with its mode and planned days."""

    from_place = forms.CharField(label=gettext_lazy("From"), max_length=120, required=False, help_text=PLACE_HELP)
    to_place = forms.CharField(label=gettext_lazy("To"), max_length=120, required=False, help_text=PLACE_HELP)
    mode = forms.ChoiceField(label=gettext_lazy("Mode"), choices=[("", "—"), *TransportMode.choices], required=False)
    planned_departure = forms.DateField(
        label=gettext_lazy("Planned departure"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    planned_arrival = forms.DateField(
        label=gettext_lazy("Planned arrival"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, number_: int, actor, **kwargs) -> None:
        super().__init__(*args, prefix=f"leg{number_}", **kwargs)
        self.actor = actor
        self.legend = _("Leg 1 (optional): from where it leaves") if number_ == 1 else _("Leg 2 (optional): on from a hub")

    def _place(self, name: str):
        text = self.cleaned_data.get(name)
        if not text:
            return None
        try:
            return resolve_place(text, self.actor)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None

    def clean_from_place(self):
        return self._place("from_place")

    def clean_to_place(self):
        return self._place("to_place")

    @property
    def used(self) -> bool:
        return any(self.cleaned_data.get(name) for name in self.fields)

    def clean(self):
        data = super().clean()
        if any(data.get(name) for name in self.fields):
            for name in ("from_place", "to_place"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, _("A leg goes from one place to another: name both."))
            if not data.get("mode") and "mode" not in self.errors:
                self.add_error("mode", _("Choose how this leg travels."))
        departure, arrival = data.get("planned_departure"), data.get("planned_arrival")
        if departure and arrival and arrival < departure:
            self.add_error("planned_arrival", _("The planned arrival comes before the planned departure."))
        return data

    def leg(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


def _check_legs_together(legs: list[LegForm]) -> None:
    """A second leg goes on from where the first ends."""
    first, second = legs[0], legs[1]
    if not (first.is_valid() and second.is_valid() and first.used and second.used):
        return
    end, start = first.cleaned_data["to_place"], second.cleaned_data["from_place"]
    if end != start:
        second.add_error(
            "from_place",
            _("Leg 2 goes on from where leg 1 ends (%(end)s), not from %(start)s.") % {"end": end, "start": start},
        )


def _on_the_forms(error: Invalid, lines: list[LineForm], legs: list[LegForm]) -> Invalid:
    """The service names a line's fields `lines[i].<field>` (i among the lines used) and a leg's `legs.<field>`:
    each problem goes on the form it belongs to; what is left is the consignment's own."""
    own: dict[str, list[str]] = {}
    for name, problems in error.field_errors.items():
        line = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", name)
        leg = re.fullmatch(r"legs\.(\w+)", name)
        if line and int(line[1]) < len(lines):
            lines[int(line[1])].show(Invalid({line[2]: problems}))
        elif leg and legs:
            legs[0].show(Invalid({leg[1]: problems}))
        else:
            own[name] = problems
    if not own:
        own["lines"] = [_("The lines below have problems: each is named at its field.")]
    return Invalid(own)


@login_required
def consignment_create(request: HttpRequest) -> HttpResponse:
    services.require_shipper(request.actor, doing=_("Planning a consignment"))
    data = request.POST or None
    form = ConsignmentForm(data)
    allocations = shippable(request.actor)
    line_forms = [LineForm(data, number_=n, shippable_=allocations) for n in range(1, LINE_FORMS + 1)]
    leg_forms = [LegForm(data, number_=n, actor=request.actor) for n in range(1, LEG_FORMS + 1)]
    if data is not None:
        _check_lines_together(line_forms, allocations)
        _check_legs_together(leg_forms)
    page = FormPage(
        title=_("New consignment"),
        forms=[form, *line_forms, *leg_forms],
        submit_label=_("Plan the consignment"),
        cancel_url=reverse("consignments"),
        intro=_(
            "It is planned first; dispatch it from its page when it leaves. Up to five lines and two legs here (to a hub "
            "and on from it); more lines from a manifest file on the consignment's page."
        ),
    )

    def save() -> Consignment:
        lines = [line for line in line_forms if line.used]
        legs = [leg for leg in leg_forms if leg.used]
        fields = {"reference": form.cleaned_data["reference"]}
        if form.cleaned_data["weight_kg"] is not None:
            fields["weight_kg"] = form.cleaned_data["weight_kg"]
        try:
            return services.create_consignment(
                actor=request.actor, fields=fields, lines=[line.line() for line in lines], legs=[leg.leg() for leg in legs]
            )
        except Invalid as error:
            raise _on_the_forms(error, lines, legs) from None

    return submit(request, page, save, done=_("Consignment planned."))


def _actions(request: HttpRequest, consignment: Consignment) -> list[dict]:
    actor, possible = request.actor, CONSIGNMENT_LIFECYCLE.possible(consignment.state)
    actions = [
        {"label": CONSIGNMENT_LIFECYCLE.steps[step].label, "url": f"{consignment.get_absolute_url()}{step}/"}
        for step in MOVEMENT_STEPS
        if step in possible and allowed(services.require_step_party, actor, consignment, step)
    ]
    may_receive = allowed(services.require_receiver, actor)
    if may_receive and consignment.state in (ConsignmentState.ARRIVED, ConsignmentState.RECEIVED):
        label = _("Record the receipt") if consignment.state == ConsignmentState.ARRIVED else _("Correct the receipt")
        actions.append({"label": label, "url": f"{consignment.get_absolute_url()}receipt/"})
    if may_receive and consignment.state == ConsignmentState.RECEIVED:
        actions.append({"label": _("Record the handover"), "url": f"{consignment.get_absolute_url()}handover/"})
    return actions


def _manifest_links(request: HttpRequest, consignment: Consignment) -> dict:
    """The manifest's files, and (for who may add to a planned consignment) the import that adds lines to it."""
    formats = {fmt: reverse("consignment-manifest", args=[consignment.pk, fmt]) for fmt in ("csv", "xlsx", "hxl")}
    may_add = consignment.state == ConsignmentState.PLANNED and allowed(services.require_shipper, request.actor, consignment)
    return {"formats": formats, "import_url": f"{reverse('import')}?kind=manifest" if may_add else None}


def consignment_manifest(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The manifest of a consignment the reader may see, as CSV, XLSX or HXL (CSV with hashtags)."""
    if fmt not in ("csv", "xlsx", "hxl"):
        raise NotFound(_("No manifest format %(format)s; use csv, xlsx or hxl.") % {"format": fmt})
    consignment = get_visible(consignments(request.actor), request.actor, pk=pk)
    return manifest_response(request.actor, consignment, fmt)


def _lateness(consignment: Consignment) -> str:
    """Late while on its way, and how late it arrived once it has: lateness is kept, not forgotten on arrival."""
    days = days_late(consignment)
    if not days:
        return _("no")
    if is_late(consignment):
        return ngettext("yes: its ETA passed %(days)s day ago", "yes: its ETA passed %(days)s days ago", days) % {"days": days}
    return ngettext("arrived %(days)s day after its ETA", "arrived %(days)s days after its ETA", days) % {"days": days}


def consignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    consignment = get_visible(consignments(request.actor), request.actor, pk=pk)
    page = DetailPage(
        title=str(consignment),
        obj=consignment,
        fields=[
            (_("Donor"), consignment.owner.name),
            (_("State"), consignment.get_state_display()),
            (_("ETA"), consignment.eta or "—"),
            (_("Late"), _lateness(consignment)),
            (_("Weight (kg)"), number(consignment.weight_kg, 1) if consignment.weight_kg is not None else "—"),
            *([(_("Reason for cancellation"), consignment.cancel_reason)] if consignment.cancel_reason else []),
            *([(_("Received on"), consignment.received_on)] if consignment.received_on else []),
            *(
                [
                    (_("Receiving unit"), consignment.handover_unit),
                    (_("Handover place"), str(consignment.handover_place)),
                    (_("Handover date"), consignment.handover_date),
                    (_("Handing-over officer's role"), consignment.handover_officer_role),
                ]
                if consignment.handover_date
                else []
            ),
            (_("Marking"), consignment.get_marking_display()),
            (_("Version"), consignment.version),
        ],
        history=history_rows(consignment),
        actions=_actions(request, consignment),
        extra={
            "manifest": _manifest_links(request, consignment),
            "lines": list(consignment.lines.all()),
            "legs": list(consignment.legs.all()),
            "serial_differences": services.serial_differences(consignment),
            "late": is_late(consignment),
            "destination_warnings": destination_warnings(request.actor, consignment),
        },
    )
    return render(request, "logistics/consignment_detail.html", {"page": page})


class StepForm(ServiceForm):
    def __init__(self, *args, step: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if step == "cancel":
            self.fields["reason"] = forms.CharField(
                label=gettext_lazy("Reason"),
                max_length=REASON_MAX_LENGTH,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text=gettext_lazy("Kept in the ledger with the consignment."),
            )
        else:
            self.fields["on"] = forms.DateField(
                label=gettext_lazy("On"),
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}),
                help_text=gettext_lazy("The day it happened (today when empty)."),
            )


@login_required
def consignment_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    consignment = get_visible(Consignment.objects.select_related("owner"), request.actor, pk=pk)
    if step not in MOVEMENT_STEPS:
        raise NotFound(_("There is no step called %(step)s.") % {"step": repr(step)})
    CONSIGNMENT_LIFECYCLE.step(step, consignment)
    services.require_step_party(request.actor, consignment, step)
    form = StepForm(request.POST or None, step=step)
    label = CONSIGNMENT_LIFECYCLE.steps[step].label
    page = FormPage(
        title=f"{label}: {consignment}",
        forms=[form],
        submit_label=label,
        cancel_url=consignment.get_absolute_url(),
        version=consignment.version,
    )

    def take_step() -> Consignment:
        done = services.advance_consignment(
            actor=request.actor, consignment_id=pk, step=step, expected_version=posted_version(request), **form.cleaned_data
        )
        messages.success(request, _("The consignment is now %(state)s.") % {"state": done.get_state_display()})
        return done

    return submit(request, page, take_step)


RECEIPT_PARTS = ("quantity_received", "serials", "discrepancy", "note", "evidence_reference")


class ReceiptForm(ServiceForm):
    """Every line of the consignment: what arrived, its serials (one a line) and what went wrong."""

    def __init__(self, *args, consignment: Consignment, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lines = list(consignment.lines.select_related("allocation__pledge__item_type"))
        self.fields["received_on"] = forms.DateField(
            label=gettext_lazy("Received on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        for line in self.lines:
            item = line.allocation.pledge.item_type
            name = _("Line %(line)s (%(quantity)s × %(item)s)") % {"line": line.pk, "quantity": line.quantity, "item": item.name}
            self.fields[f"line_{line.pk}_quantity_received"] = forms.IntegerField(
                label=_("%(line)s: quantity received") % {"line": name},
                min_value=0,
                initial=line.quantity_received if line.quantity_received is not None else line.quantity,
            )
            if item.sensitive:
                self.fields[f"line_{line.pk}_serials"] = forms.CharField(
                    label=_("%(line)s: serial numbers received, one a line") % {"line": name},
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 3}),
                    initial="\n".join(line.received_serials or line.serials),
                )
            self.fields[f"line_{line.pk}_discrepancy"] = forms.ChoiceField(
                label=_("%(line)s: discrepancy") % {"line": name},
                choices=[("", _("none")), *DiscrepancyKind.choices],
                required=False,
                initial=line.discrepancy,
            )
            self.fields[f"line_{line.pk}_note"] = forms.CharField(
                label=_("%(line)s: what went wrong") % {"line": name},
                max_length=REASON_MAX_LENGTH,
                required=False,
                initial=line.discrepancy_note,
            )
            self.fields[f"line_{line.pk}_evidence_reference"] = forms.CharField(
                label=_("%(line)s: evidence reference") % {"line": name},
                max_length=200,
                required=False,
                initial=line.evidence_reference,
            )

    def receipt_lines(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {
                "line": line.pk,
                "quantity_received": data[f"line_{line.pk}_quantity_received"],
                "serials": (data.get(f"line_{line.pk}_serials") or "").splitlines(),
                "discrepancy": data[f"line_{line.pk}_discrepancy"] or None,
                "note": data[f"line_{line.pk}_note"],
                "evidence_reference": data[f"line_{line.pk}_evidence_reference"],
            }
            for line in self.lines
        ]


def _on_the_form(error: Invalid) -> Invalid:
    """The service names a line's field `lines[<id>].<part>`; the form calls it `line_<id>_<part>`."""
    renamed: dict[str, list[str]] = {}
    for name, problems in error.field_errors.items():
        found = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", name)
        renamed.setdefault(f"line_{found[1]}_{found[2]}" if found else name, []).extend(problems)
    return Invalid(renamed)


@login_required
def consignment_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    consignment = get_visible(Consignment.objects.select_related("owner"), request.actor, pk=pk)
    services.require_receiver(request.actor, doing=_("Recording a receipt"))
    if consignment.state != ConsignmentState.RECEIVED:
        CONSIGNMENT_LIFECYCLE.step("receive", consignment)
    form = ReceiptForm(request.POST or None, consignment=consignment)
    page = FormPage(
        title=_("Receipt: %(consignment)s") % {"consignment": consignment},
        forms=[form],
        submit_label=_("Record the receipt"),
        cancel_url=consignment.get_absolute_url(),
        version=consignment.version,
        intro=_("Record what arrived on every line. A quantity other than shipped needs a discrepancy and a note."),
    )

    def save() -> Consignment:
        try:
            return services.record_receipt(
                actor=request.actor,
                consignment_id=pk,
                expected_version=posted_version(request),
                lines=form.receipt_lines(),
                received_on=form.cleaned_data["received_on"],
            )
        except Invalid as error:
            raise _on_the_form(error) from None

    return submit(request, page, save, done=_("Receipt recorded."))


class HandoverForm(ServiceForm):
    unit = forms.CharField(label=gettext_lazy("Receiving unit"), max_length=200)
    place = forms.CharField(label=gettext_lazy("Place"), max_length=120, help_text=PLACE_HELP)
    date = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    officer_role = forms.CharField(label=gettext_lazy("Handing-over officer's role"), max_length=200)


@login_required
def consignment_handover(request: HttpRequest, pk: int) -> HttpResponse:
    consignment = get_visible(Consignment.objects.select_related("owner"), request.actor, pk=pk)
    services.require_receiver(request.actor, doing=_("Recording a handover"))
    CONSIGNMENT_LIFECYCLE.step("hand_over", consignment)
    form = HandoverForm(request.POST or None)
    page = FormPage(
        title=_("Handover: %(consignment)s") % {"consignment": consignment},
        forms=[form],
        submit_label=_("Record the handover"),
        cancel_url=consignment.get_absolute_url(),
        version=consignment.version,
        intro=_("Title passes to the recipient at handover."),
    )
    return submit(
        request,
        page,
        lambda: services.hand_over(
            actor=request.actor, consignment_id=pk, expected_version=posted_version(request), **form.cleaned_data
        ),
        done=_("Handover recorded."),
    )


class CloseShortForm(ServiceForm):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Kept in the ledger with the pledge and each allocation it shrinks."),
    )


@login_required
def pledge_close_short(request: HttpRequest, pk: int) -> HttpResponse:
    pledge = get_visible(Pledge.objects.select_related("item_type", "owner"), request.actor, pk=pk)
    pledges.require_short_closer(request.actor, pledge)
    form = CloseShortForm(request.POST or None)
    page = FormPage(
        title=_("Close short: %(pledge)s") % {"pledge": pledge},
        forms=[form],
        submit_label=_("Close short"),
        cancel_url=pledge.get_absolute_url(),
        version=pledge.version,
        intro=_(
            "%(received)s of %(quantity)s arrived. Closing short ends the pledge there: its allocations drop to what "
            "arrived, and the requirements they served are open to the next match run for the rest."
        )
        % {"received": pledge.quantity_delivered, "quantity": pledge.quantity},
    )
    return submit(
        request,
        page,
        lambda: services.close_pledge_short(
            actor=request.actor, pledge_id=pk, expected_version=posted_version(request), reason=form.cleaned_data["reason"]
        ),
        done=_("Pledge closed short."),
    )


class HubBoardFilters(forms.Form):
    since = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("until") and cleaned["since"] > cleaned["until"]:
            self.add_error("until", _("The end of the time range is before its start."))
        return cleaned


def _load_text(value, unit: str) -> str:
    return number(value, 1) if unit == CapacityUnit.TONNES else number(value)


def _hub_chart(load: HubLoad) -> BarChart:
    """Two bars a week (planned, actual), the capacity as a tick on each; a week over capacity is flagged in words."""
    unit_label = CapacityUnit(load.unit).label
    capacity = _("capacity %(capacity)s %(unit)s") % {"capacity": number(load.capacity), "unit": unit_label}
    over = _("over capacity")
    bars = [
        Bar(
            f"{week.week} {label}",
            float(value),
            _load_text(value, load.unit),
            marker=load.capacity,
            marker_text=capacity,
            flag=over if value > load.capacity else "",
        )
        for week in load.weeks
        for label, value in ((_("planned"), week.planned), (_("actual"), week.actual))
    ]
    title = _("%(hub)s: load per week, planned and actual (bars), against its capacity of %(capacity)s %(unit)s (tick)") % {
        "hub": load.hub,
        "capacity": number(load.capacity),
        "unit": unit_label,
    }
    return bar_chart(title, bars)


def hub_board_page(request: HttpRequest) -> HttpResponse:
    """Each hub's load per ISO week, planned and actual, against its capacity: a chart and its table per hub."""
    filters = HubBoardFilters(request.GET or None)
    valid = not filters.is_bound or filters.is_valid()
    board = None
    if valid:
        dates = filters.cleaned_data if filters.is_bound else {}
        board = hub_board(request.actor, since=dates.get("since"), until=dates.get("until"))
    hubs = (
        [{"load": load, "unit": CapacityUnit(load.unit).label, "chart": _hub_chart(load)} for load in board.hubs] if board else []
    )
    page = {"title": _("Hub board"), "filters": filters, "board": board, "hubs": hubs}
    return render(request, "logistics/hub_board.html", {"page": page}, status=200 if valid else 400)


COMING_PAGE_SIZE = 50


def coming_page(request: HttpRequest) -> HttpResponse:
    """What is coming: consignments not yet arrived, the late ones first, with their ETA, where they are and what
    they carry."""
    page_of = Paginator(coming(request.actor), COMING_PAGE_SIZE).get_page(request.GET.get("page"))
    page = {"title": _("What is coming"), "rows": coming_rows(page_of.object_list), "page_of": page_of}
    return render(request, "logistics/coming.html", {"page": page})


def certificate_proof(entry) -> dict | None:
    """The handover entry's inclusion proof against the ledger as it is now (signed now), and whether it checks
    here with `core.proofs.check_inclusion` and the ledger's own key: the check a nation makes with the key it pinned."""
    if entry is None:
        return None
    document = signed_inclusion(entry.sequence, ledger_size())
    own_key = checkpoints.public_key_hex(checkpoints.load_or_create_key(settings.DATA_DIR))
    checks = document["leaf_hash"] == entry.leaf_hash and proofs.check_inclusion(document, own_key)
    return {"document": document, "json": json.dumps(document, indent=2), "checks": checks}


def consignment_certificate(request: HttpRequest, pk: int) -> HttpResponse:
    """The handover certificate: what was handed over, to whom, where and when, with the ledger entry that recorded
    it and that entry's inclusion proof, printable on A4."""
    consignment = get_visible(consignments(request.actor), request.actor, pk=pk)
    if consignment.state != ConsignmentState.HANDED_OVER:
        raise Conflict(
            _("%(consignment)s has not been handed over, so it has no handover certificate yet.") % {"consignment": consignment},
            url=consignment.get_absolute_url(),
            record=str(consignment),
        )
    entry = handover_entry(consignment, request.actor)
    page = {
        "title": _("Handover certificate: %(consignment)s") % {"consignment": consignment},
        "consignment": consignment,
        "lines": list(consignment.lines.all()),
        "entry": entry,
        "proof": certificate_proof(entry),
    }
    return render(request, "logistics/certificate.html", {"page": page})
