"""umbrella user create [--username NAME] [--email E] [--full-name N] [--staff] [--superuser] [--password-stdin]
umbrella user password USERNAME [--password-stdin]
umbrella user flags USERNAME [--active|--inactive] [--staff|--no-staff] [--superuser|--no-superuser]

`umbrella createsuperuser` and `umbrella changepassword` run the first two (see cli.py): Django's own
commands would save the account outside the services, and `umbrella ledger verify` would report it."""

from __future__ import annotations

import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError

from umbrella.core.access import Actor
from umbrella.core.errors import DomainError
from umbrella.orgs import services


def _flag(parser, name: str, help_on: str, *, off: str | None = None) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(f"--{name}", dest=name, action="store_const", const=True, help=help_on)
    group.add_argument(f"--{off or 'no-' + name}", dest=name, action="store_const", const=False)


class Command(BaseCommand):
    help = "Create accounts, change their passwords and flags, each change recorded in the ledger."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="A new account (with --superuser: staff and superuser).")
        create.add_argument("--username", help="Asked for when not given and a terminal is at hand.")
        create.add_argument("--email", default="")
        create.add_argument("--full-name", default="")
        create.add_argument("--staff", action="store_true", help="May read the admin pages.")
        create.add_argument("--superuser", action="store_true")
        self._password_arguments(create)
        password = actions.add_parser("password", help="Set an account's password.")
        password.add_argument("username")
        self._password_arguments(password)
        flags = actions.add_parser("flags", help="Switch an account on or off, or change its staff and superuser flags.")
        flags.add_argument("username")
        _flag(flags, "active", "The account may sign in.", off="inactive")
        _flag(flags, "staff", "The account may read the admin pages.")
        _flag(flags, "superuser", "The account is a superuser.")

    @staticmethod
    def _password_arguments(parser) -> None:
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from the first line of standard input."
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Never prompt (then the password must come with --password-stdin).",
        )

    def handle(self, *args, **options):
        system = Actor.system(f"cli-user-{options['action']}")  # the operator of the server acts here, and the ledger says so
        try:
            if options["action"] == "create":
                username = options["username"] or self._ask(options, "Username: ")
                user = services.create_user(
                    actor=system,
                    username=username,
                    password=self._password(options),
                    email=options["email"],
                    full_name=options["full_name"],
                    staff=options["staff"],
                    superuser=options["superuser"],
                )
                self.stdout.write(f"Account {user.username} created.")
            elif options["action"] == "password":
                user = services.set_password(
                    actor=system, user_id=self._user_id(options["username"]), password=self._password(options)
                )
                self.stdout.write(f"Password of {user.username} changed.")
            else:
                flags = {f"is_{name}": options[name] for name in ("active", "staff", "superuser") if options[name] is not None}
                if not flags:
                    raise CommandError(
                        "Name a flag to change: --active/--inactive, --staff/--no-staff, --superuser/--no-superuser.",
                        returncode=2,
                    )
                user = services.set_user_flags(actor=system, user_id=self._user_id(options["username"]), **flags)
                self.stdout.write(
                    f"{user.username}: active {user.is_active}, staff {user.is_staff}, superuser {user.is_superuser}."
                )
        except DomainError as error:
            raise CommandError(str(error), returncode=2) from None

    @staticmethod
    def _user_id(username: str) -> int:
        user_id = get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()
        if user_id is None:
            raise CommandError(f"No user {username!r}.", returncode=2)
        return user_id

    @staticmethod
    def _ask(options, prompt: str) -> str:
        if not options["interactive"] or not sys.stdin.isatty():
            raise CommandError("Without a terminal, name the account with --username.", returncode=2)
        return input(prompt).strip()

    @staticmethod
    def _password(options) -> str:
        if options["password_stdin"]:
            return sys.stdin.readline().rstrip("\n")
        if not options["interactive"] or not sys.stdin.isatty():
            raise CommandError("Without a terminal, give the password on standard input with --password-stdin.", returncode=2)
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != first:
            raise CommandError("The passwords differ.", returncode=2)
        return first
