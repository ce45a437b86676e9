"""Consignment pages: the list (late ones flagged) and one consignment with its lines, legs, receipt and handover."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from umbrella.core.access import get_visible
from umbrella.logistics import services
from umbrella.logistics.queries import CONSIGNMENTS, consignments, is_late
from umbrella.ui.pages import DetailPage, history_rows, list_or_export


def consignment_list(request: HttpRequest) -> HttpResponse:
    return list_or_export(
        request, CONSIGNMENTS, consignments(request.actor), title=_("Consignments"), empty=_("No consignments yet.")
    )


def consignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    consignment = get_visible(consignments(request.actor), request.actor, pk=pk)
    page = DetailPage(
        title=str(consignment),
        obj=consignment,
        fields=[
            (_("Donor"), consignment.owner.name),
            (_("State"), consignment.get_state_display()),
            (_("ETA"), consignment.eta or "—"),
            (_("Late"), _("yes") if is_late(consignment) else _("no")),
            (_("Weight (kg)"), consignment.weight_kg if consignment.weight_kg is not None else "—"),
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
        extra={
            "lines": list(consignment.lines.all()),
            "legs": list(consignment.legs.all()),
            "serial_differences": services.serial_differences(consignment),
        },
    )
    return render(request, "logistics/consignment_detail.html", {"page": page})
