from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "umbrella.orgs"
    label = "orgs"
    verbose_name = "Organizations"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from umbrella.core.access import Marking
        from umbrella.orgs.models import LEDGERED_SINCE

        # Accounts are Django's own model, so their ledger rules are declared here rather than on the class.
        # Their changes go through orgs.services like every ledgered record, and `ledger verify` replays them:
        # a flag or password changed behind the services' back is reported. The last sign-in changes at every
        # sign-in and is not a change anyone made to the account, so the ledger leaves it out.
        user_model = get_user_model()
        user_model.ledgered = True
        user_model.ledgered_since = LEDGERED_SINCE
        user_model.ledger_secret_fields = frozenset({"password"})
        user_model.ledger_ignored_fields = frozenset({"last_login"})
        user_model.ledger_marking = Marking.COORDINATION  # names, e-mail addresses and flags: HQ and recipient only
        post_save.connect(_record_rehashed_password, sender=user_model, dispatch_uid="umbrella-orgs-rehashed-password")


def _record_rehashed_password(sender, instance, update_fields=None, **kwargs):
    # Django's sign-in saves exactly this field when it upgrades a password's hash; the services never do.
    if update_fields is not None and set(update_fields) == {"password"}:
        from umbrella.orgs.services import record_rehashed_password

        record_rehashed_password(user=instance)
