"""core.asof.rows_as_of: every record as the ledger held it at a past moment, in one query per model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories
from umbrella.catalog import services as catalog
from umbrella.catalog.models import ItemType
from umbrella.core.access import Actor, Marking
from umbrella.core.asof import end_of_day, rows_as_of

FIELDS = ("id", "code", "unit_value_eur", "crew_size")


@pytest.mark.django_db
def test_rows_as_of_a_moment_are_the_last_entries_before_it(personas):
    kept = factories.item_type(personas, unit_value_eur=Decimal("100.00"), crew_size=3)
    gone = factories.item_type(personas)
    moment = timezone.now()
    kept = catalog.update_item_type(
        actor=personas.coordinator,
        item_type_id=kept.pk,
        expected_version=kept.version,
        changes={"unit_value_eur": Decimal("250.00")},
    )
    catalog.delete_item_type(actor=personas.coordinator, item_type_id=gone.pk, expected_version=gone.version)
    later = factories.item_type(personas)

    then = {row["id"]: row for row in rows_as_of(ItemType, moment, personas.coordinator, FIELDS)}
    assert then[kept.pk] == {"id": kept.pk, "code": kept.code, "unit_value_eur": Decimal("100.00"), "crew_size": 3}
    assert gone.pk in then and later.pk not in then
    now = {row["id"]: row for row in rows_as_of(ItemType, timezone.now(), personas.coordinator, FIELDS)}
    assert now[kept.pk]["unit_value_eur"] == Decimal("250.00") and gone.pk not in now and later.pk in now
    assert rows_as_of(ItemType, end_of_day(timezone.localdate() - dt.timedelta(days=1)), personas.coordinator, FIELDS) == []


@pytest.mark.django_db
def test_rows_as_of_follow_what_the_actor_may_read_and_take_one_query(personas):
    hidden = factories.item_type(personas, marking=Marking.OWNER)
    shown = factories.item_type(personas)
    with CaptureQueriesContext(connection) as queries:
        rows = rows_as_of(ItemType, timezone.now(), personas.donor_editor, ("id",))
    assert len(queries) == 1
    ids = {row["id"] for row in rows}
    assert shown.pk in ids and hidden.pk not in ids
    assert hidden.pk in {row["id"] for row in rows_as_of(ItemType, timezone.now(), personas.coordinator, ("id",))}


def test_an_unknown_column_is_a_programmers_error():
    with pytest.raises(RuntimeError, match="no columns"):
        rows_as_of(ItemType, timezone.now(), Actor.anonymous(), ("nonsense",))
