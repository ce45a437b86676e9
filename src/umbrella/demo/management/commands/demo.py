"""umbrella demo: migrate, load the demo scenario (once), print the sign-ins, and serve it."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management import BaseCommand, call_command
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from umbrella.demo import scenario
from umbrella.demo.personas import DEMO_PASSWORD, PERSONAS


class Command(BaseCommand):
    help = "Load the realistic demo scenario into the configured database and serve it on http://127.0.0.1:8000."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="Only migrate and load.")
        parser.add_argument("--scale", type=float, default=1.0, help="Multiply the numbers of requirements and pledges.")
        parser.add_argument("--seed", type=int, default=2026, help="Seed of the generator (same seed, same data).")
        parser.add_argument("--bind", default="127.0.0.1:8000", help="Address to serve on.")

    def handle(self, *args, **options):
        self.stdout.write("Preparing the database…")
        call_command("migrate", verbosity=0, interactive=False)
        if scenario.is_loaded():
            self.stdout.write("The demo scenario is already loaded; keeping it.")
        else:
            self._load(options["scale"], options["seed"])
        self._print_sign_ins(options["bind"])
        if not options["no_serve"]:
            call_command("serve", bind=options["bind"])

    def _load(self, scale: float, seed: int) -> None:
        started = time.monotonic()
        console = Console(stderr=True)
        with Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        ) as bar:
            tasks: dict[str, int] = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            summary = scenario.load(scale=scale, seed=seed, report=report)
        self.stdout.write(
            f"Loaded in {time.monotonic() - started:.0f} s: {summary.organizations} organizations, "
            f"{summary.places} places, {summary.item_types} item types, {summary.compatibilities} compatibility links, "
            f"{summary.requirements} requirements, {summary.pledges} pledges with {summary.sources} sources "
            f"({summary.aid_packages} aid package as announced), "
            f"{summary.match_runs} match runs, {summary.allocations} approved allocations, {summary.consignments} consignments, "
            f"{summary.serials} serial-tracked items in end-use monitoring, {summary.funding} funding rows, "
            f"{summary.package_rules} package rules and {summary.courses} courses with {summary.nominations} trainees."
        )

    def _print_sign_ins(self, bind: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"\nUmbrella demo: http://{bind}/"))
        self.stdout.write(f"Sign in with any of these (password: {DEMO_PASSWORD}):")
        for persona in PERSONAS:
            self.stdout.write(f"  {persona.username:<14} {persona.description}")
        self.stdout.write("  <iso3>-liaison  the liaison officer of any donor nation, e.g. usa-liaison, fra-liaison\n")
        if not settings.SECURE_COOKIES:
            self.stdout.write(
                self.style.WARNING(
                    "Session and CSRF cookies are sent over plain HTTP for this demo (UMBRELLA_SECURE_COOKIES=false). "
                    "Serve real data with `umbrella serve` behind HTTPS, which keeps them Secure.\n"
                )
            )
