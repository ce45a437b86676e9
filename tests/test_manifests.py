"""Manifests: a consignment's lines exported one row per serial (CSV, XLSX, HXL) to whoever may see it, and imported
into a planned consignment, every row checked and nothing written on any error; an exported manifest imported into a
new planned consignment gives the same lines and serials."""

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client

from tests.test_logistics import allocated, step
from umbrella.core import exports, imports
from umbrella.core.access import Actor
from umbrella.core.errors import NotFound
from umbrella.core.models import ChangeRecord
from umbrella.core.tabular import read_table
from umbrella.logistics import services as logistics
from umbrella.logistics.exports import lines_of
from umbrella.logistics.importers import split_list
from umbrella.logistics.models import Consignment, ConsignmentLine
from umbrella.orgs.services import issue_token


@pytest.fixture
def places(personas):
    from tests import factories

    return factories.hub_and_city(personas)


@pytest.fixture
def shipment(personas, places):
    """One donor's planned consignment of 3 serial-tracked launchers and 40 boxes of ammunition in two lots, and the
    allocations it ships (each with more left to ship)."""
    launchers = allocated(personas, quantity=5, sensitive=True)
    shells = allocated(personas, quantity=100, bulk=True)
    consignment = logistics.create_consignment(
        actor=personas.donor_editor,
        fields={"reference": "CN-MANIFEST-1"},
        lines=[
            {"allocation": launchers["allocation"].pk, "quantity": 3, "serials": ["LN-001", "LN-002", "LN-003"]},
            {"allocation": shells["allocation"].pk, "quantity": 40, "lots": ["LOT-A", "LOT-B"]},
        ],
        legs=[{"from_place": places["hub"], "to_place": places["lviv"], "mode": "road", "planned_arrival": dt.date(2026, 6, 1)}],
    )
    return {"consignment": consignment, "launchers": launchers, "shells": shells}


def manifest_csv(actor, consignment) -> bytes:
    return exports.render(exports.exporter_for("manifest"), actor, "csv", queryset=lines_of(actor, consignment.pk))


def table_of(content: bytes, filename: str = "manifest.csv") -> list[dict[str, str]]:
    table = read_table(content, filename, max_bytes=settings.IMPORT_MAX_BYTES)
    return [dict(zip(table.header, cells, strict=False)) for _number, cells in table.rows]


def run(actor, content: str | bytes, *, filename: str = "manifest.csv", dry_run: bool = False) -> imports.ImportReport:
    data = content.encode() if isinstance(content, str) else content
    return imports.run_import(
        imports.importer_for("manifest"),
        actor=actor,
        table=read_table(data, filename, max_bytes=settings.IMPORT_MAX_BYTES),
        filename=filename,
        dry_run=dry_run,
    )


def api_client(personas, name: str) -> Client:
    actor = personas[name]
    _, secret = issue_token(
        actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="manifest"
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def lines_as_shipped(consignment) -> list[tuple]:
    return [
        (line.allocation_id, line.quantity, line.serials, line.lots)
        for line in ConsignmentLine.objects.filter(consignment=consignment).order_by("id")
    ]


@pytest.mark.django_db
def test_the_manifest_has_one_row_per_serial_and_one_per_line_otherwise(personas, shipment):
    rows = table_of(manifest_csv(personas.donor_editor, shipment["consignment"]))
    launchers, shells = shipment["launchers"], shipment["shells"]
    assert [(row["line"], row["serials"], row["lots"], row["quantity"]) for row in rows] == [
        ("1", "LN-001", "", "1"),
        ("1", "LN-002", "", "1"),
        ("1", "LN-003", "", "1"),
        ("2", "", "LOT-A; LOT-B", "40"),
    ]
    first = rows[0]
    assert first["consignment"] == "CN-MANIFEST-1"
    assert (first["allocation"], first["pledge"]) == (str(launchers["allocation"].pk), str(launchers["pledge"].pk))
    assert (first["item_type"], first["item_name"]) == (launchers["item"].code, launchers["item"].name)
    assert rows[3]["item_type"] == shells["item"].code


@pytest.mark.django_db
def test_only_who_may_see_the_consignment_gets_its_manifest(personas, shipment, as_client):
    consignment = shipment["consignment"]
    client = as_client("donor_editor")
    page = client.get(consignment.get_absolute_url())
    assert f"/consignments/{consignment.pk}/manifest.xlsx" in page.content.decode()
    assert "?kind=manifest" in page.content.decode()  # a planned consignment: its donor may add lines from a file
    xlsx = client.get(f"/consignments/{consignment.pk}/manifest.xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx["Content-Type"]
    assert [row["serials"] for row in table_of(xlsx.content, "manifest.xlsx")][:3] == ["LN-001", "LN-002", "LN-003"]
    hxl = api_client(personas, "donor_editor").get(f"/api/v1/consignments/{consignment.pk}/manifest?format=hxl")
    assert hxl.status_code == 200 and "#meta+serial" in hxl.content.decode("utf-8-sig").splitlines()[1]
    # The consignment is marked for coordination: another donor does not see it, and gets no manifest.
    other = as_client("second_donor")
    assert other.get(f"/consignments/{consignment.pk}/manifest.csv").status_code == 404
    assert api_client(personas, "second_donor").get(f"/api/v1/consignments/{consignment.pk}/manifest").status_code == 404
    with pytest.raises(NotFound):
        logistics._locked(personas.second_donor, consignment.pk)
    assert list(lines_of(personas.second_donor, consignment.pk)) == []


@pytest.mark.django_db
def test_a_manifest_exported_then_imported_into_a_new_planned_consignment_gives_the_same_lines(personas, shipment):
    first = shipment["consignment"]
    exported = manifest_csv(personas.donor_editor, first)
    # The first consignment is cancelled and planned again under its reference, with one box to start it.
    step(personas, first, "cancel", reason="Truck broke down")
    again = logistics.create_consignment(
        actor=personas.donor_editor,
        fields={"reference": "CN-MANIFEST-1"},
        lines=[{"allocation": shipment["shells"]["allocation"].pk, "quantity": 1}],
    )
    report = run(personas.donor_editor, exported)
    assert report.errors == [] and report.written and report.rows == 4
    assert lines_as_shipped(again)[1:] == lines_as_shipped(first)
    # The same file again: every serial is now on a live consignment, and nothing more is written.
    before = ConsignmentLine.objects.count()
    report = run(personas.donor_editor, exported)
    assert {(error.row, error.column) for error in report.errors} == {(2, "serials"), (3, "serials"), (4, "serials")}
    assert not report.written and ConsignmentLine.objects.count() == before


@pytest.mark.django_db
def test_an_xlsx_manifest_with_several_serials_in_a_cell_and_a_pledge_instead_of_the_allocation(personas, shipment):
    launchers = shipment["launchers"]
    header = ["consignment", "pledge", "serials"]
    rows = [["CN-MANIFEST-1", launchers["pledge"].pk, "LN-004; LN-005"]]
    content = exports.to_xlsx(header, rows, "manifest")
    report = run(personas.donor_editor, content, filename="manifest.xlsx")
    assert report.errors == [] and report.written
    added = ConsignmentLine.objects.filter(consignment=shipment["consignment"]).order_by("id").last()
    assert (added.allocation_id, added.quantity, added.serials) == (launchers["allocation"].pk, 2, ["LN-004", "LN-005"])


@pytest.mark.django_db
def test_every_bad_row_is_reported_with_its_column_value_and_reason_and_nothing_is_written(personas, shipment):
    launchers, shells = shipment["launchers"], shipment["shells"]
    lid, sid = launchers["allocation"].pk, shells["allocation"].pk
    code = launchers["item"].code
    content = "\n".join(
        [
            "consignment,line,allocation,item_type,serials,lots,quantity",
            f"CN-MANIFEST-1,1,{lid},{code},LN-010,,1",  # 2: good
            f"CN-MANIFEST-1,1,{lid},{code},LN-010,,1",  # 3: the serial of row 2 again
            f"CN-MANIFEST-1,1,{lid},{code},LN-001,,1",  # 4: already on the consignment
            f"CN-MANIFEST-1,2,{lid},{code},,,1",  # 5: a serial-tracked item without its serial
            "CN-MANIFEST-1,3,999999,,,,1",  # 6: no such allocation
            f"CN-MANIFEST-1,4,{sid},,,,70",  # 7: 60 left to ship
            f"CN-MANIFEST-1,5,{lid},{code},LN-011,LOT-X,1",  # 8: lots for a serial-tracked launcher
            f"CN-MANIFEST-1,6,{lid},WRONG-CODE,LN-012,,1",  # 9: not the allocation's item type
            f"CN-NOWHERE,1,{lid},WRONG-CODE,LN-013,,1",  # 10: no such consignment, and not the item type
            f"CN-MANIFEST-1,1,{sid},,,,1",  # 11: line 1 ships the launchers, not the shells
            f"CN-MANIFEST-1,7,{lid},{code},LN-014,,abc",  # 12: not a number
        ]
    )
    lines_before, entries_before = ConsignmentLine.objects.count(), ChangeRecord.objects.count()
    report = run(personas.donor_editor, content)
    found = {(error.row, error.column): (error.value, error.reason) for error in report.errors}
    assert set(found) == {
        (3, "serials"),
        (4, "serials"),
        (5, "serials"),
        (6, "allocation"),
        (7, "quantity"),
        (8, "lots"),
        (9, "item_type"),
        (10, "consignment"),
        (10, "item_type"),
        (11, "allocation"),
        (12, "quantity"),
    }, found
    assert found[(3, "serials")] == ("LN-010", "Serial numbers given earlier in this file: LN-010 (line 1 of CN-MANIFEST-1).")
    assert "already on another consignment" in found[(4, "serials")][1] and "LN-001" in found[(4, "serials")][1]
    assert "one serial number per unit (1), not 0" in found[(5, "serials")][1]
    assert found[(6, "allocation")] == ("999999", "No allocation 999999 that you can see.")
    assert found[(7, "quantity")] == ("70", "This allocation has 60 left to ship; 70 is more.")
    assert found[(9, "item_type")][0] == "WRONG-CODE" and code in found[(9, "item_type")][1]
    assert found[(10, "consignment")][0] == "CN-NOWHERE"
    assert found[(12, "quantity")] == ("abc", "not a whole number")
    assert not report.written
    assert (ConsignmentLine.objects.count(), ChangeRecord.objects.count()) == (lines_before, entries_before)


@pytest.mark.django_db
def test_rows_of_one_line_add_up_and_a_dry_run_writes_nothing(personas, shipment):
    lid = shipment["launchers"]["allocation"].pk
    content = f"consignment,line,allocation,serials\nCN-MANIFEST-1,1,{lid},LN-020\nCN-MANIFEST-1,1,{lid},LN-021\n"
    lines_before = ConsignmentLine.objects.count()
    assert run(personas.donor_editor, content, dry_run=True).errors == []
    assert ConsignmentLine.objects.count() == lines_before
    assert run(personas.donor_editor, content).written
    added = ConsignmentLine.objects.filter(consignment=shipment["consignment"]).order_by("id").last()
    assert (added.quantity, added.serials) == (2, ["LN-020", "LN-021"])
    # Two more would be 5 of 5: a third is over what the allocation has left.
    over = f"consignment,allocation,serials\nCN-MANIFEST-1,{lid},LN-030; LN-031; LN-032\n"
    assert [error.column for error in run(personas.donor_editor, over).errors] == ["quantity"]


@pytest.mark.django_db
def test_only_a_planned_consignment_of_ones_own_takes_a_manifest(personas, shipment):
    lid = shipment["launchers"]["allocation"].pk
    content = f"consignment,allocation,serials\nCN-MANIFEST-1,{lid},LN-040\n"
    # Another donor sees neither the consignment nor the allocation, and is told both.
    assert sorted(error.column for error in run(personas.second_donor, content).errors) == ["allocation", "consignment"]
    step(personas, shipment["consignment"], "dispatch")
    refused = run(personas.donor_editor, content).errors
    assert [error.column for error in refused] == ["consignment"] and "planned consignment only" in refused[0].reason
    assert Consignment.objects.get(pk=shipment["consignment"].pk).lines.count() == 2


def test_a_cell_of_serials_splits_on_semicolons_commas_and_line_breaks_and_loses_the_exports_apostrophe():
    assert split_list("A-1; A-2,A-3\nA-4 ;; ") == ["A-1", "A-2", "A-3", "A-4"]
    assert split_list(exports.neutralise("-0042")) == ["-0042"] and split_list("'O'Brien-7") == ["'O'Brien-7"]


def test_the_template_names_every_column_and_its_example_is_one_serial_of_one_line():
    header, example = imports.importer_for("manifest").template_rows()
    assert header == ["id", "consignment", "line", "allocation", "pledge", "item_type", "serials", "lots", "quantity"]
    row = dict(zip(header, example, strict=True))
    assert row["consignment"] and row["allocation"] and row["serials"] and row["quantity"] == "1" and not row["lots"]
    assert not row["id"]  # a new line: only an exported manifest names the lines it carries


@pytest.mark.django_db
def test_coordination_staff_fill_a_donors_consignment_on_its_behalf(personas, shipment):
    lid = shipment["launchers"]["allocation"].pk
    report = run(personas.coordinator, f"consignment,allocation,serials\nCN-MANIFEST-1,{lid},LN-060\n")
    assert report.errors == [] and report.written
    added = shipment["consignment"].lines.order_by("id").last()
    assert (added.serials, added.consignment.owner) == (["LN-060"], personas.donor_editor.organization)


@pytest.mark.django_db
def test_the_import_page_previews_a_manifest_then_commits_it(personas, shipment, as_client):
    import re

    from django.core.files.uploadedfile import SimpleUploadedFile

    lid = shipment["launchers"]["allocation"].pk
    client = as_client("donor_editor")
    assert "manifest" in client.get("/import/?kind=manifest").content.decode()
    template = client.get("/import/template/manifest.csv").content.decode("utf-8-sig").splitlines()
    assert template[0] == "id,consignment,line,allocation,pledge,item_type,serials,lots,quantity"
    text = f"consignment,allocation,serials\nCN-MANIFEST-1,{lid},LN-050\nCN-MANIFEST-1,{lid},LN-051\n"
    response = client.post("/import/", {"kind": "manifest", "file": SimpleUploadedFile("m.csv", text.encode())})
    token = re.search(r'action="/import/([A-Za-z0-9_-]+)/commit/"', response.content.decode()).group(1)
    assert client.post(f"/import/{token}/commit/").status_code == 302
    assert shipment["consignment"].lines.order_by("id").last().serials == ["LN-050", "LN-051"]
    done = client.get("/import/done/").content.decode()
    label = f"2 × {shipment['launchers']['item'].name}"
    assert done.count(label) == 1 and "1 × " not in done  # the line two rows wrote, once, as it ended


def edited(content: bytes, change) -> str:
    """The exported manifest with each row passed through `change` (a dict of the row's cells → the row, or None
    to leave it out), as CSV text."""
    rows = table_of(content)
    header = list(rows[0])
    kept = [row for row in (change(dict(row)) for row in rows) if row is not None]
    return "\n".join([",".join(header), *(",".join(row[name] for name in header) for row in kept)]) + "\n"


def entries_since(sequence: int) -> list[ChangeRecord]:
    return list(ChangeRecord.objects.filter(sequence__gt=sequence).order_by("sequence"))


def last_sequence() -> int:
    return ChangeRecord.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


@pytest.mark.django_db
def test_an_exported_manifest_imported_again_unchanged_writes_nothing(personas, shipment):
    consignment = shipment["consignment"]
    before, since = lines_as_shipped(consignment), last_sequence()
    report = run(personas.donor_editor, manifest_csv(personas.donor_editor, consignment))
    assert report.errors == [] and report.written and report.rows == 4
    assert lines_as_shipped(consignment) == before
    assert entries_since(since) == []
    # The rows in another order (a sorted spreadsheet) are the same lines.
    shuffled = edited(manifest_csv(personas.donor_editor, consignment), lambda row: row)
    header, *rows = shuffled.splitlines()
    assert run(personas.donor_editor, "\n".join([header, *reversed(rows)])).written
    assert lines_as_shipped(consignment) == before and entries_since(since) == []


@pytest.mark.django_db
def test_an_edited_manifest_updates_the_lines_it_names_instead_of_adding_lines(personas, shipment):
    consignment = shipment["consignment"]
    launchers, shells = shipment["launchers"]["allocation"], shipment["shells"]["allocation"]

    def fix(row):
        if row["serials"] == "LN-002":
            row["serials"] = "LN-002X"  # a typing slip corrected
        if row["serials"] == "LN-003":
            return None  # one launcher fewer
        if not row["serials"]:
            row["quantity"] = "55"  # more boxes
        return row

    since = last_sequence()
    report = run(personas.donor_editor, edited(manifest_csv(personas.donor_editor, consignment), fix))
    assert report.errors == [] and report.written
    assert lines_as_shipped(consignment) == [
        (launchers.pk, 2, ["LN-001", "LN-002X"], []),
        (shells.pk, 55, [], ["LOT-A", "LOT-B"]),
    ]
    entries = entries_since(since)
    assert [(entry.action, entry.entity_id) for entry in entries] == [
        ("manifest", str(line.pk)) for line in consignment.lines.order_by("id")
    ]
    # LN-003 left the consignment: another line may now carry it.
    again = run(personas.donor_editor, f"consignment,allocation,serials\nCN-MANIFEST-1,{launchers.pk},LN-003\n")
    assert again.errors == [] and again.written


@pytest.mark.django_db
def test_an_edited_line_is_checked_as_a_whole_and_an_id_names_a_line_of_the_consignment_in_the_row(personas, shipment):
    consignment = shipment["consignment"]
    exported = manifest_csv(personas.donor_editor, consignment)
    launcher_line, shell_line = consignment.lines.order_by("id")

    def over(row):
        if not row["serials"]:
            row["quantity"] = "101"  # the allocation is of 100
        if row["serials"] == "LN-001":
            row["allocation"], row["pledge"], row["item_type"] = str(shipment["shells"]["allocation"].pk), "", ""
        return row

    since = last_sequence()
    report = run(personas.donor_editor, edited(exported, over))
    found = {(error.row, error.column): (error.value, error.reason) for error in report.errors}
    assert set(found) == {(2, "allocation"), (2, "serials"), (5, "quantity")}, found
    assert found[(2, "allocation")][1] == (
        f"The line with id {launcher_line.pk} ships allocation {launcher_line.allocation_id}, not {shell_line.allocation_id}."
    )
    assert found[(5, "quantity")] == ("101", "This allocation has 100 left to ship; 101 is more.")
    assert not report.written and entries_since(since) == []


@pytest.mark.django_db
def test_a_dispatched_consignment_takes_its_manifest_unchanged_and_refuses_any_change(personas, shipment):
    consignment = shipment["consignment"]
    exported = manifest_csv(personas.donor_editor, consignment)
    step(personas, consignment, "dispatch")
    before, since = lines_as_shipped(consignment), last_sequence()
    unchanged = run(personas.donor_editor, exported)
    assert unchanged.errors == [] and unchanged.written and entries_since(since) == []

    def change(row):
        if row["serials"] == "LN-002":
            row["serials"] = "LN-002X"
        if not row["serials"]:
            row["quantity"] = "41"
        return row

    report = run(personas.donor_editor, edited(exported, change))
    found = {(error.row, error.column): (error.value, error.reason) for error in report.errors}
    assert set(found) == {(3, "serials"), (5, "quantity")}, found
    launcher_line, shell_line = consignment.lines.order_by("id")
    assert found[(3, "serials")] == (
        "LN-002X",
        f"CN-MANIFEST-1 is dispatched, its lines no longer change: line id {launcher_line.pk} does not carry LN-002X.",
    )
    assert found[(5, "quantity")] == (
        "41",
        f"CN-MANIFEST-1 is dispatched, its lines no longer change: line id {shell_line.pk} carries 40, not 41.",
    )
    assert not report.written
    assert lines_as_shipped(consignment) == before and entries_since(since) == []


@pytest.mark.django_db
def test_rows_of_one_serial_tracked_line_write_the_line_once_with_one_ledger_entry(personas, shipment):
    lid = shipment["launchers"]["allocation"].pk
    # The allocation has 2 left: two rows, one serial each, of a new line.
    content = f"consignment,line,allocation,serials,quantity\nCN-MANIFEST-1,9,{lid},LN-070,1\nCN-MANIFEST-1,9,{lid},LN-071,1\n"
    since = last_sequence()
    assert run(personas.donor_editor, content).written
    added = shipment["consignment"].lines.order_by("id").last()
    assert (added.quantity, added.serials) == (2, ["LN-070", "LN-071"])
    entries = entries_since(since)
    assert [(entry.action, entry.entity_id, entry.after["serials"]) for entry in entries] == [
        ("create", str(added.pk), ["LN-070", "LN-071"])
    ]


@pytest.mark.django_db
def test_a_manifest_for_a_consignment_ending_outside_the_requirements_destination_warns_and_is_written(personas, shipment):
    launchers = shipment["launchers"]
    lid = launchers["allocation"].pk
    # The shipment ends at UA-46-LWO, a city of its own; the requirement is for Lviv (UA-LVIV).
    content = f"consignment,allocation,serials\nCN-MANIFEST-1,{lid},LN-080\nCN-MANIFEST-1,{lid},LN-081\n"
    dry = run(personas.donor_editor, content, dry_run=True)
    assert dry.errors == [] and [(warning.row, warning.column) for warning in dry.warnings] == [(2, "consignment")]
    assert dry.warnings[0].value == "CN-MANIFEST-1"
    assert dry.warnings[0].reason == (
        f"Allocation {lid} is for a requirement whose destination is UA-LVIV — Lviv, but CN-MANIFEST-1 ends at "
        "UA-46-LWO — UA-46-LWO, which is not within it."
    )
    report = run(personas.donor_editor, content)
    assert report.written and len(report.warnings) == 1
    # A consignment whose way ends in Lviv: no warning.
    from umbrella.places.models import Place

    lviv = Place.objects.get(code="UA-LVIV")
    logistics.create_consignment(
        actor=personas.donor_editor,
        fields={"reference": "CN-MANIFEST-2"},
        lines=[{"allocation": shipment["shells"]["allocation"].pk, "quantity": 1}],
        legs=[{"from_place": shipment["consignment"].legs.get().from_place, "to_place": lviv, "mode": "road"}],
    )
    sid = shipment["shells"]["allocation"].pk
    quiet = run(personas.donor_editor, f"consignment,allocation,quantity\nCN-MANIFEST-2,{sid},5\n", dry_run=True)
    assert quiet.errors == [] and quiet.warnings == []


@pytest.mark.django_db
def test_a_manifest_whose_consignments_changed_between_the_check_and_the_write_is_refused_whole(personas, shipment):
    from umbrella.core.errors import UnreadableFile

    lid = shipment["launchers"]["allocation"].pk
    importer, context = imports.importer_for("manifest"), imports.ImportContext(actor=personas.donor_editor, options={})
    importer.write({"consignment": "CN-MANIFEST-1", "allocation": lid, "serials": ["LN-090", "LN-091"]}, context)
    # Meanwhile the 2 launchers the allocation has left go on another consignment.
    logistics.create_consignment(
        actor=personas.donor_editor,
        fields={"reference": "CN-MEANWHILE"},
        lines=[{"allocation": lid, "quantity": 2, "serials": ["LN-100", "LN-101"]}],
    )
    lines_before = ConsignmentLine.objects.count()
    with pytest.raises(UnreadableFile) as refused:
        importer.finish(context)
    assert "changed while the manifest was checked" in refused.value.message and "0 left to ship" in refused.value.message
    assert ConsignmentLine.objects.count() == lines_before
