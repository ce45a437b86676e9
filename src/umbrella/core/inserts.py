"""Inserting many rows of a model at once, for the bulk write path and the ledger's own entries.

SQLite takes rows whose ids it assigns as INSERT statements of up to 1,000 rows, RETURNING the ids, and other
rows (the ledger's) by executemany. PostgreSQL takes them all by COPY, the ids it would assign drawn from the
column's own sequence first: psycopg, as Django sets it up, binds parameters on the client, re-reading in Python
an INSERT statement that long for each chunk (it caches only short statements), which cost more than
everything else an import does."""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections, models, router
from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor


def insert_rows(model: type[models.Model], objs: list[models.Model]) -> None:
    """Insert the rows, the new ids set on them when the database assigns them: what `QuerySet.bulk_create`
    does, without compiling a query object per chunk, and with the values most rows hold converted by type.
    Foreign keys to parents inserted before take their new ids, and `auto_now` times are set, as in a save.
    Like bulk_create, no signal is sent."""
    connection = connections[router.db_for_write(model)]
    assigned = model._meta.pk.db_returning
    prepare = _related_preparer(model)
    for obj in objs:
        prepare(obj)
    if assigned and objs and _copies(connection) and (ids := _drawn_ids(connection, model, len(objs))) is not None:
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
        assigned = False
    fields = [field for field in model._meta.concrete_fields if not (assigned and field.primary_key)]
    values = [_value_for_insert(field) for field in fields]
    rows = ([value(obj) for value in values] for obj in objs)
    returned = _insert(connection, model, fields, rows, returning=model._meta.pk if assigned else None)
    for obj, pk in zip(objs, returned or [None] * len(objs), strict=True):
        if pk is not None:
            obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def _related_preparer(model: type[models.Model]) -> Callable[[models.Model], None]:
    """`obj._prepare_related_fields_for_save("bulk_create")`: refuse a related object not saved, take the id of
    one saved after it was assigned (a pledge inserted before its sources), forget a cached object whose id is
    no longer the row's. Done here for plain foreign keys of one column, whose descriptor is Django's own,
    without Django's walk over every column; a row the quick way does not cover goes through Django's method."""
    relations = []
    for field in model._meta.concrete_fields:
        if not field.is_relation:
            continue
        if (
            type(model.__dict__.get(field.name)) is not ForwardManyToOneDescriptor
            or not field.remote_field.multiple
            or len(field.related_fields) != 1
        ):
            return _prepared_by_django
        relations.append((field.cache_name, field.attname, field.target_field.attname, field.empty_values))
    if model._meta.private_fields or model.__setattr__ is not object.__setattr__ or router.routers:
        return _prepared_by_django

    def prepare(obj: models.Model) -> None:
        state = obj._state
        cached = state.fields_cache
        values = obj.__dict__
        for cache_name, attname, target_attname, empty_values in relations:
            related = cached.get(cache_name)
            if not related:
                continue
            if not related._is_pk_set() or attname not in values:
                return _prepared_by_django(obj)
            if values[attname] in empty_values:  # saved after it was assigned: its descriptor would take its id now
                if related._state.db is None or related._state.db != (state.db or related._state.db):
                    return _prepared_by_django(obj)
                state.db = related._state.db
                values[attname] = getattr(related, target_attname)
            if getattr(related, target_attname) != values[attname]:
                del cached[cache_name]

    return prepare


def _prepared_by_django(obj: models.Model) -> None:
    obj._prepare_related_fields_for_save(operation_name="bulk_create")


def _value_for_insert(field: models.Field) -> Callable[[models.Model], Any]:
    """`field.pre_save(obj, add=True)`: the attribute as it is, unless the field sets it (an `auto_now` time)."""
    if type(field).pre_save is models.Field.pre_save:
        return operator.attrgetter(field.attname)
    return lambda obj: field.pre_save(obj, True)


def insert_values(model: type[models.Model], names: tuple[str, ...], rows: Iterable[Sequence[Any]]) -> None:
    """INSERT rows given as the values of the named fields, with no model instance made: the ledger's entries."""
    connection = connections[router.db_for_write(model)]
    _insert(connection, model, [model._meta.get_field(name) for name in names], rows, returning=None)


def _copies(connection) -> bool:
    return connection.vendor == "postgresql"


_SEQUENCES: dict[tuple[str, str, str], str | None] = {}


def _drawn_ids(connection, model: type[models.Model], count: int) -> list[int] | None:
    """`count` new ids from the sequence behind the model's primary key, ascending (so ids follow the order
    of the rows, as when the database assigns them one insert after the other); None if it has none."""
    table, column = model._meta.db_table, model._meta.pk.column
    key = (connection.alias, table, column)
    with connection.cursor() as cursor:
        if key not in _SEQUENCES:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [connection.ops.quote_name(table), column])
            _SEQUENCES[key] = cursor.fetchone()[0]
        if _SEQUENCES[key] is None:
            return None
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_SEQUENCES[key], count])
        return sorted(pk for (pk,) in cursor.fetchall())


def _insert(connection, model, fields: list[models.Field], rows: Iterable[Sequence[Any]], *, returning) -> list[Any]:
    connection.ensure_connection()
    to_database = _row_converter(fields, connection)
    if returning is None:
        (_copy if _copies(connection) else _insert_many)(connection, model, fields, map(to_database, rows))
        return []
    rows_per_statement = max(1, min(1000, _parameter_limit(connection) // len(fields)))
    head = f"INSERT INTO {_table_and_columns(connection, model, fields)} VALUES "
    tail = f" RETURNING {connection.ops.quote_name(returning.column)}"
    row_placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returned: list[Any] = []
    with connection.cursor() as cursor:
        for chunk in _batched(rows, rows_per_statement):
            values = [value for row in chunk for value in to_database(row)]
            cursor.execute(head + ", ".join([row_placeholder] * len(chunk)) + tail, values)
            returned.extend(pk for (pk,) in cursor.fetchall())
    return returned


def _table_and_columns(connection, model, fields: list[models.Field]) -> str:
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"


def _copy(connection, model, fields: list[models.Field], rows: Iterable[list[Any]]) -> None:
    """COPY the rows in, each value as Django would have bound it in an INSERT (psycopg writes it as text)."""
    statement = f"COPY {_table_and_columns(connection, model, fields)} FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _insert_many(connection, model, fields: list[models.Field], rows: Iterable[list[Any]]) -> None:
    """One INSERT of a row, run for each row by the driver (executemany): with nothing to return, SQLite takes
    rows as fast this way as in long statements, and Django rewrites the statement's placeholders once, not
    for each statement of a thousand rows."""
    statement = f"INSERT INTO {_table_and_columns(connection, model, fields)} VALUES ({', '.join(['%s'] * len(fields))})"
    with connection.cursor() as cursor:
        for chunk in _batched(rows, 1000):
            cursor.executemany(statement, chunk)


def _row_converter(fields: list[models.Field], connection) -> Callable[[Sequence[Any]], list[Any]]:
    """A row's values as the driver takes them, field by field (`_preparer`)."""
    preparers = [_preparer(field, connection) for field in fields]

    def to_database(row: Sequence[Any]) -> list[Any]:
        return [value if type(value) in kinds else prepare(value) for value, (kinds, prepare) in zip(row, preparers, strict=True)]

    return to_database


def _batched(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """itertools.batched, which Python 3.11 lacks."""
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class JSONText(str):
    """A JSON column's value already encoded as JSON text: stored as that text (the ledger encodes each entry's
    images once, for its hash and its columns), where a plain value would be encoded by the field."""


PLAIN_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.ForeignKey)  # and their subclasses
PLAIN_VALUES = (str, int, type(None))


def _preparer(field: models.Field, connection) -> tuple[frozenset[type], Callable[[Any], Any]]:
    """How a value of this field goes to the database: what `field.get_db_prep_save` gives, worked out without
    it for the values most rows hold (text, whole numbers, decimals, dates, aware times, JSON the ledger
    encoded), and by it for anything else. The exact types passed as they are, and the conversion of others."""
    fast = _fast_preparer(field, connection)
    passed = frozenset(kind for kind, convert in fast.items() if convert is _as_it_is)

    def prepare(value: Any) -> Any:
        convert = fast.get(type(value))
        return convert(value) if convert is not None else field.get_db_prep_save(value, connection)

    return passed, prepare


def _as_it_is(value: Any) -> Any:
    return value


def _fast_preparer(field: models.Field, connection) -> dict[type, Callable[[Any], Any]]:
    """By the exact type of a value, how it goes to the driver as Django would send it for this field."""
    postgresql = connection.vendor == "postgresql"
    if isinstance(field, models.JSONField):
        return {JSONText: _encoded_json_preparer(connection), type(None): _as_it_is}
    if isinstance(field, PLAIN_FIELDS):
        return dict.fromkeys(PLAIN_VALUES, _as_it_is)
    if isinstance(field, models.BooleanField):
        return {bool: _as_it_is, type(None): _as_it_is}
    if isinstance(field, models.DecimalField):  # Django passes a Decimal as it is; SQLite's adapter writes its text
        return {Decimal: _as_it_is, type(None): _as_it_is}
    if isinstance(field, models.DateTimeField):
        return {dt.datetime: _aware_time_preparer(field, connection) if settings.USE_TZ else None, type(None): _as_it_is}
    if isinstance(field, models.DateField):  # PostgreSQL takes a date; SQLite its ISO text, as Django writes it
        return {dt.date: _as_it_is if postgresql else str, type(None): _as_it_is}
    return {}


def _aware_time_preparer(field: models.Field, connection) -> Callable[[Any], Any]:
    """An aware time as Django sends it: as it is to PostgreSQL; to SQLite as the text of the naive time in the
    connection's time zone. A naive time goes through the field (which warns and makes it aware)."""
    if connection.vendor == "postgresql":
        return lambda value: value if value.tzinfo is not None else field.get_db_prep_save(value, connection)
    if connection.vendor != "sqlite":
        return lambda value: field.get_db_prep_save(value, connection)
    zone = connection.timezone

    def prepare(value: dt.datetime) -> Any:
        if value.tzinfo is zone:  # already in the connection's zone (Django's own times, in UTC): no conversion
            return str(value.replace(tzinfo=None))
        if value.tzinfo is not None and value.utcoffset() is not None:
            return str(value.astimezone(zone).replace(tzinfo=None))
        return field.get_db_prep_save(value, connection)

    return prepare


def _encoded_json_preparer(connection) -> Callable[[JSONText], Any]:
    """JSON text as the driver takes it for a JSON column: psycopg as a jsonb parameter (its text sent as it
    is), SQLite as text, which is how Django stores JSON there."""
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return lambda text: Jsonb(text, dumps=str)
    return str


def _parameter_limit(connection) -> int:
    if connection.vendor == "sqlite":
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 65_535
