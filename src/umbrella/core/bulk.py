"""The bulk write path: the services' own creates, written in chunks.

An import of a hundred thousand rows runs every row through the same service function a form would call
(the same permission rule, the same validation and messages), inside `deferred_writes(actor)`. There,
`core.services.create_record` validates the new row without asking the database what it already holds in
memory (a foreign key to a row that was read in this transaction, or to a row of the same batch), checks in
memory that the actor will still see it, and hands it to the batch instead of saving it. The batch inserts
its rows in chunks, parents before children, and appends their ledger entries, one per row with its
after-image, in one pass under one lock of the ledger head, in the order the services created them: the
entries are those the rows would have had one at a time, apart from times and ids.

A service's rows wait in the batch, so they are not in the table while later rows are checked. Where a row's
checks read what earlier rows wrote (a model with a uniqueness rule, so that a duplicate within a file is found
as it would be one row at a time; an update of a row that exists), the importer says so and the batch writes
every earlier row before each row starts, outside the savepoint of the service that may fail. Elsewhere a
create of such a model, an update or a delete is refused (RuntimeError), never written inside a savepoint that
a failing row would roll back with the earlier rows, nor outside one. Services write in `services.atomic()`,
which on a batch of creates only is no savepoint at all: nothing was written that one would undo.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, models, router, transaction
from django.db.models.base import DEFERRED, ModelState
from django.db.models.expressions import DatabaseDefault
from django.db.models.fields import return_None
from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

from umbrella.core.access import Actor
from umbrella.core.inserts import insert_rows
from umbrella.core.ledger import Change, record_changes, snapshot

CHUNK_ROWS = 2000
M = TypeVar("M", bound=models.Model)

_active: contextvars.ContextVar[Batch | None] = contextvars.ContextVar("bulk_batch", default=None)


@dataclass
class _Pending:
    actor: Actor
    action: str
    obj: models.Model


class Batch:
    """Rows created by services and not yet inserted, in the order they were created.

    With `writing` off (a dry run, or an import that has already met a bad row and will be rolled back), rows
    that no later check needs are dropped instead of inserted."""

    def __init__(self, *, chunk_rows: int = CHUNK_ROWS, writing: bool = True, rows_read_earlier_rows: bool = False) -> None:
        self.chunk_rows = chunk_rows
        self.writing = writing
        self.rows_read_earlier_rows = rows_read_earlier_rows
        self.pending: list[_Pending] = []
        self.row_mark = 0
        self.cleaning = RememberedCleaning()

    def start_row(self) -> None:
        if self.rows_read_earlier_rows:
            self.flush(for_checking=True)
        self.row_mark = len(self.pending)

    def require_rows_read_earlier_rows(self, doing: str) -> None:
        """Refuse what reads or writes the tables in place on a batch whose rows were not declared to: earlier
        rows would still be waiting, and the services would run without their savepoints."""
        if not self.rows_read_earlier_rows:
            raise RuntimeError(f"{doing} reads what earlier rows wrote: the importer must declare rows_read_earlier_rows")

    def defer(self, actor: Actor, action: str, obj: models.Model) -> None:
        self.pending.append(_Pending(actor, action, obj))

    def discard_row(self) -> None:
        """Forget what a row that failed had handed over (it was never written)."""
        del self.pending[self.row_mark :]

    def row_done(self) -> None:
        if len(self.pending) >= self.chunk_rows:
            self.flush()

    def flush(self, *, for_checking: bool = False) -> None:
        """Insert what waits, parents first, and append its ledger entries in creation order. `for_checking`:
        a uniqueness check is about to read the table, so the rows must be there even when not writing."""
        if not self.pending:
            return
        if not (self.writing or for_checking):
            self.pending = []
            return
        for model in _parents_first({type(item.obj) for item in self.pending}):
            insert_rows(model, [item.obj for item in self.pending if type(item.obj) is model])
        for actor, run in _runs_by_actor(self.pending):
            record_changes(actor=actor, changes=(Change(item.action, item.obj, None, snapshot(item.obj)) for item in run))
        self.pending = []


def _runs_by_actor(pending: list[_Pending]) -> Iterator[tuple[Actor, list[_Pending]]]:
    run: list[_Pending] = []
    for item in pending:
        if run and item.actor is not run[0].actor:
            yield run[0].actor, run
            run = []
        run.append(item)
    if run:
        yield run[0].actor, run


def _parents_first(present: set[type[models.Model]]) -> list[type[models.Model]]:
    """The models in an order where each comes after every model (of this batch) it has a foreign key to."""
    ordered: list[type[models.Model]] = []

    def visit(model: type[models.Model], path: frozenset[type[models.Model]]) -> None:
        if model in ordered or model in path:
            return
        for field in model._meta.concrete_fields:
            target = field.related_model if field.is_relation else None
            if target in present and target is not model:
                visit(target, path | {model})
        ordered.append(model)

    for model in sorted(present, key=lambda model: model._meta.label):
        visit(model, frozenset())
    return ordered


def active_batch() -> Batch | None:
    return _active.get()


@contextmanager
def deferred_writes(*, writing: bool = True, rows_read_earlier_rows: bool = False) -> Iterator[Batch]:
    """Services called inside defer their creates to one batch, flushed when the block ends; the caller holds
    the transaction, so the batch is written, or rolled back, with everything else."""
    if _active.get() is not None:
        raise RuntimeError("deferred writes do not nest")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("deferred writes run inside transaction.atomic(), which holds them to the end")
    batch = Batch(writing=writing, rows_read_earlier_rows=rows_read_earlier_rows)
    token = _active.set(batch)
    try:
        yield batch
        batch.flush()
    finally:
        _active.reset(token)


@cache
def has_uniqueness_rule(model: type[models.Model]) -> bool:
    """Whether a new row of this model can clash with another one (a unique field or constraint)."""
    meta = model._meta
    return bool(
        meta.unique_together
        or any(field.unique and not field.primary_key for field in meta.concrete_fields)
        or any(isinstance(constraint, models.UniqueConstraint) for constraint in meta.constraints)
    )


def known_related_fields(obj: models.Model) -> list[str]:
    """Foreign keys whose row is already in hand (read in this transaction, or waiting in the batch to be
    inserted before this one): their existence needs no query. The database's constraint still holds."""
    cached = obj._state.fields_cache
    return [name for name, cache_name in _relation_fields(type(obj)) if cached.get(cache_name) is not None]


def related_ids(obj: models.Model) -> dict[str, Any]:
    """Each foreign key's name and the id it holds."""
    held = obj.__dict__
    return {name: held.get(attname) for name, attname in _relation_attnames(type(obj))}


@cache
def _relation_attnames(model: type[models.Model]) -> tuple[tuple[str, str], ...]:
    return tuple((field.name, field.attname) for field in model._meta.concrete_fields if field.is_relation)


@cache
def _relation_fields(model: type[models.Model]) -> tuple[tuple[str, str], ...]:
    """The name and cache name of each foreign key."""
    return tuple((field.name, field.cache_name) for field in model._meta.concrete_fields if field.is_relation)


REMEMBERED_PER_FIELD = 4096  # values of one field remembered; a field whose values do not repeat stops there
NEW_WHEN_FULL = 1024  # new values met once that is full, before the field's values are no longer looked up
_REMEMBERED_TYPES = frozenset({str, int, bool, dt.date})  # exact types: equal values of these clean alike
_UNKNOWN = object()


class RememberedCleaning:
    """What Django's `Field.clean` made of the values a file repeats (a quantity, a date, a marking, a kind),
    remembered for the batch: a value that cleaned without error once cleans to the same value again, so a
    later row takes it instead of running the field's conversion, checks and validators once more. A value
    seen for the first time, and every value that fails, goes through Django as ever, with its own messages.

    Only for a model whose validation reads nothing but the row itself (no uniqueness rule, no constraint),
    for Django's own field classes (their cleaning depends on the value alone), and never for a relation. A
    field whose values do not repeat (a reference, a URL, an amount) is left to Django once what is remembered
    of it is full and new values keep coming."""

    def __init__(self) -> None:
        self.by_field: dict[models.Field, dict[Hashable, object]] = {}
        self.plans: dict[type[models.Model], list[tuple[models.Field, str, str, bool, Any, dict[Hashable, object] | None]]] = {}
        self.new_when_full: dict[tuple[type[models.Model], str], int] = {}

    def _plan(self, model: type[models.Model]) -> list[tuple[models.Field, str, str, bool, Any, dict[Hashable, object] | None]]:
        """For each field `clean_fields` cleans, in its order: the field, its attribute, name, blank and empty
        values, and what is remembered of it (None: its cleaning is not remembered)."""
        if model not in self.plans:
            rememberable = set(_rememberable_fields(model))
            self.plans[model] = [
                (field, field.attname, field.name, field.blank, field.empty_values,
                 self.by_field.setdefault(field, {}) if field in rememberable else None)
                for field in model._meta.fields
                if not field.generated
            ]  # fmt: skip
        return self.plans[model]

    def _new_when_full(self, model: type[models.Model], attname: str) -> None:
        """Count a new value of a field whose memory is full; past NEW_WHEN_FULL, stop looking its values up."""
        count = self.new_when_full[model, attname] = self.new_when_full.get((model, attname), 0) + 1
        if count > NEW_WHEN_FULL:
            self.plans[model] = [entry if entry[1] != attname else (*entry[:5], None) for entry in self.plans[model]]

    def full_clean(self, obj: models.Model, exclude: Iterable[str]) -> None:
        """`obj.full_clean(exclude, validate_unique=False, validate_constraints=False)`, taking what is
        remembered: Django's `clean_fields` (its loop, each field's own `clean`) on the rest, then the model's
        clean(), errors gathered the same way."""
        model = type(obj)
        if model.full_clean is not models.Model.full_clean or model.clean_fields is not models.Model.clean_fields:
            obj.full_clean(exclude=list(exclude) or None, validate_unique=False, validate_constraints=False)
            return
        exclude = set(exclude)
        errors: dict = {}
        field_errors: dict = {}
        values = obj.__dict__
        for field, attname, name, blank, empty_values, known in self._plan(model):
            if name in exclude:
                continue
            raw = values[attname] if attname in values else getattr(obj, attname)
            if blank and raw in empty_values:
                continue
            if isinstance(raw, DatabaseDefault):
                continue
            key: Hashable = None
            if known is not None:
                kind = type(raw)
                if kind in _REMEMBERED_TYPES:
                    key = (kind, raw)
                elif kind is Decimal:  # by its digits and exponent: 1.0 and 1.000 are equal, and clean differently
                    key = (kind, raw.as_tuple())
                if key is not None:
                    cleaned = known.get(key, _UNKNOWN)
                    if cleaned is not _UNKNOWN:
                        setattr(obj, attname, cleaned)
                        continue
            try:
                cleaned = field.clean(raw, obj)
            except ValidationError as error:
                field_errors[name] = error.error_list
                continue
            setattr(obj, attname, cleaned)
            if key is not None:
                if len(known) < REMEMBERED_PER_FIELD:
                    known[key] = cleaned
                else:
                    self._new_when_full(model, attname)
        if field_errors:
            errors = ValidationError(field_errors).update_error_dict(errors)
        try:
            obj.clean()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


@cache
def _rememberable_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(
        field
        for field in model._meta.fields
        if not field.is_relation and not field.generated and type(field).__module__.startswith("django.db.models.fields")
    )


def new_instance(model: type[M], values: dict[str, Any]) -> M:
    """`model(**values)` for a row the bulk path creates: the same instance, built without Django's general
    `Model.__init__` (which looks every field up in the keyword arguments, and sets each foreign key through
    its descriptor), by a plan made once per model. Anything the plan does not cover goes to Django itself: a
    model with its own `__init__` or `__setattr__`, signals heard at construction, database routers, a one-to-one
    or composite relation, a generated field, a value deferred, a name that is not a field (a property, a
    mistake Django reports), a related object of the wrong kind or of another database."""
    plan = _construction_plan(model)
    if plan is None or router.routers or pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model(**values)
    obj = model.__new__(model)
    state = obj._state = ModelState()
    cached = state.fields_cache
    taken = obj.__dict__
    given = len(values)
    for attname, name, default, relation in plan:
        if relation is not None and name in values:
            related = values[name]
            given -= 1
            cache_name, target, target_attname = relation
            if related is None:
                taken[attname] = None
            elif type(related) is target or isinstance(related, target):
                if state.db is None:
                    state.db = related._state.db or DEFAULT_DB_ALIAS
                if related._state.db is None:
                    related._state.db = state.db
                elif related._state.db != state.db:
                    return model(**values)
                taken[attname] = getattr(related, target_attname)
            else:
                return model(**values)
            cached[cache_name] = related
            continue
        if attname in values:
            value = values[attname]
            given -= 1
            if value is DEFERRED:
                return model(**values)
        else:
            value = default() if callable(default) else default[0]
        taken[attname] = value
    if given:
        return model(**values)
    return obj


@cache
def _construction_plan(model: type[models.Model]) -> tuple[tuple[str, str, Any, tuple | None], ...] | None:
    """Per concrete field in Django's order: its attribute, name, default (a one-item tuple when it is the same
    value every time, as Django's `get_default` gives it; else a callable), and for a foreign key the cache
    name, related model and related attribute its descriptor would set."""
    meta = model._meta
    if meta.abstract or model.__init__ is not models.Model.__init__ or model.__setattr__ is not object.__setattr__:
        return None
    plan = []
    for field in meta.fields:
        if field.column is None:
            continue
        if field.generated:
            return None
        descriptor = model.__dict__.get(field.name) or getattr(model, field.name, None)
        relation = None
        if field.is_relation:
            if type(descriptor) is not ForwardManyToOneDescriptor or len(field.related_fields) != 1:
                return None
            if not field.remote_field.multiple:
                return None
            relation = (field.cache_name, field.remote_field.model._meta.concrete_model, field.target_field.attname)
        elif type(descriptor) is not DeferredAttribute:
            return None
        plan.append((field.attname, field.name, _default_of(field), relation))
    return tuple(plan)


def _default_of(field: models.Field) -> Any:
    """What `field.get_default()` gives: a one-item tuple when that is the same value every time, else the
    method itself, called for each instance."""
    own = type(field).get_default
    if own is models.ForeignKey.get_default:
        return (None,) if field._get_default is return_None else field.get_default
    if own is not models.Field.get_default:
        return field.get_default
    maker = field._get_default
    if maker is return_None:
        return (None,)
    if maker is str:
        return ("",)
    if field.has_default() and not callable(field.default):
        return (field.default,)
    return field.get_default


def set_related(obj: models.Model, name: str, related: models.Model) -> None:
    """`setattr(obj, name, related)` for a foreign key of a row the bulk path creates, as its descriptor sets it
    (the id, the cached object, the database of both), without the general descriptor; anything else (None, a
    model the plan does not cover, an object of the wrong kind or database) is set by Django itself."""
    relation = _relations(type(obj)).get(name) if related is not None and not router.routers else None
    if relation is None or not isinstance(related, relation[1]):
        setattr(obj, name, related)
        return
    attname, target, cache_name, target_attname = relation
    state = obj._state
    database = state.db or related._state.db or DEFAULT_DB_ALIAS
    if (related._state.db or database) != database:
        setattr(obj, name, related)
        return
    state.db = related._state.db = database
    obj.__dict__[attname] = getattr(related, target_attname)
    state.fields_cache[cache_name] = related


@cache
def _relations(model: type[models.Model]) -> dict[str, tuple[str, type[models.Model], str, str]]:
    """The foreign keys `new_instance` sets itself, by name: attribute, related model, cache name, related attribute."""
    plan = _construction_plan(model) or ()
    return {name: (attname, relation[1], relation[0], relation[2]) for attname, name, _default, relation in plan if relation}
