"""umbrella eum due | inventory | check | register-earlier: end-use monitoring from the command line.

`due` lists every serial delinquent on a day (and, with --within, due soon after it), as the acting user may see
them. `inventory` records an inventory from a file of sightings in one step: every row checked, nothing written
unless all pass (exit 0 written, 1 rows refused, 2 unreadable file or a refused field of the inventory). `check`
recomputes every serial's schedule from the ledgered sightings and rules and reports any row whose kept columns
differ (exit 1), so the columns the reports read are proved, not trusted. `register-earlier`, run once by the
recipient after an upgrade, registers the serials of consignments handed over before end-use monitoring was
installed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from umbrella.catalog.models import ItemType
from umbrella.core.access import OrganizationKind
from umbrella.core.errors import DomainError, Invalid, UnreadableFile
from umbrella.core.tabular import read_table
from umbrella.eum.importers import record_inventory_from_table
from umbrella.eum.models import SightingMethod, Unit
from umbrella.eum.queries import delinquency, due_rows
from umbrella.eum.reads import schedule_differences
from umbrella.eum.services import register_earlier_handovers
from umbrella.orgs.models import Organization
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: give it as year-month-day, such as 2027-03-01.", returncode=2) from None


class Command(BaseCommand):
    help = "End-use monitoring: `due` lists what is due and delinquent on a day; `check` proves the schedule columns."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        due = actions.add_parser("due", help="Serials delinquent on a day, and due within --within days after it.")
        due.add_argument("--as-of", help="The day (YYYY-MM-DD); today when not given.")
        due.add_argument("--donor", help="Only this donor's serials (its organization code).")
        due.add_argument("--within", type=int, default=0, help="Also list serials due within this many days.")
        due.add_argument("--json", action="store_true", help="Print JSON: the totals and every serial listed.")
        add_actor_arguments(due)
        inventory = actions.add_parser(
            "inventory", help="Record an inventory from a CSV or XLSX file of sightings (item_type, serial, …)."
        )
        inventory.add_argument("file", type=Path)
        inventory.add_argument("--on", required=True, help="The day it was conducted (YYYY-MM-DD).")
        inventory.add_argument("--method", required=True, choices=SightingMethod.values)
        inventory.add_argument("--place", help="Where (a place's code, name or alias).")
        inventory.add_argument("--unit", help="Scope: the unit inspected (its code).")
        inventory.add_argument("--item-type", help="Scope: one item type (its code).")
        inventory.add_argument("--donor", help="Scope: one donor's serials (its organization code).")
        inventory.add_argument("--evidence-reference", default="", help="Where a remote inventory's evidence is kept.")
        inventory.add_argument("--evidence-digest", default="", help="The evidence's SHA-256 digest (64 hex digits).")
        inventory.add_argument("--note", default="")
        inventory.add_argument("--dry-run", action="store_true", help="Check every row; write nothing.")
        inventory.add_argument("--json", action="store_true", help="Print the report as JSON.")
        add_actor_arguments(inventory)
        check = actions.add_parser("check", help="Recompute every serial's schedule and compare it with the kept one.")
        check.add_argument("--json", action="store_true")
        earlier = actions.add_parser(
            "register-earlier",
            help="After upgrading: register the serials of consignments handed over before end-use monitoring existed.",
        )
        earlier.add_argument("--json", action="store_true")
        add_actor_arguments(earlier)

    def handle(self, *args, **options):
        if options["action"] == "check":
            return self._check(options)
        if options["action"] == "inventory":
            return self._inventory(options)
        if options["action"] == "register-earlier":
            return self._register_earlier(options)
        actor = actor_from_options(options, required=False)
        as_of = _day(options["as_of"]) if options["as_of"] else timezone.localdate()
        if options["within"] < 0:
            raise CommandError("--within counts days ahead: give 0 or more.", returncode=2)
        rows = list(due_rows(actor, as_of, donor_code=options["donor"], within_days=options["within"]))
        totals = delinquency(actor, as_of, donor_code=options["donor"])
        if options["json"]:
            payload = {
                "as_of": as_of.isoformat(),
                "donor": options["donor"],
                "held": totals.as_dict()["held"],
                "delinquent": sum(row.delinquent for row in rows),
                "due_soon": sum(not row.delinquent for row in rows),
                "serials": [row.as_dict() for row in rows],
            }
            self.stdout.write(json.dumps(payload, indent=2))
            return
        delinquent = [row for row in rows if row.delinquent]
        self.stdout.write(
            f"On {as_of.isoformat()}: {len(delinquent):,} delinquent of {totals.held.count:,} serials held"
            + (f" (donor {options['donor']})" if options["donor"] else "")
        )
        for row in rows:
            state = f"DELINQUENT {row.days_overdue} days" if row.delinquent else "due"
            last = row.last_sighted_on.isoformat() if row.last_sighted_on else "never sighted"
            self.stdout.write(
                f"  {row.item_type} {row.serial}  {row.donor}  {row.holder or '—'}  due {row.due_on.isoformat()}"
                f"  ({last})  {state}"
            )

    def _check(self, options) -> None:
        differences = schedule_differences()
        if options["json"]:
            self.stdout.write(json.dumps({"ok": not differences, "differences": differences}, indent=2))
        elif differences:
            for difference in differences[:50]:
                self.stdout.write(f"serial {difference['id']}: kept {difference['kept']}, recomputed {difference['recomputed']}")
        else:
            self.stdout.write("Every serial's schedule matches its sightings and the rules.")
        if differences:
            raise CommandError(f"{len(differences):,} serial(s) have a schedule that differs.", returncode=1)

    def _register_earlier(self, options) -> None:
        actor = actor_from_options(options, required=True)
        try:
            created = register_earlier_handovers(actor=actor)
        except DomainError as error:
            raise CommandError(error.message, returncode=2) from None
        consignments = len({serial.consignment_id for serial in created})
        if options["json"]:
            self.stdout.write(json.dumps({"serials": len(created), "consignments": consignments}, indent=2))
        else:
            self.stdout.write(f"Registered {len(created):,} serials of {consignments:,} consignments handed over earlier.")

    def _inventory(self, options) -> None:
        actor = actor_from_options(options, required=True)
        path: Path = options["file"]
        try:
            fields = _inventory_fields(actor, options)
            if not path.is_file():
                raise UnreadableFile(_("%(path)s does not exist or is not a file.") % {"path": path})
            with path.open("rb") as stream:
                table = read_table(stream, path.name, max_bytes=settings.IMPORT_FILE_MAX_BYTES)
                inventory, report = record_inventory_from_table(
                    actor=actor, fields=fields, table=table, filename=path.name, dry_run=options["dry_run"]
                )
        except (UnreadableFile, DomainError) as error:
            raise CommandError(str(error) if isinstance(error, Invalid) else error.message, returncode=2) from None
        result = {
            **report.as_dict(),
            "inventory": inventory.pk if inventory else None,
            "expected": inventory.expected_count if inventory else None,
            "sighted": inventory.sighted_count if inventory else None,
            "not_sighted": len(inventory.not_sighted) if inventory else None,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
        else:
            for error in report.errors:
                self.stdout.write(str(error))
            if inventory is not None:
                self.stdout.write(
                    f"Inventory {inventory.pk} recorded: {inventory.sighted_count:,} of {inventory.expected_count:,} "
                    f"expected serials sighted, {len(inventory.not_sighted):,} not sighted."
                )
            elif not report.errors:
                self.stdout.write(f"{report.rows:,} sightings checked (dry run, nothing written).")
        if report.errors:
            raise CommandError(f"{len(report.errors):,} problem(s) in {report.rows:,} row(s); nothing was written.", returncode=1)


def _inventory_fields(actor, options) -> dict:
    """The inventory's own fields from the options, its scope's codes resolved as the actor may see them."""
    fields = {
        "conducted_on": _day(options["on"]),
        "method": options["method"],
        "place": options["place"] or None,
        "evidence_reference": options["evidence_reference"],
        "evidence_digest": options["evidence_digest"],
        "note": options["note"],
    }
    scopes = (
        ("unit", "holder", Unit.objects.visible_to(actor)),
        ("item_type", "item_type", ItemType.objects.visible_to(actor)),
        ("donor", "donor", Organization.objects.filter(kind=OrganizationKind.DONOR)),
    )
    for option, field, candidates in scopes:
        code = options[option]
        if code:
            found = candidates.filter(code__iexact=code).first()
            if found is None:
                raise CommandError(f"No {option.replace('_', ' ')} {code!r} that you can see.", returncode=2)
            fields[field] = found
    return fields
