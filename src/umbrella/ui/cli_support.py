"""What the management commands share: the acting user and progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.management import CommandError
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from umbrella.core.access import Actor
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import actor_for


def add_actor_arguments(parser) -> None:
    parser.add_argument("--user", help="Act as this user (their membership decides what they may do).")
    parser.add_argument("--organization", help="The organization code to act for, when the user has several.")


def actor_from_options(options, *, required: bool) -> Actor:
    username = options.get("user")
    if not username:
        if required:
            raise CommandError("Name the user to act as with --user USERNAME.", returncode=2)
        return Actor.anonymous()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user {username!r}.", returncode=2)
    organization_id = None
    if options.get("organization"):
        organization = Organization.objects.filter(code=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization with code {options['organization']!r}.", returncode=2)
        organization_id = organization.pk
    actor = actor_for(user, organization_id, request_id=f"cli-{'-'.join(sys.argv[1:3])}"[:64])
    if organization_id is not None and (actor.organization is None or actor.organization.pk != organization_id):
        raise CommandError(f"{username} is not a member of {options['organization']}.", returncode=2)
    return actor


class _CountColumn(ProgressColumn):
    """Done of total when the total is known ("1,200/5,000"), else what is done so far ("1,200 rows")."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text(f"{int(task.completed):,} {self.unit}")
        about = "about " if task.fields.get("estimated") and not task.finished else ""
        return Text(f"{int(task.completed):,} of {about}{int(task.total):,} {self.unit}")


class _RateColumn(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else "")


@contextmanager
def progress_bar(description: str, *, enabled: bool, unit: str = "rows", share_read: Callable[[], float] | None = None):
    """Yields a callback(done, total or None); draws a bar with the rate on stderr when enabled and stderr is
    a terminal, and nothing otherwise (piped, or a --json run), so what others parse stays clean. A count with
    no total (rows of a file read as it goes) gets one estimated from `share_read()`, the part of the file
    read so far, so the bar shows how far along it is and how long is left."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        _CountColumn(unit),
        _RateColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=None, estimated=share_read is not None)

        def update(done: int, total: int | None) -> None:
            if total is None and share_read is not None and (share := share_read()) > 0:
                total = max(done, round(done / share))
            bar.update(task, completed=done, total=total)

        yield update
