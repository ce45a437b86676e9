"""umbrella serve: the production WSGI server (gunicorn) on the configured database."""

from __future__ import annotations

import argparse
import os
import sys

from django.conf import settings
from django.core.management import BaseCommand

DEFAULT_BIND = "127.0.0.1:8000"


def port_number(text: str) -> int:
    """A TCP port given as `--port N`: a whole number from 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give a number from 1 to 65535, such as 8123.")
    return port


def bind_of(options: dict) -> str:
    """Where to serve: `--port N` is 127.0.0.1:N, else `--bind` (a caller such as `umbrella demo` gives only bind)."""
    return f"127.0.0.1:{options['port']}" if options.get("port") is not None else options.get("bind") or DEFAULT_BIND


class Command(BaseCommand):
    help = "Serve Umbrella with gunicorn (static files are served by the app itself)."

    def add_arguments(self, parser):
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            "--bind",
            default=DEFAULT_BIND,
            metavar="HOST:PORT",
            help=f"Address and port to serve on; default {DEFAULT_BIND} (this machine only).",
        )
        where.add_argument(
            "--port",
            type=port_number,
            metavar="N",
            help="Serve on 127.0.0.1:N, this machine only (short for --bind 127.0.0.1:N).",
        )
        parser.add_argument(
            "--workers", type=int, default=2, metavar="N", help="Gunicorn worker processes, 4 threads each; default 2."
        )

    def handle(self, *args, **options):
        options["bind"] = bind_of(options)
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
