"""umbrella serve: the production WSGI server (gunicorn) on the configured database."""

from __future__ import annotations

import os
import sys

from django.core.management import BaseCommand


class Command(BaseCommand):
    help = "Serve Umbrella with gunicorn (static files are served by the app itself)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, **options):
        command = [
            sys.executable, "-m", "gunicorn", "umbrella.wsgi:application",
            "--bind", options["bind"], "--workers", str(options["workers"]), "--threads", "4",
            "--access-logfile", "-",
        ]
        sys.stdout.flush()
        os.execv(sys.executable, command)
