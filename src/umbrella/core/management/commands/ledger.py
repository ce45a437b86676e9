"""umbrella ledger checkpoint [--json] | umbrella ledger verify [--checkpoint FILE | --since FILE] [--json]"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from umbrella.core import checkpoints
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
        checkpoint = self._trusted_checkpoint(kept) if kept else None
        report = verify_since(checkpoint) if options.get("since") else verify(checkpoint)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        elif report.ok:
            self.stdout.write(self.style.SUCCESS(self._summary(report, checkpoint)))
        else:
            for problem in report.problems:
                self.stdout.write(f"{problem.kind}: {problem.message}")
        if report.not_checked and not options["json"]:
            self.stdout.write("Not checked by --since: " + "; ".join(report.not_checked) + ".")
        if not report.ok:
            raise CommandError(f"The ledger does not verify: {report.problems[0].message}", returncode=1)

    @staticmethod
    def _trusted_checkpoint(path: Path) -> dict:
        """The checkpoint in `path`, once it is shown to be one this ledger's key signed as it stands. A file that
        is not one, or whose signature fails, is reported as the file's fault (exit 2): the ledger is not checked
        against it, so that its failure is never blamed on the ledger."""
        try:
            text = path.read_text()
        except OSError as error:
            message = _("Cannot read the checkpoint %(file)s: %(error)s") % {"file": path, "error": error}
            raise CommandError(message, returncode=2) from None
        try:
            checkpoint = json.loads(text)
        except ValueError as error:
            problems = [_("it is not JSON (%(error)s)") % {"error": error}]
        else:
            problems = checkpoints.checkpoint_problems(checkpoint)
        if problems:
            raise CommandError(
                _("%(file)s is not a checkpoint: %(problems)s.") % {"file": path, "problems": "; ".join(problems)}, returncode=2
            )
        own_key = checkpoints.public_key_hex(checkpoints.load_or_create_key(settings.DATA_DIR))
        if checkpoint["public_key"] != own_key:
            raise CommandError(
                _(
                    "%(file)s was not signed by this ledger's key (it names the key %(theirs)s; this ledger's is %(ours)s): "
                    "it is a checkpoint of another ledger, or forged. The file is suspect, not the ledger, which was not checked."
                )
                % {"file": path, "theirs": checkpoint["public_key"], "ours": own_key},
                returncode=2,
            )
        if not checkpoints.verify_signature(checkpoint, own_key):
            raise CommandError(
                _(
                    "%(file)s does not match its signature: it was edited after it was signed, or forged. The file is "
                    "suspect, not the ledger, which was not checked."
                )
                % {"file": path},
                returncode=2,
            )
        return checkpoint

    @staticmethod
    def _summary(report, checkpoint: dict | None) -> str:
        if report.since is not None:
            return (
                f"Ledger OK since the checkpoint at {report.since}: {report.size - report.since} new entries, "
                f"{report.size} in all, root {report.root}; {report.rows_checked} rows they touched match the ledger."
            )
        summary = f"Ledger OK: {report.size} entries, root {report.root}; {report.rows_checked} rows match the ledger."
        if checkpoint is None:
            return summary
        return (
            summary
            + " "
            + _("It extends your checkpoint of %(size)s entries signed %(moment)s.")
            % {
                "size": f"{checkpoint['tree_size']:,}",
                "moment": checkpoint["timestamp"],
            }
        )
