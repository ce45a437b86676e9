import sqlite3

import pytest
from django.db import connection, transaction

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="checks the SQLite connection settings")
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="checks the PostgreSQL connection")


def pragma(name: str):
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


@sqlite_only
@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_full_sync_foreign_keys_and_a_busy_timeout():
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") >= 5000


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_sqlite_write_transactions_take_the_write_lock_at_begin():
    path = connection.settings_dict["NAME"]
    other = sqlite3.connect(path, timeout=0)
    try:
        with transaction.atomic():
            pragma("user_version")  # a read only: a DEFERRED transaction would not lock yet
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


@postgresql_only
@pytest.mark.django_db
def test_postgresql_is_a_supported_version_with_read_committed_transactions():
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 130000
        cursor.execute("SHOW default_transaction_isolation")
        assert cursor.fetchone()[0] == "read committed"
