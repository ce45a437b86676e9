"""umbrella import KIND FILE [--dry-run]: exit 0 written, 1 row errors (nothing written), 2 unreadable file,
75 database busy or disk full (nothing written; run it again later).

`umbrella import kiel DIR` reads a Kiel Ukraine Support Tracker release folder instead of one file."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.utils.translation import gettext as _

from umbrella.core import imports
from umbrella.core.errors import DomainError, ImportRejected, UnreadableFile
from umbrella.core.tabular import read_table
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments, progress_bar


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX file. Every row is checked; nothing is written unless every row is valid. "
        "Exits 0 written, 1 rows have problems, 2 unreadable file, 75 database busy or disk full (run it again later)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "kind",
            help=f"What the file holds: {', '.join(sorted(imports.REGISTRY))}; or kiel, with a tracker release folder as FILE.",
        )
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check and preview; write nothing.")
        parser.add_argument("--list", help="requirements: the draft list to import into (id or series).")
        parser.add_argument("--inventory", help="sightings: the open inventory the serials were sighted in (its id).")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        if options["kind"] == "kiel":
            return self._kiel(options)
        try:
            importer = imports.importer_for(options["kind"])
            actor = actor_from_options(options, required=True)
            importer.require_role(actor)
            path: Path = options["file"]
            if not path.is_file():
                raise UnreadableFile(_("%(path)s does not exist or is not a file.") % {"path": path})
            size = max(1, path.stat().st_size)
            verb = "Checking" if options["dry_run"] else "Importing"
            with (
                path.open("rb") as stream,
                progress_bar(
                    f"{verb} {importer.kind}", enabled=not options["json"], share_read=lambda: stream.tell() / size
                ) as progress,
            ):
                report = imports.run_import(
                    importer,
                    actor=actor,
                    table=read_table(stream, path.name, max_bytes=settings.IMPORT_FILE_MAX_BYTES),
                    filename=path.name,
                    dry_run=options["dry_run"],
                    options={"list": options.get("list"), "inventory": options.get("inventory")},
                    progress=progress,
                )
        except UnreadableFile as error:
            raise CommandError(error.message, returncode=2) from None
        except DomainError as error:
            raise CommandError(error.message, returncode=2) from None
        self._print(report, as_json=options["json"])
        if report.errors:
            raise CommandError(f"{len(report.errors):,} problem(s) in {report.rows:,} row(s); nothing was written.", returncode=1)

    def _kiel(self, options) -> None:
        from umbrella.tracker.services import import_kiel_release

        folder: Path = options["file"]
        try:
            if not folder.is_dir():
                raise UnreadableFile(
                    _("%(path)s is not a folder; give the folder of the tracker's release files.") % {"path": folder}
                )
            actor = actor_from_options(options, required=True)
            release, parsed = import_kiel_release(actor=actor, folder=folder, dry_run=options["dry_run"])
        except ImportRejected as error:
            for problem in error.row_errors:
                self.stdout.write(str(problem))
            raise CommandError(error.message, returncode=1) from None
        except DomainError as error:
            raise CommandError(error.message, returncode=2) from None
        summary = {
            "release": parsed.release,
            "label": parsed.label,
            "monthly_allocations": len(parsed.allocations),
            "weapons_rows": len(parsed.weapons),
            "military_sources_months": len(parsed.procurement),
            "all_donors_months": len(parsed.all_donors),
            "dry_run": options["dry_run"],
            "file_digests": parsed.file_digests,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            verb = "checked (dry run, nothing written)" if options["dry_run"] else "imported"
            self.stdout.write(
                self.style.SUCCESS(
                    f"{parsed.label}: {len(parsed.allocations)} monthly allocations and "
                    f"{len(parsed.weapons)} heavy-weapons rows, {len(parsed.procurement)} months of military aid "
                    f"by source and {len(parsed.all_donors)} months of all donors' allocations {verb}."
                )
            )

    def _print(self, report: imports.ImportReport, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
            return
        for error in report.errors:
            self.stdout.write(str(error))
        if report.errors:
            return
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {warning}"))
        verb = "checked (dry run, nothing written)" if report.dry_run else "imported"
        self.stdout.write(self.style.SUCCESS(f"{report.rows:,} {report.kind} row(s) {verb}."))
