"""Imports of inventory sightings, through the core pipeline: `umbrella import sightings FILE --inventory ID`.

Each row is one serial sighted in the open inventory the `inventory` option names: its item type and serial number,
and optionally the state it was seen in, where, and the evidence. Every row goes through `services.sight`, so a
serial not in the registry (or one the inspector may not see: the same words), one recorded as lost or otherwise
no longer held, one handed over after the inventory's day, and one sighted twice are each reported, every problem
of the file at once, and nothing is written unless every row passes. Once they have, the serials' statuses and
schedules follow the sightings (`finish`).

Rows only create sightings and read no row an earlier one wrote (a repeated serial is caught by the set of serials
already seen that the service keeps), so the importer does not declare `rows_read_earlier_rows`: a hundred thousand
rows are written in chunks without a savepoint each."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.core import imports
from umbrella.core.access import Actor, OrganizationKind, Role
from umbrella.core.errors import UnreadableFile
from umbrella.core.imports import Column, ImportContext
from umbrella.core.tabular import Table
from umbrella.eum import services
from umbrella.eum.models import Inventory, SerialStatus, Sighting
from umbrella.places.importers import place_reference


@imports.register
class SightingImporter(imports.Importer):
    kind = "sightings"
    label = gettext_lazy("Inventory sightings (serials seen)")
    # Coordination staff inspect whatever their role (the headquarters' auditors are viewers); the recipient's and
    # the donors' editors inspect too (`services.require_inspector`).
    required_role = Role.VIEWER
    on_import_page = False  # a file of sightings goes into the inventory named by --inventory (or its own page)
    organization_kinds = frozenset({OrganizationKind.COORDINATOR, OrganizationKind.RECIPIENT, OrganizationKind.DONOR})
    example = {
        "item_type": "ATGM-LAUNCHER",
        "serial": "LN-000123",
        "status": "in_service",
        "place": "Kharkiv",
        "evidence_reference": "share://inventories/2026-11/photo-0123.jpg",
    }
    columns = (
        Column("item_type", imports.text(40), help=gettext_lazy("The item type's code")),
        Column("serial", imports.text(80)),
        Column(
            "status",
            imports.choice(SerialStatus),
            required=False,
            default=SerialStatus.IN_SERVICE.value,
            help=gettext_lazy("in_service or under_repair (a loss is reported, not sighted)"),
        ),
        Column("place", place_reference, required=False, help=gettext_lazy("Where it was seen (the inventory's place if empty)")),
        Column("evidence_reference", imports.text(300), required=False),
    )

    def require_role(self, actor: Actor) -> None:
        services.require_inspector(actor)

    def prepare(self, context: ImportContext) -> None:
        reference = str(context.options.get("inventory") or "").strip()
        if not reference:
            raise UnreadableFile(_("Name the open inventory these serials were sighted in (its id)."))
        inventory = Inventory.objects.visible_to(context.actor).filter(pk=int(reference)).first() if reference.isdigit() else None
        if inventory is None:
            raise UnreadableFile(_("No inventory %(reference)s that you can see.") % {"reference": repr(reference)})
        if inventory.closed:
            raise UnreadableFile(_("Inventory %(id)s is closed; open a new one.") % {"id": inventory.pk})
        services.require_inspector_of(context.actor, inventory)
        context.cache["inventory"] = inventory
        context.cache["finder"] = services.SerialFinder(context.actor, inventory)
        context.cache["seen"] = set(
            Sighting.objects.visible_to(context.actor).filter(inventory=inventory).values_list("serial_id", flat=True)
        )

    def write(self, values: dict[str, Any], context: ImportContext) -> Sighting:
        item_code, number = values["item_type"].strip(), values["serial"].strip()
        return services.sight(
            actor=context.actor,
            inventory=context.cache["inventory"],
            serial=context.cache["finder"].find(item_code, number),
            reference=f"{item_code} {number}",
            status=values.get("status", SerialStatus.IN_SERVICE),
            place=values.get("place"),
            evidence_reference=values.get("evidence_reference", ""),
            seen=context.cache["seen"],
        )

    def finish(self, context: ImportContext) -> None:
        services.finish_sightings(context.actor, context.cache["inventory"])


def record_inventory_from_table(
    *,
    actor: Actor,
    fields: dict[str, Any],
    table: Table,
    filename: str,
    dry_run: bool = False,
    progress: imports.Progress | None = None,
) -> tuple[Inventory | None, imports.ImportReport]:
    """An inventory in one step from a file of sightings: opened with `fields`, every row imported as above, then
    closed (what it expected and did not sight kept as not sighted). All or nothing: with any row refused, or on a
    dry run, nothing is written, the inventory included. The inventory's own fields are refused first (Invalid)."""
    with transaction.atomic():
        inventory = services.open_inventory(actor=actor, fields=fields)
        report = imports.run_import(
            imports.importer_for(SightingImporter.kind),
            actor=actor,
            table=table,
            filename=filename,
            dry_run=dry_run,
            options={"inventory": inventory.pk},
            progress=progress,
        )
        if not report.written:
            transaction.set_rollback(True)
            return None, report
        inventory.refresh_from_db()
        return services.close_inventory(actor=actor, inventory_id=inventory.pk, expected_version=inventory.version), report
