"""umbrella export KIND --format csv|xlsx -o FILE: what the acting user may see, safe for spreadsheets."""

from __future__ import annotations

from pathlib import Path

from django.core.management import BaseCommand, CommandError

from umbrella.core import exports
from umbrella.core.errors import UnreadableFile
from umbrella.web.cli_support import actor_from_options, add_actor_arguments


class Command(BaseCommand):
    help = "Export records the acting user may see (without --user: what the public may see)."

    def add_arguments(self, parser):
        parser.add_argument("kind", help=f"What to export: {', '.join(sorted(exports.REGISTRY))}.")
        parser.add_argument("--format", choices=exports.FORMATS, default="csv")
        parser.add_argument("-o", "--output", type=Path, required=True, help="File to write ('-' for standard output, CSV only).")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        try:
            exporter = exports.exporter_for(options["kind"])
        except UnreadableFile as error:
            raise CommandError(error.message, returncode=2) from None
        actor = actor_from_options(options, required=False)
        content = exports.render(exporter, actor, options["format"])
        output: Path = options["output"]
        if str(output) == "-":
            if options["format"] != "csv":
                raise CommandError("Only CSV can go to standard output.", returncode=2)
            self.stdout.write(content.decode("utf-8-sig"), ending="")
            return
        output.write_bytes(content)
        self.stderr.write(f"Wrote {exporter.kind} to {output} ({len(content):,} bytes) as {actor.label()}.")
