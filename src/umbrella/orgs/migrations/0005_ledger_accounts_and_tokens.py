"""Accounts and API tokens are ledgered from here on. No schema change: applying this migration is the moment
the rows that already exist are taken into the ledger, once (core.upgrade, after `migrate`; the models name this
migration in `ledgered_since`). A row that appears later without an entry is reported by verify, never adopted."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orgs", "0004_sign_in_attempts_and_gates"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = []
