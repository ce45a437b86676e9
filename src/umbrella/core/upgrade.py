"""What a schema upgrade writes into ledgered tables, recorded in the ledger as the upgrade's own change.

A migration that adds a column to a ledgered table fills it in every existing row (a default, or values it
derives, such as who added each pledge source); a release that starts ledgering a table (accounts and API tokens)
finds rows the ledger never saw. Neither went through the services, so `umbrella ledger verify` would report every
such row. After `migrate` applied anything, the system therefore appends, once:

- `migrate` for a row whose latest entry lacks columns the row now has (or has columns it no longer has), when
  every column both share still agrees with the entry and a migration of the row's app was applied in this run:
  before = the entry's snapshot, after = the row now;
- `adopt` for each row without an entry in a table that starts being ledgered with a migration applied in this
  very run (the model names it in `ledgered_since`).

What is never adopted: a column both the entry and the row have but that differs, or a row without an entry in
a table the ledger followed before this run. Those are changes behind the application's back, and verify reports
them. (Deciding by the migration, not by whether the ledger mentions the table yet, matters: a table nobody has
written to yet has no entries, and a row slipped into it must still be reported.)
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from umbrella.core.access import Actor
from umbrella.core.ledger import record_change, snapshot
from umbrella.core.models import ChangeRecord


def recorded() -> dict[tuple[str, str], dict[str, Any]]:
    """Each row as the ledger's latest entry about it left it (deleted rows absent)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    entries = ChangeRecord.objects.order_by("sequence").values_list("entity", "entity_id", "after")
    for entity, entity_id, after in entries.iterator(chunk_size=5000):
        if after is None:
            rows.pop((entity, entity_id), None)
        else:
            rows[(entity, entity_id)] = after
    return rows


def _upgraded_columns(current: dict[str, Any], recorded: dict[str, Any]) -> bool:
    if set(current) == set(recorded):
        return False
    return all(current[name] == recorded[name] for name in set(current) & set(recorded))


def adopt_schema_changes(
    ledgered: list[type[models.Model]], applied: set[tuple[str, str]], ledger: dict[tuple[str, str], dict[str, Any]] | None = None
) -> dict[str, int]:
    """Record what the migrations `applied` in this run wrote (see the module's docstring); returns how many entries
    of each action. `ledger` is the recorded state (read from the ledger when not given)."""
    written = {"migrate": 0, "adopt": 0}
    with transaction.atomic():
        ledger = recorded() if ledger is None else ledger
        actor = Actor.system("schema-upgrade")
        for model in ledgered:
            entity = model._meta.label_lower
            starts_now = getattr(model, "ledgered_since", None) in applied
            if not starts_now and not any(app == model._meta.app_label for app, _name in applied):
                continue  # no migration of this run could have written into this table
            for row in model._base_manager.order_by("pk").iterator(chunk_size=2000):
                recorded_row = ledger.get((entity, str(row.pk)))
                if recorded_row is None:
                    if starts_now:
                        record_change(actor=actor, action="adopt", obj=row, before=None, after=snapshot(row))
                        written["adopt"] += 1
                    continue
                current = snapshot(row, recorded_row)
                if _upgraded_columns(current, recorded_row):
                    record_change(actor=actor, action="migrate", obj=row, before=recorded_row, after=current)
                    written["migrate"] += 1
    return written
