"""Columns derived from ledgered records, written in bulk without entries of their own.

Some models keep an index of facts recorded elsewhere (a serial's last sighting and next due date come from its
ledgered sightings and the inventory rules). Those columns are named in the model's `ledger_ignored_fields`, so
the ledger's snapshots leave them out, and they are written here, many rows at once, by the service that owns
them. Nothing else is: a column the ledger keeps is refused, so this is no way around the write path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def write_derived_columns(model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Set `columns` (attnames) of the rows given as (pk, value, value, …); returns how many rows were given."""
    ignored = getattr(model, "ledger_ignored_fields", frozenset())
    kept = sorted(set(columns) - set(ignored))
    if kept:
        raise RuntimeError(f"{model._meta.label}: {', '.join(kept)} are kept by the ledger; change them through a service")
    fields = [next(field for field in model._meta.concrete_fields if field.attname == name) for name in columns]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    statement = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    parameters = [
        [*(field.get_db_prep_value(value, connection) for field, value in zip(fields, values, strict=True)), pk]
        for pk, *values in rows
    ]
    if parameters:
        with connection.cursor() as cursor:
            cursor.executemany(statement, parameters)
    return len(parameters)
