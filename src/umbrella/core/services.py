"""The write path every service follows.

A service function is keyword-only, takes the acting `actor` explicitly, opens one `transaction.atomic()`,
checks the permission, checks the version of what it updates, and writes through the helpers below, which
validate the row and append the ledger entry inside that same transaction. Views, API, CLI, importers and
the demo call services; none of them saves a model by hand.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from typing import Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from umbrella.core import bulk
from umbrella.core.access import Actor, VisibleQuerySet, deny, visible_in_memory
from umbrella.core.errors import Conflict, Invalid, StaleVersion
from umbrella.core.ledger import Change, record_change, record_changes, snapshot, snapshot_before_change

M = TypeVar("M", bound=models.Model)

# Every date and time a record holds lies in these years: aid since 1990, plans to 2100. Year 1 or 9999 is a
# typing slip, and at the edge of what Python and the databases can store (one time-zone shift from overflow).
DATE_RANGE = (dt.date(1990, 1, 1), dt.date(2100, 12, 31))


def atomic():
    """The transaction every service writes in: `transaction.atomic()`, a savepoint inside a caller's
    transaction, so a refused write leaves nothing behind. On the bulk path (`core.bulk`) a row's creates only
    wait in the batch and write nothing a savepoint would have to undo (the importers whose services update or
    read what earlier rows wrote keep it), so a hundred thousand rows do not cost two hundred thousand
    statements; a refused row's creates are dropped from the batch."""
    batch = bulk.active_batch()
    if batch is not None and not batch.rows_read_earlier_rows:
        return nullcontext()
    return transaction.atomic()


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("service writes must run inside transaction.atomic()")


def validate(
    obj: models.Model,
    *,
    exclude: Iterable[str] = (),
    rules_between_rows: bool = True,
    remembered: bulk.RememberedCleaning | None = None,
    known_related: Iterable[str] = (),
) -> None:
    """Every problem of the row at once: the model's own rules, and text PostgreSQL could not store (a NUL
    character, which SQLite would keep and a later move to PostgreSQL would refuse), and any date or time
    outside DATE_RANGE, so pages, API, imports and commands all refuse year 1 and year 9999 alike.
    `rules_between_rows` off leaves out the uniqueness and constraint checks, for a model that has none (the
    bulk path: the check would only ask the model to find that out again); there, `remembered` takes the
    cleaning of values earlier rows repeat (`bulk.RememberedCleaning`). `known_related` names foreign keys whose
    row is in hand (`bulk.known_related_fields`): not looked up again, yet still in the uniqueness and constraint
    checks (which `exclude` would leave out)."""
    problems: dict[str, list[str]] = {}
    try:
        if known_related:
            _clean_with_known_relations(obj, set(exclude) | set(known_related), rules_between_rows=rules_between_rows)
        elif remembered is not None and not rules_between_rows:
            remembered.full_clean(obj, exclude)
        else:
            obj.full_clean(
                exclude=list(exclude) or None, validate_unique=rules_between_rows, validate_constraints=rules_between_rows
            )
    except ValidationError as error:
        problems = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    held = obj.__dict__
    for attname, name in _columns(type(obj)):
        value = held[attname] if attname in held else getattr(obj, attname, None)
        if isinstance(value, str):
            if "\x00" in value:
                problems.setdefault(name, []).append(_("Text must not contain NUL characters."))
        elif isinstance(value, dt.date) and not DATE_RANGE[0] <= _day(value) <= DATE_RANGE[1]:
            problems.setdefault(name, []).append(
                _("Give a date from %(first)s to %(last)s.")
                % {"first": DATE_RANGE[0].isoformat(), "last": DATE_RANGE[1].isoformat()}
            )
    if problems:
        raise Invalid(problems)


def _clean_with_known_relations(obj: models.Model, known: set[str], *, rules_between_rows: bool) -> None:
    """`full_clean` in its order (fields, `clean`, uniqueness, constraints), but with the fields in `known` not
    cleaned (a foreign key in hand would cost a query each); Django's `exclude` would also leave out every
    uniqueness rule they take part in, so those run here on every field that cleaned without error."""
    errors: dict[str, list[str]] = {}
    checks = [lambda failed: obj.clean_fields(exclude=known), lambda failed: obj.clean()]
    if rules_between_rows:
        checks += [lambda failed: obj.validate_unique(exclude=failed), lambda failed: obj.validate_constraints(exclude=failed)]
    for check in checks:
        try:
            check({name for name in errors if name != NON_FIELD_ERRORS})
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


@functools.cache
def _columns(model: type[models.Model]) -> tuple[tuple[str, str], ...]:
    return tuple((field.attname, field.name) for field in model._meta.concrete_fields)


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _stamp(actor: Actor, obj: models.Model, *, creating: bool, assign=setattr) -> None:
    if actor.user is None:
        return
    if creating and hasattr(obj, "created_by_id"):
        assign(obj, "created_by", actor.user)
    if hasattr(obj, "updated_by_id"):
        assign(obj, "updated_by", actor.user)


def _recheck_visible(actor: Actor, obj: models.Model) -> None:
    """A write must leave the record visible to whoever made it (say, not marked away from its own author).
    Where the model keeps the common rule and the rows it is decided on are in hand, the rule is applied to
    them in memory (`visible_in_memory`): they are the values this write stored and this transaction read."""
    manager = type(obj)._default_manager
    if actor.is_system or not hasattr(manager, "visible_to"):
        return
    if _common_rule(type(obj)) and _owned_row_in_hand(obj):
        visible = visible_in_memory(actor, obj)
    else:
        visible = manager.visible_to(actor).filter(pk=obj.pk).exists()
    if not visible:
        raise deny(actor, _("After this change you could no longer see the record, so it was not saved."))


@functools.cache
def _common_rule(model: type[models.Model]) -> bool:
    return getattr(model._default_manager, "_queryset_class", None) is VisibleQuerySet


def _owned_row_in_hand(obj: models.Model) -> bool:
    for name in getattr(type(obj), "visibility_path", "").split("__"):
        if not name:
            continue
        related = obj._state.fields_cache.get(name)
        if related is None:
            return False
        obj = related
    return True


def new(model: type[M], **values: Any) -> M:
    """`model(**values)`, the instance a service is about to create; on the bulk path built by a plan made once
    per model (`bulk.new_instance`), which a hundred thousand rows notice."""
    if bulk.active_batch() is None:
        return model(**values)
    return bulk.new_instance(model, values)


def create_record(*, actor: Actor, obj: M, action: str = "create") -> M:
    batch = bulk.active_batch()
    if batch is not None:  # its transaction was required when it began, and lasts longer than the batch
        _stamp(actor, obj, creating=True, assign=bulk.set_related)
        return _defer_create(batch, actor, obj, action)
    _require_transaction()
    _stamp(actor, obj, creating=True)
    validate(obj, known_related=bulk.known_related_fields(obj))
    obj.save(force_insert=True)
    _recheck_visible(actor, obj)
    record_change(actor=actor, action=action, obj=obj, before=None, after=snapshot(obj))
    return obj


def _defer_create(batch: bulk.Batch, actor: Actor, obj: M, action: str) -> M:
    """The bulk path (`core.bulk`): the same checks, with what is known in memory taken from memory."""
    if bulk.has_uniqueness_rule(type(obj)):
        batch.require_rows_read_earlier_rows(f"creating a {obj._meta.label}")
        validate(obj, known_related=bulk.known_related_fields(obj))
    else:
        validate(
            obj,
            exclude=bulk.known_related_fields(obj),
            rules_between_rows=bool(type(obj)._meta.constraints),
            remembered=batch.cleaning,
        )
    if hasattr(type(obj)._default_manager, "visible_to") and not visible_in_memory(actor, obj):
        raise deny(actor, _("After this change you could no longer see the record, so it was not saved."))
    batch.defer(actor, action, obj)
    return obj


def _no_rows_waiting(doing: str) -> None:
    """An update or a delete reads and writes the table now: on the bulk path, earlier rows must be in it and
    the row's savepoint kept."""
    batch = bulk.active_batch()
    if batch is not None:
        batch.require_rows_read_earlier_rows(doing)


def check_version(obj: models.Model, expected_version: int) -> None:
    if getattr(obj, "version", None) != expected_version:
        raise StaleVersion(
            _(
                "This %(noun)s was changed by someone else (now version %(current)s, you had version %(expected)s). "
                "Reload it and apply your change again."
            )
            % {"noun": obj._meta.verbose_name, "current": obj.version, "expected": expected_version},
            current_version=obj.version,
            expected_version=expected_version,
        )


def refuse_protected(obj: models.Model, changes: Mapping[str, Any]) -> None:
    protected = getattr(obj, "PROTECTED_FIELDS", frozenset())
    refused = sorted(set(changes) & protected)
    if refused:
        raise Invalid({name: [_("This field is set by Umbrella and cannot be changed here.")] for name in refused})


def update_record(*, actor: Actor, obj: M, changes: Mapping[str, Any], expected_version: int | None, action: str = "update") -> M:
    """Apply `changes` to a row the caller locked and checked, bump its version, record the change.

    A versioned row needs the version the caller read; an unversioned one (a membership) passes None."""
    change = _updated(actor, obj, changes, expected_version, action)
    record_changes(actor=actor, changes=[change])
    return obj


def update_records(*, actor: Actor, updates: Iterable[tuple[M, Mapping[str, Any], int | None]], action: str) -> list[M]:
    """`update_record` for many rows the caller locked and checked, each as (row, changes, expected version):
    every row validated, saved and rechecked the same way, their ledger entries appended in one pass (one lock
    of the ledger head instead of one per row). The first refusal raises, and the caller's transaction undoes
    the rows saved before it."""
    changes = [_updated(actor, obj, values, expected_version, action) for obj, values, expected_version in updates]
    record_changes(actor=actor, changes=changes)
    return [change.obj for change in changes]


def _updated(actor: Actor, obj: M, changes: Mapping[str, Any], expected_version: int | None, action: str) -> Change:
    _require_transaction()
    _no_rows_waiting(f"updating a {obj._meta.label}")
    if hasattr(obj, "version"):
        if expected_version is None:
            raise TypeError(f"updating a {obj._meta.label} needs expected_version")
        check_version(obj, expected_version)
    refuse_protected(obj, changes)
    unknown = sorted(name for name in changes if name not in {f.name for f in obj._meta.concrete_fields})
    if unknown:
        raise Invalid({name: [_("No such field.")] for name in unknown})
    before = snapshot_before_change(obj)
    related_before = bulk.related_ids(obj)
    for name, value in changes.items():
        setattr(obj, name, value)
    _stamp(actor, obj, creating=False)
    validate(obj, known_related=_unchanged_or_in_hand(obj, related_before))
    if hasattr(obj, "version"):
        obj.version += 1
    obj.save()
    _recheck_visible(actor, obj)
    return Change(action, obj, before, snapshot(obj, before))


def _unchanged_or_in_hand(obj: models.Model, related_before: Mapping[str, Any]) -> list[str]:
    """The foreign keys an update need not look up again: those it left as they were (the row they point at
    was checked when they were set, and the database's constraint keeps it there) and those whose row is in hand."""
    now = bulk.related_ids(obj)
    unchanged = [name for name, value in now.items() if value is not None and related_before.get(name) == value]
    return sorted(set(unchanged) | set(bulk.known_related_fields(obj)))


def delete_record(*, actor: Actor, obj: models.Model, expected_version: int | None) -> None:
    _require_transaction()
    _no_rows_waiting(f"deleting a {obj._meta.label}")
    if expected_version is not None:
        check_version(obj, expected_version)
    before = snapshot_before_change(obj)
    pk = obj.pk
    try:
        obj.delete()
    except ProtectedError as error:
        users = sorted({str(o._meta.verbose_name_plural) for o in error.protected_objects})
        raise Conflict(
            _("This %(noun)s is still used by %(users)s; it cannot be deleted.")
            % {"noun": obj._meta.verbose_name, "users": ", ".join(users)},
            used_by=users,
        ) from None
    obj.pk = pk
    record_change(actor=actor, action="delete", obj=obj, before=before, after=None)


def writable(fields: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """The caller's fields, refusing any it may not set (owner, version, creator, unknown names)."""
    allowed = frozenset(allowed)
    refused = sorted(set(fields) - allowed)
    if refused:
        raise Invalid({name: [_("This field cannot be set here.")] for name in refused})
    return dict(fields)


def acting_organization(actor: Actor):
    """The organization that will own what the actor creates."""
    if actor.organization is None:
        raise Invalid({"owner": [_("Only a member of an organization can create records.")]})
    return actor.organization
