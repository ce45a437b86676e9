"""Rows as the ledger held them at a past moment.

Every write appends the record's whole after-image to the ledger in the same transaction (core.ledger), so the
state of any ledgered model at a moment is, for each record, the after-image of its last entry written by then (a
deletion's after-image is empty: the record was gone). `rows_as_of` reads that in one query per model, whatever
the number of records, and returns the rows as `values()` would have (attribute names, Python values), so a
report can be computed the same way from today's tables or from a past day's ledger (training.readiness_queries
does: `umbrella readiness --as-of DATE`).

What an actor may read is decided by the entries: those `ChangeRecord.objects.visible_to(actor)` admits (the
marking the record had when the entry was written).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.models import Max

from umbrella.core.access import Actor
from umbrella.core.models import ChangeRecord


def end_of_day(day: dt.date) -> dt.datetime:
    """The last moment of a day, in the site's time zone: what was recorded "by" that day."""
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def rows_as_of(model: type[models.Model], moment: dt.datetime, actor: Actor, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each record of `model` as its last ledger entry at or before `moment` left it (records deleted by then, or
    created after, left out), as dictionaries of `fields` (attribute names: `pledge_id`, not `pledge`)."""
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    unknown = [name for name in fields if name not in by_attname]
    if unknown:
        raise RuntimeError(f"{model._meta.label} has no columns {unknown}")
    entries = ChangeRecord.objects.visible_to(actor).filter(entity=model._meta.label_lower, at__lte=moment)
    last = entries.values("entity_id").annotate(last=Max("sequence")).values("last")
    rows = []
    for after in ChangeRecord.objects.filter(sequence__in=last).values_list("after", flat=True):
        if after is None:
            continue
        rows.append({name: by_attname[name].to_python(after.get(name)) for name in fields})
    return rows
