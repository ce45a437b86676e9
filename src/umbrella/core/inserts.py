"""Inserting many rows of a model at once, for the bulk write path and the ledger's own entries."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from django.db import connections, models, router


def insert_rows(model: type[models.Model], objs: list[models.Model]) -> None:
    """INSERT many rows a statement, RETURNING the new ids when the database assigns them: what
    `QuerySet.bulk_create` does, without compiling a query object per chunk, and with plain values (text, whole
    numbers) passed as they are. Foreign keys to parents inserted before take their new ids, and `auto_now`
    times are set, as in a save. Like bulk_create, no signal is sent."""
    connection = connections[router.db_for_write(model)]
    connection.ensure_connection()
    assigned = model._meta.pk.db_returning
    fields = [field for field in model._meta.concrete_fields if not (assigned and field.primary_key)]
    rows_per_statement = max(1, min(1000, _parameter_limit(connection) // len(fields)))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    returning = quote(model._meta.pk.column)
    prepare = [_preparer(field, connection) for field in fields]
    with connection.cursor() as cursor:
        for start in range(0, len(objs), rows_per_statement):
            chunk = objs[start : start + rows_per_statement]
            values: list[Any] = []
            for obj in chunk:
                obj._prepare_related_fields_for_save(operation_name="bulk_create")
                values.extend(to_database(field.pre_save(obj, True)) for field, to_database in zip(fields, prepare, strict=True))
            placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {placeholders} RETURNING {returning}", values
            )
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = connection.alias


PLAIN_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.ForeignKey)  # and their subclasses
PLAIN_VALUES = (str, int, type(None))


def _preparer(field: models.Field, connection) -> Callable[[Any], Any]:
    """How a value of this field goes to the database: as it is when it already is what the driver takes."""
    if isinstance(field, PLAIN_FIELDS):

        def prepare(value: Any) -> Any:
            return value if type(value) in PLAIN_VALUES else field.get_db_prep_save(value, connection)

        return prepare
    return lambda value: field.get_db_prep_save(value, connection)


def _parameter_limit(connection) -> int:
    if connection.vendor == "sqlite":
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 65_535
