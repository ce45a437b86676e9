"""Rows of several joined models read with one plain SQL statement, for the few reads on every request where
building the ORM's query costs many times more than running it (measured: about 1 ms against 0.07 ms for an API
token's lookup). The values go through the same converters the ORM applies, so the instances are as the ORM
would build them."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router


def _columns(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


def select_list(connection, aliased: Sequence[tuple[str, type[models.Model]]]) -> str:
    """Every concrete column of each model under its table alias, in the order `instances` reads them."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for alias, model in aliased for field in _columns(model))


def table(connection, model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _converted(connection, field: models.Field, value):
    column = field.get_col(field.model._meta.db_table)
    for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
        value = converter(value, column, connection)
    return value


def instances(connection, models_: Sequence[type[models.Model]], row: Sequence) -> list[models.Model | None]:
    """The row split into one instance per model (None where a LEFT JOIN found no row: its key is NULL)."""
    out: list[models.Model | None] = []
    start = 0
    for model in models_:
        fields = _columns(model)
        values = row[start : start + len(fields)]
        start += len(fields)
        if values[[f.primary_key for f in fields].index(True)] is None:
            out.append(None)
            continue
        converted = [_converted(connection, field, value) for field, value in zip(fields, values, strict=True)]
        out.append(model.from_db(connection.alias, [field.attname for field in fields], converted))
    return out


def read_connection(model: type[models.Model]):
    return connections[router.db_for_read(model)]
