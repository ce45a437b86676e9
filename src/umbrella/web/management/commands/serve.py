"""umbrella serve: the production WSGI server (gunicorn) on the configured database."""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.management import BaseCommand


class Command(BaseCommand):
    help = "Serve Umbrella with gunicorn (static files are served by the app itself)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, **options):
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "umbrella.wsgi:application",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--threads",
            "4",
            "--access-logfile",
            "-",
        ]
        if settings.TRUSTED_PROXIES:
            # The proxies that Umbrella believes about the client's address also tell gunicorn the scheme
            # (X-Forwarded-Proto), so a request that came over HTTPS is seen as secure.
            command += ["--forwarded-allow-ips", ",".join(str(network) for network in settings.TRUSTED_PROXIES)]
        sys.stdout.flush()
        os.execv(sys.executable, command)
