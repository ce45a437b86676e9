"""umbrella token create --user NAME [--organization CODE] [--name TEXT] [--days N] | list --user NAME | revoke ID"""

from __future__ import annotations

from django.core.management import BaseCommand, CommandError

from umbrella.core.access import Actor
from umbrella.core.errors import DomainError
from umbrella.orgs import services
from umbrella.orgs.models import ApiToken
from umbrella.ui.cli_support import actor_from_options


class Command(BaseCommand):
    help = "Issue, list or revoke API tokens. The secret is printed once, when issued; only its hash is kept."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Issue a token for a user's membership.")
        create.add_argument("--user", required=True)
        create.add_argument("--organization", help="Organization code, when the user has several memberships.")
        create.add_argument("--name", default="API token")
        create.add_argument("--days", type=int, default=90, help="Lifetime in days (1 to 366).")
        listing = actions.add_parser("list", help="A user's tokens (never their secrets).")
        listing.add_argument("--user", required=True)
        revoke = actions.add_parser("revoke", help="Revoke a token; it stops working on the next request.")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args, **options):
        system = Actor.system("cli-token")  # the operator of the server acts here, and the ledger says so
        try:
            if options["action"] == "create":
                actor = actor_from_options(options, required=True)
                token, secret = services.issue_token(
                    actor=system,
                    user_id=actor.user.pk,
                    organization_id=actor.organization.pk,
                    name=options["name"],
                    days=options["days"],
                )
                self.stdout.write(secret)
                self.stderr.write(
                    f"Token {token.pk} for {actor.label()}, valid until {token.expires_at:%Y-%m-%d}. "
                    "Keep the secret now: it is not shown again."
                )
            elif options["action"] == "list":
                actor = actor_from_options({"user": options["user"]}, required=True)
                for token in ApiToken.objects.filter(user=actor.user).select_related("organization"):
                    state = "revoked" if token.revoked_at else f"valid until {token.expires_at:%Y-%m-%d}"
                    self.stdout.write(f"{token.pk:>5}  {token.prefix}…  {token.organization.code:<6} {token.name}  ({state})")
            else:
                token = services.revoke_token(actor=system, token_id=options["token_id"])
                self.stdout.write(f"Token {token.pk} revoked.")
        except DomainError as error:
            raise CommandError(error.message, returncode=2) from None
