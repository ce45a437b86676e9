import csv
import datetime as dt
import io
import time
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from tests import factories
from umbrella.core import exports, imports
from umbrella.core.errors import UnreadableFile
from umbrella.core.imports import date as parse_date
from umbrella.core.models import ChangeRecord
from umbrella.core.tabular import read_table
from umbrella.eum import services as eum
from umbrella.pledges.models import Pledge

PLEDGE_HEADER = "item_type,quantity,available_from,source_kind,source_url,source_document,source_date\n"


def run_import(*args, **options) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("import", *[str(a) for a in args], stdout=out, **options)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


@pytest.mark.django_db
def test_five_different_bad_pledge_rows_are_all_reported_and_nothing_is_written(personas, tmp_path):
    item = factories.item_type(personas)
    path = tmp_path / "pledges.csv"
    path.write_text(
        PLEDGE_HEADER
        + f"{item.code},10,2026-03-01,official,https://example.invalid/a,,2026-01-05\n"  # good
        + "NO-SUCH-ITEM,10,2026-03-01,official,https://example.invalid/b,,2026-01-05\n"  # row 3: unknown item
        + f"{item.code},-3,2026-03-01,official,https://example.invalid/c,,2026-01-05\n"  # row 4: negative
        + f"{item.code},10,31/02/2026,official,https://example.invalid/d,,2026-01-05\n"  # row 5: bad date
        + f"{item.code},10,2026-03-01,rumour,https://example.invalid/e,,2026-01-05\n"  # row 6: bad kind
        + f"{item.code},10,2026-03-01,media,,,2026-01-05\n"  # row 7: no URL and no document
    )
    pledges_before, ledger_before = Pledge.objects.count(), ChangeRecord.objects.count()
    code, output = run_import("pledges", path, user="alice")
    assert code == 1
    for expected in (
        "row 3, column 'item_type'",
        "row 4, column 'quantity'",
        "row 5, column 'available_from'",
        "row 6, column 'source_kind'",
        "row 7, column 'source_url'",
    ):
        assert expected in output, output
    assert "5 problem(s)" in output
    assert (Pledge.objects.count(), ChangeRecord.objects.count()) == (pledges_before, ledger_before)


@pytest.mark.django_db
def test_a_valid_file_imports_through_the_services_with_a_ledger_entry_per_record(personas, tmp_path):
    item = factories.item_type(personas)
    path = tmp_path / "pledges.csv"
    rows = "".join(f"{item.code},{n},2026-03-01,donor-confirmed,,DOC-{n},2026-01-05\n" for n in range(1, 4))
    path.write_bytes(("\ufeff" + PLEDGE_HEADER.replace(",", ";") + rows.replace(",", ";")).encode("utf-8"))
    ledger_before = ChangeRecord.objects.count()
    assert run_import("pledges", path, user="alice", dry_run=True)[0] == 0
    assert ChangeRecord.objects.count() == ledger_before
    code, output = run_import("pledges", path, user="alice")
    assert code == 0, output
    imported = Pledge.objects.filter(owner__code="XDA", item_type=item)
    assert sorted(imported.values_list("quantity", flat=True)) == [1, 2, 3]
    assert ChangeRecord.objects.count() == ledger_before + 6  # three pledges and their three sources


@pytest.mark.django_db
def test_a_row_the_actor_may_not_write_is_reported_not_written(personas, tmp_path):
    item = factories.item_type(personas)
    path = tmp_path / "pledges.csv"
    path.write_text(
        PLEDGE_HEADER.rstrip("\n") + ",donor\n" + f"{item.code},1,2026-03-01,official,https://example.invalid,,2026-01-05,XDB\n"
    )
    code, output = run_import("pledges", path, user="alice")
    assert code == 1 and "You import pledges of XDA only, not of XDB." in output
    assert not Pledge.objects.exists()


@pytest.mark.django_db
def test_a_kind_the_actors_organization_does_not_import_is_refused_before_the_file_is_read(personas, tmp_path):
    path = tmp_path / "pledges.csv"
    path.write_text("not,the,columns\n")
    code, output = run_import("pledges", path, user="rita")
    assert code == 2 and "Importing pledges is done by: Donor, Multilateral donor." in output


def _xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 60_000_000)


def _entity_expansion(path: Path) -> None:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        '<!ENTITY lol{} "{}">'.format(level, f"&lol{level - 1};" * 10) for level in range(1, 10)
    )
    laughs = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )
    source = zipfile.ZipFile(io.BytesIO(_xlsx_bytes([["a"]])))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            data = laughs.encode() if entry.filename == "xl/worksheets/sheet1.xml" else source.read(entry)
            archive.writestr(entry, data)


@pytest.mark.django_db
@pytest.mark.parametrize("make, message", [(_zip_bomb, "zip bomb"), (_entity_expansion, "declares XML entities")])
def test_a_hostile_workbook_is_refused_quickly_with_one_clear_message(personas, tmp_path, make, message):
    path = tmp_path / "hostile.xlsx"
    make(path)
    started = time.monotonic()
    code, output = run_import("pledges", path, user="alice")
    assert time.monotonic() - started < 2.0
    assert code == 2 and message in output


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, name, message",
    [
        ("item_type;quantity\n".encode("utf-16"), "p.csv", "binary file"),
        ("item_type,quantity\nabc,\xe9\n".encode("latin-1"), "p.csv", "not UTF-8"),
        (b"item_type,quantity\nA,1\n", "p.csv", "missing columns: available_from, source_kind, source_date"),
        (PLEDGE_HEADER.replace("source_date", "source_date,colour").encode(), "p.csv", "unknown columns: colour"),
        (b"just some text", "p.pdf", "only .csv and .xlsx"),
        (b"", "p.csv", "is empty"),
    ],
)
def test_a_file_that_cannot_be_read_at_all_exits_2_with_one_message(personas, tmp_path, content, name, message):
    path = tmp_path / name
    path.write_bytes(content)
    code, output = run_import("pledges", path, user="alice")
    assert code == 2 and message in output


@pytest.mark.django_db
def test_an_xlsx_file_imports_like_a_csv(personas, tmp_path):
    item = factories.item_type(personas)
    path = tmp_path / "pledges.xlsx"
    path.write_bytes(
        _xlsx_bytes(
            [
                PLEDGE_HEADER.strip().split(","),
                [item.code, 7, "2026-03-01", "media", "https://example.invalid/x", None, "2026-01-05"],
            ]
        )
    )
    code, output = run_import("pledges", path, user="alice")
    assert code == 0, output
    assert Pledge.objects.filter(item_type=item, quantity=7).exists()


@pytest.mark.django_db
def test_an_export_imports_again_and_neutralises_formulas(personas, tmp_path):
    item = factories.item_type(personas, name='=HYPERLINK("http://evil.invalid")')
    pledge = factories.pledge(personas, item=item)
    csv_bytes = exports.render(exports.exporter_for("item-types"), personas.donor_editor, "csv")
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert next(r for r in rows if r["code"] == item.code)["name"] == '\'=HYPERLINK("http://evil.invalid")'
    xlsx = exports.render(exports.exporter_for("item-types"), personas.donor_editor, "xlsx")
    sheet = load_workbook(io.BytesIO(xlsx)).active
    names = [row[2] for row in sheet.iter_rows(values_only=True)]
    assert '\'=HYPERLINK("http://evil.invalid")' in names
    path = tmp_path / "pledges.csv"
    path.write_bytes(exports.render(exports.exporter_for("pledges"), personas.donor_editor, "csv"))
    code, output = run_import("pledges", path, user="alice", dry_run=True)
    assert code == 0, output
    assert f"{Pledge.objects.filter(owner=pledge.owner).count()} pledges row(s) checked" in output


@pytest.mark.django_db
def test_an_export_holds_only_what_the_actor_may_see(personas):
    factories.pledge(personas, marking="owner")
    rows = exports.render(exports.exporter_for("pledges"), personas.second_donor, "csv").decode("utf-8-sig").splitlines()
    assert not [row for row in rows[1:] if row.startswith("XDA,")]


cell_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(str.strip)


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    header=st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=5, unique=True),
    body=st.lists(st.lists(cell_text, min_size=5, max_size=5), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    bom=st.booleans(),
)
def test_any_csv_reads_back_the_cells_it_was_written_with(header, body, delimiter, bom):
    rows = [row[: len(header)] for row in body if any(row[: len(header)])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    data = (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")
    table = read_table(data, "t.csv", max_bytes=10_000)
    assert table.header == header
    assert [cells[: len(header)] for _, cells in table.rows] == rows


def test_a_file_over_the_size_limit_is_refused():
    with pytest.raises(UnreadableFile, match="is 8 bytes; the limit is 7"):
        read_table(b"a,b\n1,2\n", "t.csv", max_bytes=7)


def test_an_upload_left_in_preview_for_more_than_a_day_is_forgotten():
    import os
    import time as clock

    from umbrella.ui import uploads

    old = uploads.keep(b"a,b\n", user_id=1, organization_id=None, kind="pledges", filename="old.csv", list_reference="")
    folder = uploads._folder()
    two_days_ago = clock.time() - 2 * uploads.KEEP_SECONDS
    for suffix in (".bin", ".json"):
        os.utime(folder / f"{old.token}{suffix}", (two_days_ago, two_days_ago))
    fresh = uploads.keep(b"a,b\n", user_id=1, organization_id=None, kind="pledges", filename="new.csv", list_reference="")
    assert not (folder / f"{old.token}.bin").exists() and not (folder / f"{old.token}.json").exists()
    assert uploads.fetch(fresh.token, user_id=1)[1] == b"a,b\n"
    uploads.discard(fresh.token)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("2027-02-30", "no such day: February 2027 has 28 days"),
        ("2028-02-30", "no such day: February 2028 has 29 days"),
        ("2027-04-31", "no such day: April 2027 has 30 days"),
        ("2027-13-01", "no such day: there is no month 13"),
        ("30/02/2027", "not a date in the form YYYY-MM-DD"),
    ],
)
def test_a_date_that_names_no_day_says_why(text, reason):
    with pytest.raises(ValueError) as refused:
        parse_date(text, None)
    assert str(refused.value) == reason
    assert parse_date("2028-02-29", None).isoformat() == "2028-02-29"


def _options_for(kind: str, personas) -> dict:
    """What a kind needs to be run at all: sightings go into an open inventory."""
    if kind == "sightings":
        inventory = eum.open_inventory(
            actor=personas.coordinator, fields={"conducted_on": dt.date(2026, 1, 1), "method": "physical"}
        )
        return {"inventory": inventory.pk}
    return {}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(kind for kind, importer in imports.REGISTRY.items() if importer.example))
def test_the_templates_example_row_left_in_a_file_is_refused_not_imported(personas, kind):
    header, example = imports.importer_for(kind).template_rows()
    table = read_table(exports.to_csv(header, [example]), f"{kind}.csv", max_bytes=1_000_000)
    report = imports.run_import(
        imports.importer_for(kind),
        actor=personas.coordinator,
        table=table,
        filename=f"{kind}.csv",
        dry_run=True,
        options=_options_for(kind, personas),
    )
    assert [(error.row, error.reason) for error in report.errors] == [
        (2, "This is the template's example row: replace it with your own data or delete it.")
    ]
