"""The `umbrella` command (also `python -m umbrella`): Django's management commands under one name.

umbrella demo [--no-serve] [--scale N]     load the demo scenario and serve it
umbrella serve [--bind HOST:PORT | --port N]  serve with gunicorn (default 127.0.0.1:8000)
umbrella migrate                           create or update the database
umbrella import KIND FILE [--dry-run]      import item-types, compatibilities, requirements, pledges, funding, …
umbrella export KIND --format csv|xlsx -o FILE
umbrella stats [--json]                    counts per entity
umbrella ledger checkpoint|verify          a signed checkpoint; prove the ledger and every table agree
umbrella token create|list|revoke          API tokens
umbrella match --user NAME [--approve]     match the approved list against accepted pledges
umbrella match-file PROBLEM.json [--json]  solve a standalone matching problem (no database)
umbrella fair-share --year YEAR            each donor's share of the floor, counted and gap
umbrella fair-share-year --year YEAR       set a year's floor, participants and counting rules
umbrella fair-share-publish --year YEAR --reason R  publish the year's fair-share statement
umbrella hub-board [--since D] [--until D]  each hub's load per week against capacity
umbrella eum due [--as-of D] [--json]      serials delinquent on a day (end-use monitoring); eum check
umbrella readiness --user NAME [--destination P] [--as-of D] [--json]  package completeness per destination and system
umbrella training gaps --user NAME [--json]  crews late for their systems, course seat gaps by month
umbrella scenario --donors CODES --date D  a donor-withdrawal what-if
umbrella report allocations --by donor|year  tracker allocations per donor (EUR, % of GDP)
umbrella catalog check-kiel DIR [--json]   does every system a Kiel tracker release names map to an item type
umbrella settings                          every setting with its help text
umbrella user create|password|flags        accounts, passwords, flags
umbrella createsuperuser                   an account for the admin pages (umbrella user create --superuser)
umbrella changepassword USERNAME           a new password (umbrella user password)
"""

from __future__ import annotations

import os
import signal
import sys

# Django's own account commands save users outside the services, unrecorded; these are Umbrella's, ledgered.
ACCOUNT_COMMANDS = {"createsuperuser": ["user", "create", "--superuser"], "changepassword": ["user", "password"]}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "match-file":
        from umbrella.matching.problem_file import main as match_file

        return match_file(args[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "umbrella.settings")
    if args and args[0] in ACCOUNT_COMMANDS:
        args = [*ACCOUNT_COMMANDS[args[0]], *args[1:]]
    if args and args[0] == "demo":
        # The demo is served over plain HTTP on the loopback address, where some browsers never send a
        # Secure cookie back; only the demo, which says so when it serves, gives up Secure cookies.
        os.environ.setdefault("UMBRELLA_SECURE_COOKIES", "false")
    if not args or args[0] in ("-h", "--help", "help"):
        print(__doc__)
        if not args:
            return 0
    from umbrella.config import ConfigurationError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["umbrella", *args])
    except ConfigurationError as error:
        print(f"umbrella: configuration error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader stopped reading (`umbrella … | head`): end quietly, as other tools do, with the status a
        # shell gives a command ended by SIGPIPE; the output still buffered goes nowhere instead of failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except Exception as error:
        from umbrella.core.database import EX_TEMPFAIL, unavailable

        state = unavailable(error)
        if state is None:
            raise
        print(f"umbrella: {state.message}", file=sys.stderr)
        return EX_TEMPFAIL
    return 0
