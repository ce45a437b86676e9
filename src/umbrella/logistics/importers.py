"""Imports of manifests, through the core pipeline (their export: exports.py).

A manifest adds lines, with their serials and lots, to planned consignments, and updates the lines it names. Each
row names its consignment (`consignment`: its reference, or its id), what it ships (`allocation`, or `pledge` when
that pledge has one active allocation) and how many units (`quantity`; left empty, the number of serials). A
serial-tracked item needs one serial per unit: one row per serial, as the export writes, or several serials in one
cell separated by ";", "," or line breaks.

Which line a row is of: the `id` the export writes first (the line's id) names that line when it is a line of the
consignment the row names, and then the rows with that id give the line's whole content; otherwise (no id, or the
id of a line elsewhere: a manifest of a cancelled consignment planned again) the row is of a new line, rows with
the same `line` number making one line and rows without one making one line per allocation.

Rows are only checked as they come (`services.ManifestDraft`, against what is recorded and what earlier rows gave);
`finish` writes each line once, after every row passed, so a line of n serials costs n checks and one ledger
entry, not n rewrites of a growing line."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.core import imports
from umbrella.core.access import DONOR_KINDS, Actor, OrganizationKind
from umbrella.core.errors import DomainError, Invalid, UnreadableFile
from umbrella.core.exports import FORMULA_STARTS
from umbrella.core.imports import Column, ImportContext
from umbrella.logistics import services
from umbrella.logistics.models import Consignment, ConsignmentLine, ConsignmentState
from umbrella.logistics.queries import final_destination
from umbrella.matching.models import Allocation, AllocationState

LIST_SEPARATORS = re.compile(r"[;,\n\r]+")


def split_list(cell: str, context: ImportContext | None = None) -> list[str]:
    """The serials or lots in one cell, separated by ";", "," or line breaks. The apostrophe an export puts before
    a value a spreadsheet would run as a formula (a serial "-0042") is taken off again, so a manifest round-trips."""
    parts = [part.strip() for part in LIST_SEPARATORS.split(cell) if part.strip()]
    return [part[1:] if part.startswith("'") and part[1:].startswith(FORMULA_STARTS) else part for part in parts]


@imports.register
class ManifestImporter(imports.Importer):
    kind = "manifest"
    label = gettext_lazy("Consignment manifest (lines and serials)")
    organization_kinds = DONOR_KINDS | {OrganizationKind.COORDINATOR}
    example = {
        "consignment": "CN-2026-014",
        "line": "1",
        "allocation": "42",
        "item_type": "AD-LAUNCHER",
        "serials": "LN-000123",
        "quantity": "1",
    }
    columns = (
        Column(
            "id",
            imports.integer(minimum=1),
            required=False,
            help=gettext_lazy("The line's id, as the export writes it: that line of the consignment is updated"),
        ),
        Column("consignment", imports.text(80), help=gettext_lazy("The planned consignment's reference, or its id")),
        Column("line", imports.integer(minimum=1), required=False, help=gettext_lazy("Rows with the same number make one line")),
        Column("allocation", imports.integer(minimum=1), required=False),
        Column("pledge", imports.integer(minimum=1), required=False, help=gettext_lazy("Instead of the allocation")),
        Column("item_type", imports.text(40), required=False, help=gettext_lazy("Checked against the allocation's")),
        Column("serials", split_list, required=False),
        Column("lots", split_list, required=False),
        Column("quantity", imports.integer(minimum=1), required=False),
    )
    export_only_columns = ("item_name",)

    def write(self, values: dict[str, Any], context: ImportContext) -> ConsignmentLine:
        # Everything the row itself shows is checked before the draft sees it, so a row reports all at once.
        draft = self._draft(context)
        consignment = self._consignment(values["consignment"], context)
        allocation, problems = self._allocation(values, context)
        if isinstance(consignment, str):
            problems["consignment"] = [consignment]
        serials, lots = values.get("serials", []), values.get("lots", [])
        quantity = values.get("quantity", len(serials) or None)
        if quantity is None:
            problems["quantity"] = [_("Give the number of units, or the serial number of each.")]
        repeated = self._repeated_in_file(values, allocation, serials, context)
        if problems or allocation is None or isinstance(consignment, str):
            raise Invalid({**problems, **repeated})
        line = draft.recorded_line(consignment, values["id"]) if "id" in values else None
        group = ("line", values["line"]) if "line" in values else ("allocation", allocation.pk)
        try:
            drafted = draft.add_row(
                key=services.manifest_key(line, consignment, group),
                consignment=consignment,
                allocation=allocation,
                line=line,
                quantity=quantity,
                serials=serials,
                lots=lots,
            )
        except Invalid as error:
            raise Invalid({**error.field_errors, **repeated}) from None
        if repeated:
            raise Invalid(repeated)
        return drafted.shown

    def warnings(self, record: ConsignmentLine, context: ImportContext) -> list[tuple[str, str]]:
        """Once per consignment and allocation of the file: the consignment ends outside the destination of the
        requirement the allocation is for (a warning; the row is written all the same)."""
        key = ("manifest-destination-warned", record.consignment_id, record.allocation_id)
        if key in context.cache:
            return []
        context.cache[key] = True
        ends = ("manifest-final-destination", record.consignment_id)
        if ends not in context.cache:
            context.cache[ends] = final_destination(record.consignment)
        destination, wanted = context.cache[ends], record.allocation.requirement.destination
        if destination is None or destination.within(wanted):
            return []
        message = _(
            "Allocation %(allocation)s is for a requirement whose destination is %(wanted)s, but %(reference)s ends at "
            "%(destination)s, which is not within it."
        ) % {
            "allocation": record.allocation_id,
            "wanted": str(wanted),
            "reference": record.consignment.reference,
            "destination": str(destination),
        }
        return [("consignment", message)]

    def finish(self, context: ImportContext) -> None:
        """Write each line once. Every row passed, so a refusal here means the consignments or allocations changed
        between the check and the write (someone else's import or step): the whole file is refused, with why, as a
        file that cannot be taken as it is (the pipeline rolls everything back; the page and the command say so)."""
        try:
            services.write_manifest(actor=context.actor, draft=self._draft(context))
        except DomainError as refusal:
            raise UnreadableFile(
                _("The consignments changed while the manifest was checked (%(problem)s); nothing was written. Import it again.")
                % {"problem": str(refusal)}
            ) from None

    def _draft(self, context: ImportContext) -> services.ManifestDraft:
        if "manifest-draft" not in context.cache:
            context.cache["manifest-draft"] = services.ManifestDraft(context.actor)
        return context.cache["manifest-draft"]

    def _consignment(self, reference: str, context: ImportContext) -> Consignment | str:
        """The consignment a row names (a planned one with that reference, else one with that reference or id), or
        why there is none."""
        key = ("manifest-consignment", reference)
        if key not in context.cache:
            context.cache[key] = _find_consignment(context.actor, reference)
        return context.cache[key]

    def _allocation(self, values: dict[str, Any], context: ImportContext) -> tuple[Allocation | None, dict[str, list[str]]]:
        """The allocation a row ships, by its id or its pledge's (with one active allocation), and whether the
        item type the row names is the allocation's. Looked up once per file: the rows of a line all name it."""
        key = ("manifest-allocation", values.get("allocation"), values.get("pledge"))
        if key not in context.cache:
            context.cache[key] = self._find_allocation(values, context)
        allocation, found = context.cache[key]
        problems = {column: list(messages) for column, messages in found.items()}
        if allocation is None:
            return None, problems
        code = values.get("item_type")
        if code and code.upper() != allocation.pledge.item_type.code.upper():
            problems["item_type"] = [
                _("Allocation %(allocation)s ships %(code)s, not %(given)s.")
                % {"allocation": allocation.pk, "code": allocation.pledge.item_type.code, "given": code}
            ]
        return allocation, problems

    def _find_allocation(self, values: dict[str, Any], context: ImportContext) -> tuple[Allocation | None, dict[str, list[str]]]:
        visible = Allocation.objects.visible_to(context.actor).select_related("pledge__item_type", "requirement__destination")
        problems: dict[str, list[str]] = {}
        if "allocation" in values:
            allocation = visible.filter(pk=values["allocation"]).first()
            if allocation is None:
                return None, {"allocation": [_("No allocation %(id)s that you can see.") % {"id": values["allocation"]}]}
            if "pledge" in values and allocation.pledge_id != values["pledge"]:
                problems["pledge"] = [
                    _("Allocation %(allocation)s ships pledge %(pledge)s.")
                    % {"allocation": allocation.pk, "pledge": allocation.pledge_id}
                ]
        elif "pledge" in values:
            active = list(visible.filter(pledge_id=values["pledge"], state=AllocationState.ACTIVE).order_by("id")[:10])
            if len(active) != 1:
                message = (
                    _("Pledge %(pledge)s has no active allocation that you can see.")
                    if not active
                    else _("Pledge %(pledge)s has several active allocations (%(ids)s): name one in the allocation column.")
                )
                return None, {"pledge": [message % {"pledge": values["pledge"], "ids": ", ".join(str(a.pk) for a in active)}]}
            allocation = active[0]
        else:
            return None, {"allocation": [_("Name the allocation, or the pledge.")]}
        return allocation, problems

    def _repeated_in_file(
        self, values: dict[str, Any], allocation: Allocation | None, serials: list[str], context: ImportContext
    ) -> dict[str, list[str]]:
        """Serials an earlier row of this file gave (whether or not that row was valid), then remember this row's."""
        seen: dict[str, str] = context.cache.setdefault("manifest-serials", {})
        repeated = sorted({serial for serial in serials if serial in seen})
        if "line" in values:
            where = _("line %(line)s of %(consignment)s") % {"line": values["line"], "consignment": values["consignment"]}
        else:
            where = _("allocation %(allocation)s on %(consignment)s") % {
                "allocation": allocation.pk if allocation is not None else values.get("allocation", "—"),
                "consignment": values["consignment"],
            }
        for serial in serials:
            seen.setdefault(serial, where)
        if not repeated:
            return {}
        earlier = "; ".join(f"{serial} ({seen[serial]})" for serial in repeated)
        return {"serials": [_("Serial numbers given earlier in this file: %(serials)s.") % {"serials": earlier}]}


def _find_consignment(actor: Actor, reference: str) -> Consignment | str:
    """A consignment the actor may see, or why there is none to add to (a message for the consignment column)."""
    visible = Consignment.objects.visible_to(actor).select_related("owner")
    named = list(visible.filter(reference=reference).order_by("id")[:20])
    planned = [consignment for consignment in named if consignment.state == ConsignmentState.PLANNED]
    if len(planned) > 1:
        return _("Several planned consignments are called %(reference)s (ids %(ids)s): give the id.") % {
            "reference": reference,
            "ids": ", ".join(str(consignment.pk) for consignment in planned),
        }
    if planned or named:
        return (planned or named)[0]
    if reference.isdigit():
        by_id = visible.filter(pk=int(reference)).first()
        if by_id is not None:
            return by_id
    return _("No consignment %(reference)s that you can see; plan it first.") % {"reference": reference}
