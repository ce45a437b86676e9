import json

from django.core.management import BaseCommand, CommandError

from umbrella.core.errors import DomainError
from umbrella.matching import services
from umbrella.matching.queries import summarize
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments, progress_bar

STAGES = 5


class Command(BaseCommand):
    help = (
        "Match the approved requirement list against the accepted pledges and store the run for review "
        "(approve it in the pages, or with --approve)."
    )

    def add_arguments(self, parser):
        add_actor_arguments(parser)
        parser.add_argument("--list", type=int, dest="list_id", help="Requirement list id (default: the latest approved).")
        parser.add_argument(
            "--replan",
            action="store_true",
            help="Plan again the approved allocations of pledges not yet shipped (default: keep them).",
        )
        parser.add_argument(
            "--diversity",
            type=float,
            default=0.0,
            metavar="POINTS",
            help="Points given up per extra type of crew-served system in one capability area at one destination "
            "(each priority-3 unit delivered is worth 100); turns the model into a MIP.",
        )
        parser.add_argument(
            "--complete-packages",
            action="store_true",
            help="Also value deliveries that complete a package at a destination: munitions where the launchers "
            "that fire them are or are proposed, launchers where their munitions are (see docs/matching.md).",
        )
        parser.add_argument("--approve", action="store_true", help="Approve every proposal at once (approver role).")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=True)
        done = 0
        try:
            with progress_bar("Matching", enabled=not options["no_progress"]) as update:

                def stage(description: str) -> None:
                    nonlocal done
                    done += 1
                    update(done, STAGES)

                run = services.run_match(
                    actor=actor,
                    list_id=options["list_id"],
                    keep_approved=not options["replan"],
                    diversity_points=options["diversity"],
                    complete_packages=options["complete_packages"],
                    progress=stage,
                )
            if options["approve"]:
                services.approve_proposals(actor=actor, run_id=run.pk, expected_version=run.version)
                run.refresh_from_db()
        except DomainError as error:
            raise CommandError(error.message, returncode=2) from None
        summary = summarize(run, actor)
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_json(), indent=2, default=str))
            return
        self._print(summary)

    def _print(self, summary):
        run, stats = summary.run, summary.run.statistics
        write = self.stdout.write
        write(f"Match run {run.pk} on {run.requirement_list} — {run.get_state_display()}")
        write(
            f"  {stats['requirements']} requirements, {stats['pledges']} pledges with something left, "
            f"{stats['candidate_arcs']:,} candidate arcs ({stats['useful_arcs']:,} worth using), "
            f"{stats['components']:,} independent components"
        )
        available = stats["points_available"] or 1.0
        write(
            f"  coverage points {run.objective:,.1f} of {available:,.1f} ({100 * run.objective / available:.1f} %); "
            f"greedy baseline {stats['greedy_points']:,.1f}"
        )
        write(
            f"  objective with preferences (lateness, substitutes, diversity) {stats['objective']:,.3f}; "
            f"greedy {stats['greedy_objective']:,.3f}"
        )
        write(f"  seconds: read {stats['seconds']['read']}, build {stats['seconds']['build']}, solve {stats['seconds']['solve']}")
        write("  priority   met  partly  unmet  coverage")
        for priority, cell in summary.by_priority.items():
            write(f"  P{priority}       {cell.met:>5} {cell.partly_met:>7} {cell.unmet:>6}  {cell.percent:6.1f} %")
        write(f"  proposals: {summary.changes}")
        for item in summary.unmet[:10]:
            write(f"  {item['status_label']:>10}  {item['label']}: {item['reason_text']}")
        if summary.unmet_total > 10:
            write(f"  … and {summary.unmet_total - 10} more (see the run's page or --json)")
        packages = "valued (--complete-packages)" if run.complete_packages else "not valued"
        write(f"  incomplete packages: {summary.incomplete_packages_total} (complete packages {packages})")
        for package in summary.incomplete_packages[:10]:
            write(
                f"  {package['item_name']} at {package['destination_name']} lacks {package['missing_label']}: "
                f"{package['reason_text']}"
            )
        if summary.incomplete_packages_total > 10:
            write(f"  … and {summary.incomplete_packages_total - 10} more (see the run's page or --json)")
        made = run.created_at.date().isoformat()
        for suggestion in run.suggestions[:5]:
            by = suggestion["available_by"]
            when = f"as soon as possible (needed since {by})" if by < made else f"by {by}"
            write(
                f"  would help most: {suggestion['quantity']:g} × {suggestion['item_name']} {when} "
                f"(+{suggestion['points']:,.1f} points)"
            )
