"""umbrella export KIND --format csv|xlsx -o FILE: what the acting user may see, safe for spreadsheets."""

from __future__ import annotations

from pathlib import Path

from django.core.management import BaseCommand, CommandError

from umbrella.core import exports
from umbrella.core.errors import UnreadableFile
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments


class Command(BaseCommand):
    help = "Export records the acting user may see (without --user: what the public may see)."

    def add_arguments(self, parser):
        parser.add_argument(
            "kind",
            help=f"What to export: {', '.join(sorted(exports.REGISTRY))}; "
            f"or a whole document: {', '.join(sorted(exports.DOCUMENTS))} (--format is ignored).",
        )
        parser.add_argument(
            "--format",
            choices=(*exports.FORMATS, exports.HXL),
            default="csv",
            help="csv, xlsx, or hxl (CSV with HXL hashtags, for kinds that have them).",
        )
        parser.add_argument("-o", "--output", type=Path, required=True, help="File to write ('-' for standard output, CSV only).")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        if options["kind"] in exports.DOCUMENTS:
            return self._document(options)
        try:
            exporter = exports.exporter_for(options["kind"])
        except UnreadableFile as error:
            raise CommandError(error.message, returncode=2) from None
        actor = actor_from_options(options, required=False)
        try:
            content = exports.render(exporter, actor, options["format"])
        except UnreadableFile as error:
            raise CommandError(error.message, returncode=2) from None
        output: Path = options["output"]
        if str(output) == "-":
            if options["format"] == "xlsx":
                raise CommandError("Only CSV can go to standard output.", returncode=2)
            self.stdout.write(content.decode("utf-8-sig"), ending="")
            return
        output.write_bytes(content)
        self.stderr.write(f"Wrote {exporter.kind} to {output} ({len(content):,} bytes) as {actor.label()}.")

    def _document(self, options) -> None:
        _, writer = exports.DOCUMENTS[options["kind"]]
        actor = actor_from_options(options, required=False)
        content = writer(actor)
        output: Path = options["output"]
        if str(output) == "-":
            self.stdout.write(content.decode("utf-8"), ending="")
            return
        output.write_bytes(content)
        self.stderr.write(f"Wrote {options['kind']} to {output} ({len(content):,} bytes) as {actor.label()}.")
