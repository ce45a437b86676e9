"""The bulk write path (`core.bulk`) against the single-record path it stands in for.

A file imported in bulk must give the same rows and the same ledger entries (apart from times, ids and salts)
as its rows written one at a time through the same services, the way a form writes them; and the same
problems, row by row, when some rows are bad, with nothing written."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests import factories
from umbrella.core import bulk, imports
from umbrella.core.access import Actor, Marking, visibility_q, visible_in_memory
from umbrella.core.errors import DomainError
from umbrella.core.ledger import canonical_json, snapshot
from umbrella.core.models import ChangeRecord, LedgerHead
from umbrella.core.tabular import read_table
from umbrella.pledges.models import Pledge, PledgeSource

HEADER = ["item_type", "quantity", "available_from", "value_eur", "marking", "reference", "source_kind", "source_url",
          "source_document", "source_date"]  # fmt: skip
VALID_ROW = {
    "quantity": "250",
    "available_from": "2027-12-31",
    "value_eur": "3500000",
    "marking": "coordination",
    "reference": "PKG-1",
    "source_url": "https://example.org/a",
    "source_document": "MoD letter 17",
    "item": "known",
}
VOLATILE = {"id", "pledge_id", "created_at", "updated_at"}

pledge_rows = st.lists(
    st.fixed_dictionaries(
        {
            "quantity": st.sampled_from(["1", "250", "1000000", "0", "many"]),
            "available_from": st.sampled_from(["2026-03-01", "2027-12-31", "2150-01-01", "31/02/2026"]),
            "value_eur": st.sampled_from(["", "3500000", "12.50", "-4"]),
            "marking": st.sampled_from(["coordination", "participants", "public", "owner"]),
            "reference": st.text(alphabet="AZ09-", max_size=6),
            "source_url": st.sampled_from(["https://example.org/a", "", "not a url"]),
            "source_document": st.sampled_from(["", "MoD letter 17"]),
            "item": st.sampled_from(["known", "other", "unknown"]),
        }
    ),
    min_size=1,
    max_size=8,
)


def _csv(rows: list[dict], codes: dict[str, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([codes[row["item"]], row["quantity"], row["available_from"], row["value_eur"], row["marking"],
                         row["reference"], "official", row["source_url"], row["source_document"], "2026-01-05"])  # fmt: skip
    return buffer.getvalue().encode()


def _written_since(size: int) -> tuple[list[dict], list[dict]]:
    """The pledge and source rows and the ledger entries written after the ledger had `size` entries, with
    what differs between two writes of the same records (ids, times, salts, hashes) left out."""
    entries = list(ChangeRecord.objects.filter(sequence__gt=size).order_by("sequence"))
    ids = {(entry.entity, entry.entity_id) for entry in entries}
    rows = [
        {key: value for key, value in snapshot(row).items() if key not in VOLATILE}
        for model in (Pledge, PledgeSource)
        for row in model.objects.order_by("pk")
        if (model._meta.label_lower, str(row.pk)) in ids
    ]
    kept = ("actor_user", "actor_organization", "action", "entity", "marking", "owner", "before")
    ledger = [
        {**{name: getattr(entry, name) for name in kept}, "after": {k: v for k, v in entry.after.items() if k not in VOLATILE}}
        for entry in entries
    ]
    return rows, ledger


def _bulk(actor: Actor, data: bytes) -> tuple[list, list, list]:
    with transaction.atomic():
        size = LedgerHead.objects.get().size
        report = imports.run_import(
            imports.importer_for("pledges"), actor=actor, table=read_table(data, "p.csv", max_bytes=10**6), filename="p.csv",
            dry_run=False,
        )  # fmt: skip
        rows, ledger = _written_since(size)
        transaction.set_rollback(True)
    return rows, ledger, [(error.row, error.column, error.value, error.reason) for error in report.errors]


def _one_by_one(actor: Actor, data: bytes) -> tuple[list, list, list]:
    """Each row parsed, then written by the importer's service on its own, outside any batch (as a form)."""
    importer = imports.importer_for("pledges")
    table = read_table(data, "p.csv", max_bytes=10**6)
    context = imports.ImportContext(actor=actor, options={})
    problems = []
    with transaction.atomic():
        size = LedgerHead.objects.get().size
        for number, cells in table.rows:
            values, errors = imports._parse_row(importer, table.header, number, cells, context)
            if not errors:
                try:
                    with transaction.atomic():
                        importer.write(values, context)
                except DomainError as error:
                    errors = imports._errors_from(error, importer, number, dict(zip(table.header, cells, strict=False)))
            problems.extend((error.row, error.column, error.value, error.reason) for error in errors)
        rows, ledger = _written_since(size)
        transaction.set_rollback(True)
    return rows, ledger, problems


@pytest.mark.django_db(transaction=False)
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=pledge_rows)
@example(rows=[VALID_ROW, {**VALID_ROW, "item": "other", "value_eur": "", "source_url": "", "marking": "public"}, VALID_ROW])
def test_a_file_in_bulk_writes_what_its_rows_would_one_by_one(personas, rows):
    codes = {"known": _item(personas, "known").code, "other": _item(personas, "other").code, "unknown": "NO-SUCH-ITEM"}
    data = _csv(rows, codes)
    bulk_rows, bulk_ledger, bulk_problems = _bulk(personas.donor_editor, data)
    single_rows, single_ledger, single_problems = _one_by_one(personas.donor_editor, data)
    assert bulk_problems == single_problems
    if bulk_problems:
        assert (bulk_rows, bulk_ledger) == ([], [])
    else:
        assert bulk_rows == single_rows and len(bulk_rows) == 2 * len(rows)
        assert bulk_ledger == single_ledger


def _item(personas, name: str):
    """One item type per name for the whole test (hypothesis runs every example in the same database)."""
    from umbrella.catalog.models import ItemType

    found = ItemType.objects.filter(name=f"Bulk test {name}").first()
    return found or factories.item_type(personas, name=f"Bulk test {name}")


@pytest.mark.django_db
def test_a_file_of_item_types_finds_a_duplicate_within_itself_as_one_by_one_would(personas):
    data = b"code,name,capability_area,unit_value_eur\nDUP-1,First,artillery,10\nDUP-1,Second,artillery,10\n"
    report = imports.run_import(
        imports.importer_for("item-types"), actor=personas.coordinator, table=read_table(data, "t.csv", max_bytes=10**6),
        filename="t.csv", dry_run=True,
    )  # fmt: skip
    assert [(error.row, error.column) for error in report.errors] == [(3, "code")], report.errors
    assert "already exists" in report.errors[0].reason


@pytest.mark.django_db
def test_a_failing_row_of_a_file_that_reads_earlier_rows_loses_none_of_them(personas):
    """The rows before a uniqueness check are written outside the savepoint of the row that fails, so a third
    copy of a code is still found to clash with the first after the second copy's row was refused."""
    data = (
        b"code,name,capability_area,unit_value_eur\n"
        b"KEEP-1,First,artillery,10\nKEEP-1,Again,artillery,10\nKEEP-1,Once more,artillery,10\n"
    )
    report = imports.run_import(
        imports.importer_for("item-types"), actor=personas.coordinator, table=read_table(data, "t.csv", max_bytes=10**6),
        filename="t.csv", dry_run=False,
    )  # fmt: skip
    assert [(error.row, error.column) for error in report.errors] == [(3, "code"), (4, "code")], report.errors
    assert not report.written


@pytest.mark.django_db
def test_a_service_that_reads_earlier_rows_undeclared_is_refused_not_silently_wrong(personas):
    from umbrella.catalog import services as catalog

    with transaction.atomic(), pytest.raises(RuntimeError, match="rows_read_earlier_rows"):
        with bulk.deferred_writes() as batch:
            for code in ("UND-1", "UND-2"):
                batch.start_row()
                catalog.create_item_type(
                    actor=personas.coordinator,
                    fields={"code": code, "name": code, "capability_area": _area(), "unit_value_eur": 1},
                )


def _area():
    from umbrella.catalog.models import CapabilityArea

    return CapabilityArea.objects.get(code="artillery")


@pytest.mark.django_db
@pytest.mark.parametrize("marking", [choice for choice, _label in Marking.choices])
def test_the_in_memory_visibility_rule_is_the_query_rule(personas, marking):
    """What the bulk path checks in memory (can the writer still see the row?) is what `visible_to` reads."""
    pledge = factories.pledge(personas, marking=marking)
    source = pledge.sources.first()
    for actor in personas.actors.values():
        for row in (pledge, source):
            expected = type(row).objects.filter(visibility_q(actor, getattr(type(row), "visibility_path", ""))).filter(pk=row.pk)
            assert visible_in_memory(actor, row) == expected.exists(), (actor.label(), marking, type(row).__name__)


@pytest.mark.django_db
def test_a_snapshot_is_what_the_ledger_json_gives_back(personas):
    """`snapshot` converts values without writing and reading JSON; for every column of every kind of row the
    demo-like factories make, the result is what the round trip through the ledger's JSON gives."""
    from umbrella.core.verify import ledgered_models

    factories.pledge(personas)
    factories.requirement_list(personas, requirements=2)
    checked = 0
    for model in ledgered_models():
        for row in model.objects.all()[:5]:
            raw = {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}
            expected = {key: value for key, value in json.loads(canonical_json(raw)).items() if key in snapshot(row)}
            secret = getattr(row, "ledger_secret_fields", frozenset())
            assert {k: v for k, v in snapshot(row).items() if k not in secret} == {
                k: v for k, v in expected.items() if k not in secret
            }
            checked += 1
    assert checked > 10


@pytest.mark.django_db
def test_remembered_cleaning_reports_and_cleans_as_django_does_value_after_value(personas):
    """A value is remembered only once it cleaned without error, by its exact type and (for an amount) its digits:
    1.00 and 1.000 are equal, and only the first fits two decimal places; 5 and "5" are not the same value."""
    item = factories.item_type(personas)
    remembered = bulk.RememberedCleaning()
    values = [
        ("value_eur", Decimal("1.00")), ("value_eur", Decimal("1.000")), ("value_eur", Decimal("1.00")),
        ("value_eur", Decimal("-1")), ("value_eur", Decimal("-1")), ("quantity", 5), ("quantity", "5"), ("quantity", 0),
        ("quantity", 0), ("available_from", dt.date(2027, 1, 1)), ("marking", "nobody"),
        ("marking", "nobody"), ("marking", Marking.PUBLIC), ("reference", "x" * 81), ("reference", "x" * 81),
        ("end_use_restrictions", " Not beyond UA "), ("end_use_restrictions", " Not beyond UA "),
    ]  # fmt: skip
    for name, value in values * 2:
        fields = {"quantity": 3, "available_from": dt.date(2027, 3, 1), "value_eur": Decimal("10.00"), name: value}
        owner = personas.donor_editor.organization
        with_memory, by_django = Pledge(owner=owner, item_type=item, **fields), Pledge(owner=owner, item_type=item, **fields)
        outcomes = []
        for obj, clean in ((with_memory, lambda o: remembered.full_clean(o, ["owner", "item_type"])),
                           (by_django, lambda o: o.full_clean(exclude=["owner", "item_type"], validate_unique=False,
                                                              validate_constraints=False))):  # fmt: skip
            try:
                clean(obj)
                outcomes.append({})
            except ValidationError as error:
                outcomes.append(error.message_dict)
        assert outcomes[0] == outcomes[1], (name, value)
        assert snapshot(with_memory) == snapshot(by_django), (name, value)
        assert type(getattr(with_memory, name)) is type(getattr(by_django, name)), (name, value)


def _instance_state(obj) -> tuple:
    """What an instance holds: its attributes in order, its state, and the related objects it caches."""
    values = [(key, value) for key, value in obj.__dict__.items() if key != "_state"]
    return values, obj._state.db, obj._state.adding, dict(obj._state.fields_cache)


@pytest.mark.django_db
def test_an_instance_built_for_the_bulk_path_is_the_one_django_builds(personas):
    """`bulk.new_instance` and `bulk.set_related` stand in for `Model(**values)` and setting a foreign key:
    the same attributes, in the same order, the same cached objects and database, the same refusals."""
    item = factories.item_type(personas)
    owner = personas.donor_editor.organization
    user = personas.donor_editor.user
    pledge_values = {"owner": owner, "item_type": item, "quantity": 3, "available_from": dt.date(2027, 1, 1),
                     "value_eur": Decimal("10.00"), "reference": "R-1"}  # fmt: skip
    built, by_django = bulk.new_instance(Pledge, dict(pledge_values)), Pledge(**pledge_values)
    assert _instance_state(built) == _instance_state(by_django)
    bulk.set_related(built, "created_by", user)
    by_django.created_by = user
    assert _instance_state(built) == _instance_state(by_django)
    day = dt.date(2026, 1, 1)
    for values in ({"pledge": built, "added_by": owner, "kind": "official", "url": "https://example.org/a", "date": day},
                   {"pledge": built, "added_by": None, "kind": "media", "date": day}):  # fmt: skip
        assert _instance_state(bulk.new_instance(PledgeSource, dict(values))) == _instance_state(PledgeSource(**values))
    assert _instance_state(bulk.new_instance(Pledge, {"owner_id": owner.pk, "quantity": 1})) == _instance_state(
        Pledge(owner_id=owner.pk, quantity=1)
    )
    for wrong in ({"owner": item}, {"nonsense": 1}, {"quantity": 1, "owner": owner, "owner_id": owner.pk}):
        outcomes = []
        for build in (lambda given: bulk.new_instance(Pledge, dict(given)), lambda given: Pledge(**given)):
            try:
                outcomes.append(_instance_state(build(wrong))[0])
            except (TypeError, ValueError) as error:
                outcomes.append((type(error), str(error)))
        assert outcomes[0] == outcomes[1], wrong
