from django.apps import AppConfig
from django.db.models.signals import post_migrate


def record_schema_upgrade(sender, plan=None, **kwargs) -> None:
    """After `migrate` applied migrations (not after a flush, which sends no plan), record in the ledger what they
    wrote into ledgered tables, so verify does not report an honest upgrade as tampering (core.upgrade)."""
    applied = {(migration.app_label, migration.name) for migration, backwards in plan or () if not backwards}
    if not applied:
        return
    from umbrella.core.upgrade import adopt_schema_changes
    from umbrella.core.verify import ledgered_models

    adopt_schema_changes(ledgered_models(), applied)


class CoreConfig(AppConfig):
    name = "umbrella.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Sent once per installed app after every migration ran; listening to core's alone runs this once.
        post_migrate.connect(record_schema_upgrade, sender=self, dispatch_uid="umbrella.core.schema_upgrade")
