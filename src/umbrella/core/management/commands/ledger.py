"""umbrella ledger checkpoint [--json] | umbrella ledger verify [--checkpoint FILE | --since FILE] [--json]"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import BaseCommand, CommandError
from django.db import transaction

from umbrella.core.ledger import current_checkpoint
from umbrella.core.verify import verify, verify_since


class Command(BaseCommand):
    help = "Sign a checkpoint of the ledger, or verify the ledger (against a checkpoint you kept)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        checkpoint = actions.add_parser(
            "checkpoint", help="Sign and print a checkpoint (size, root, time). Keep it outside Umbrella."
        )
        checkpoint.add_argument("--json", action="store_true")
        check = actions.add_parser(
            "verify", help="Recompute every entry and the tree, compare with a checkpoint, replay into every table."
        )
        against = check.add_mutually_exclusive_group()
        against.add_argument("--checkpoint", type=Path, help="A checkpoint JSON file saved earlier.")
        against.add_argument(
            "--since",
            type=Path,
            metavar="CHECKPOINT",
            help=(
                "A checkpoint JSON file saved earlier: check only what was appended after it (its entries, the tree "
                "they grow, the rows they touched), in time proportional to that."
            ),
        )
        check.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        if options["action"] == "checkpoint":
            with transaction.atomic():
                signed = current_checkpoint()
            if options["json"]:
                self.stdout.write(json.dumps(signed, indent=2))
            else:
                self.stdout.write(
                    f"Checkpoint: {signed['tree_size']} entries, root {signed['root_hash']}, {signed['timestamp']}."
                )
                self.stdout.write(
                    "Save it with --json to a file you keep; `umbrella ledger verify --checkpoint FILE` checks against it."
                )
            return
        kept = options.get("since") or options.get("checkpoint")
        checkpoint = None
        if kept:
            try:
                checkpoint = json.loads(kept.read_text())
            except (OSError, ValueError) as error:
                raise CommandError(f"Cannot read the checkpoint {kept}: {error}", returncode=2) from None
            if not isinstance(checkpoint, dict):
                raise CommandError(f"The checkpoint {kept} is not a checkpoint's JSON object.", returncode=2)
        report = verify_since(checkpoint) if options.get("since") else verify(checkpoint)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        elif report.ok:
            self.stdout.write(self.style.SUCCESS(self._summary(report)))
        else:
            for problem in report.problems:
                self.stdout.write(f"{problem.kind}: {problem.message}")
        if report.not_checked and not options["json"]:
            self.stdout.write("Not checked by --since: " + "; ".join(report.not_checked) + ".")
        if not report.ok:
            raise CommandError(f"The ledger does not verify: {report.problems[0].message}", returncode=1)

    @staticmethod
    def _summary(report) -> str:
        if report.since is not None:
            return (
                f"Ledger OK since the checkpoint at {report.since}: {report.size - report.since} new entries, "
                f"{report.size} in all, root {report.root}; {report.rows_checked} rows they touched match the ledger."
            )
        return f"Ledger OK: {report.size} entries, root {report.root}; {report.rows_checked} rows match the ledger."
