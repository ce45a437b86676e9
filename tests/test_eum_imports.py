"""`umbrella import sightings FILE --inventory ID`: every bad row reported at once with nothing written; a valid
file sights its serials and moves their due dates, from CSV and XLSX alike."""

import datetime as dt

import pytest
from django.utils import timezone

from tests import factories
from tests.test_imports import _xlsx_bytes, run_import
from umbrella.core.models import ChangeRecord
from umbrella.core.verify import verify
from umbrella.eum import services as eum
from umbrella.eum.models import Serial, SerialStatus, Sighting
from umbrella.eum.reads import schedule_differences

TODAY = timezone.localdate
HEADER = "item_type,serial,status,place,evidence_reference\n"


@pytest.fixture
def registry(personas):
    """Four of Donor A's missiles (one reported lost) and one of Donor B's, handed over 100 days ago."""
    item = factories.item_type(personas, sensitive=True, code="ATGM-X")
    day = TODAY() - dt.timedelta(days=100)
    for donor, number in [*(("donor_editor", f"A-{n}") for n in range(1, 5)), ("second_donor", "B-1")]:
        eum.register_serial(
            actor=personas.recipient,
            donor=personas[donor].organization,
            fields={"item_type": item, "serial": number, "handover_date": day},
        )
    lost = Serial.objects.get(serial="A-4")
    eum.report_loss(actor=personas.recipient, serial_id=lost.pk, kind="lost", occurred_on=day, circumstances="Ambush")
    return item


def inventory_of(actor):
    return eum.open_inventory(actor=actor, fields={"conducted_on": TODAY(), "method": "physical"})


@pytest.mark.django_db
def test_every_bad_row_is_reported_at_once_and_nothing_is_written(personas, registry, tmp_path):
    inventory = inventory_of(personas.donor_editor)
    path = tmp_path / "sightings.csv"
    path.write_text(
        HEADER
        + "ATGM-X,A-1,,,\n"  # fine
        + "ATGM-X,NOPE-9,,,\n"  # unknown serial
        + "ATGM-X,A-1,,,\n"  # repeated serial
        + "ATGM-X,B-1,,,\n"  # another donor's serial: to Donor A's inspector, not in the registry
        + "ATGM-X,A-4,,,\n"  # reported lost
        + "ATGM-X,A-2,destroyed,,\n"  # a status a sighting cannot have
        + "ATGM-X,A-3,,Atlantis,\n"  # an unknown place
    )
    entries = ChangeRecord.objects.count()
    code, output = run_import("sightings", path, user="alice", inventory=inventory.pk)
    assert code == 1, output
    assert "row 3," in output and "NOPE-9 is not in the registry" in output
    assert "row 4," in output and "Sighted twice in this inventory." in output
    assert "row 5," in output and "ATGM-X B-1 is not in the registry" in output
    assert "row 6," in output and "is recorded as lost since" in output
    assert "row 7," in output and "report a loss instead" in output
    assert "row 8," in output and "Atlantis" in output
    assert "6 problem(s) in 7 row(s)" in output
    assert not Sighting.objects.exists() and ChangeRecord.objects.count() == entries
    assert Serial.objects.get(serial="A-1").last_sighted_on is None


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_valid_file_sights_its_serials_and_moves_their_due_dates(personas, registry, tmp_path, kind):
    inventory = inventory_of(personas.recipient)
    rows = [["ATGM-X", "A-1", "", "", ""], ["ATGM-X", "A-2", "under_repair", "", "share://photo-2.jpg"]]
    path = tmp_path / f"sightings.{kind}"
    if kind == "csv":
        path.write_text(HEADER + "".join(",".join(row) + "\n" for row in rows))
    else:
        path.write_bytes(_xlsx_bytes([HEADER.strip().split(","), *rows]))
    assert Serial.objects.get(serial="A-1").due_on == TODAY() - dt.timedelta(days=10)

    assert run_import("sightings", path, user="rita", inventory=inventory.pk, dry_run=True)[0] == 0
    assert not Sighting.objects.exists()
    code, output = run_import("sightings", path, user="rita", inventory=inventory.pk)
    assert code == 0, output
    first, second, third = (Serial.objects.get(serial=f"A-{n}") for n in (1, 2, 3))
    assert (first.last_sighted_on, first.due_on) == (TODAY(), TODAY() + dt.timedelta(days=365))
    assert second.status == SerialStatus.UNDER_REPAIR and second.due_on == TODAY() + dt.timedelta(days=365)
    assert third.last_sighted_on is None and third.due_on == TODAY() - dt.timedelta(days=10)  # not in the file
    assert Sighting.objects.get(serial=second).evidence_reference == "share://photo-2.jpg"
    assert schedule_differences() == [] and verify().ok

    closed = eum.close_inventory(actor=personas.recipient, inventory_id=inventory.pk, expected_version=inventory.version)
    assert (closed.expected_count, closed.sighted_count) == (4, 2)  # B-1 is the recipient's to see; A-4 is lost


@pytest.mark.django_db
def test_an_import_needs_an_open_inventory_of_the_inspector(personas, registry, tmp_path):
    path = tmp_path / "sightings.csv"
    path.write_text(HEADER + "ATGM-X,A-1,,,\n")
    code, output = run_import("sightings", path, user="rita")
    assert code == 2 and "Name the open inventory" in output
    theirs = inventory_of(personas.auditor)
    code, output = run_import("sightings", path, user="rita", inventory=theirs.pk)
    assert code == 2 and "recorded by the organization that inspects" in output
    code, output = run_import("sightings", path, user="victor", inventory=theirs.pk)
    assert code == 2  # a donor's viewer does not inspect
    assert not Sighting.objects.exists()


@pytest.mark.django_db
def test_on_the_bulk_path_a_registered_serial_is_still_refused_and_a_new_one_is_due(personas, registry):
    """The bulk path takes the item type and donor in hand without a query, yet the uniqueness rule that names the
    item type still runs."""
    from django.db import transaction

    from umbrella.core import bulk
    from umbrella.core.errors import Invalid

    day = TODAY() - dt.timedelta(days=5)
    with transaction.atomic(), bulk.deferred_writes(rows_read_earlier_rows=True):
        with pytest.raises(Invalid) as duplicate:
            eum.register_serial(
                actor=personas.recipient,
                donor=personas.donor_editor.organization,
                fields={"item_type": registry, "serial": "A-1", "handover_date": day},
            )
        eum.register_serial(
            actor=personas.recipient,
            donor=personas.donor_editor.organization,
            fields={"item_type": registry, "serial": "A-99", "handover_date": day},
        )
    assert "already registered" in str(duplicate.value)
    assert Serial.objects.get(serial="A-99").due_on == day + dt.timedelta(days=90)
    assert schedule_differences() == [] and verify().ok
