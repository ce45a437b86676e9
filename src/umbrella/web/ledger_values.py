"""What a ledger entry's stored values read as on the Ledger page, read through the model's field definitions:
a state by its label, a foreign key by the kind, id and name of the record it points to (where the reader may
see that record), an amount grouped in the reader's language, yes or no, a date or time as the pages write them, and a
secret's digest only as "set" or "changed".

The ledger keeps values as canonical JSON (foreign keys by id, decimals and times as text). A field the model no
longer has, or a value its field cannot read, is shown as stored.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from umbrella.core import numbers
from umbrella.core.access import Actor, Marking, visible_markings
from umbrella.core.models import ChangeRecord, account_entity, reads_every_account

VALUE_SHOWN = 200
NOTHING = "—"
# Lists set by migrations, which no one edits and every reader reads (on every item type's page).
REFERENCE_LISTS = frozenset({"catalog.capabilityarea"})

# (kind of record, id) → the name of the record a foreign key points to, for those the reader may see.
Names = dict[tuple[str, str], str]


def model_of(entity: str) -> type[models.Model] | None:
    try:
        return apps.get_model(entity)
    except (LookupError, ValueError):
        return None


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    """The field a snapshot key names (a foreign key is kept under its column, `owner_id`)."""
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def secret_fields(model: type[models.Model] | None) -> frozenset[str]:
    return getattr(model, "ledger_secret_fields", frozenset()) if model is not None else frozenset()


def _readable(target: type[models.Model], actor: Actor) -> models.QuerySet | None:
    """The records of `target` whose names the reader may see, or None when it may see none by name.

    The model's own read rule decides. Accounts follow the ledger's rule for their entries: coordination staff
    see every account, anyone else those of its own organization's people. A model without a read rule is named
    when its ledger entries are public (the directory of organizations) or it is a fixed reference list."""
    manager = target._default_manager
    label = target._meta.label_lower
    if hasattr(manager, "visible_to"):
        return manager.visible_to(actor)
    if label == account_entity():
        if reads_every_account(actor):
            return manager.all()
        return manager.filter(memberships__organization=actor.organization) if actor.organization is not None else None
    if label in REFERENCE_LISTS:
        return manager.all()
    if getattr(target, "ledger_marking", None) == Marking.PUBLIC and Marking.PUBLIC in visible_markings(actor):
        return manager.all()
    return None


def referenced_names(entries: Iterable[ChangeRecord], actor: Actor) -> Names:
    """The names of the records the entries' foreign keys point to, one query per kind of record."""
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    for entry in entries:
        model = model_of(entry.entity)
        for snapshot in (entry.before or {}, entry.after or {}):
            for name, value in snapshot.items():
                field = _field(model, name)
                if field is not None and field.many_to_one and value is not None:
                    wanted[field.related_model].add(value)
    names: Names = {}
    for target, ids in wanted.items():
        readable = _readable(target, actor)
        if readable is None:
            continue
        for record in readable.filter(pk__in=ids):
            names[(target._meta.label_lower, str(record.pk))] = linked_name(target, record)
    return names


def linked_name(target: type[models.Model], record: models.Model) -> str:
    """A record a foreign key points to, by its kind and id before its name: a name can start with a number (a
    pledge's with its quantity), which alone would read as another record's id."""
    return _("%(kind)s #%(id)s: %(name)s") % {"kind": target._meta.verbose_name, "id": record.pk, "name": record}


def _as_stored(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _amount(field: models.DecimalField, value: Any) -> str:
    """An amount in euros keeps its cents; any other decimal (a quantity, a rate) shows the digits it has."""
    amount = Decimal(str(value))
    digits = max(0, -amount.normalize().as_tuple().exponent)
    return numbers.number(amount, field.decimal_places if field.decimal_places <= 2 else min(digits, field.decimal_places))


def _moment(value: str) -> str:
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return _("%(moment)s UTC") % {"moment": date_format(moment, "DATETIME_FORMAT")}


def _day(value: str) -> str:
    day = parse_date(value)
    if day is None:
        raise ValueError(value)
    return date_format(day)


def _read(field: models.Field | None, value: Any, names: Names) -> str:
    if field is None:
        return _as_stored(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, _as_stored(value)))
    if field.many_to_one:
        return names.get((field.related_model._meta.label_lower, str(value)), _as_stored(value))
    if isinstance(field, models.BooleanField) and isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(field, models.DecimalField):
        return _amount(field, value)
    if isinstance(field, models.DateTimeField):
        return _moment(value)
    if isinstance(field, models.DateField):
        return _day(value)
    return _as_stored(value)


def shown(model: type[models.Model] | None, name: str, value: Any, names: Names) -> str:
    """One stored value as the reader reads it, cut short past VALUE_SHOWN characters."""
    if value is None or value == "":
        return NOTHING
    try:
        text = _read(_field(model, name), value, names)
    except (ValueError, TypeError, InvalidOperation):
        text = _as_stored(value)
    return text if len(text) <= VALUE_SHOWN else text[:VALUE_SHOWN] + "…"


def secret_change(before: Any, after: Any, *, created: bool) -> tuple[str | None, str]:
    """A secret column's change (before, after) without its digest: "changed" when one digest replaced another,
    else whether it is set on either side (None before: a creation, which has no before)."""
    if before and after:
        return None, _("changed")
    state = {True: _("set"), False: NOTHING}
    return (None if created else state[bool(before)]), state[bool(after)]
