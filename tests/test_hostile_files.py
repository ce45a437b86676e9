"""Small files built to exhaust the server are refused fast and within memory (issue #11, items 6 and 7).

The command runs as a subprocess of the installed entry point, under an address-space cap so that a reader
that regresses fails here instead of taking the machine; its wall time and peak resident memory are measured.
"""

import io
import json
import os
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from tests.test_imports import run_import

PLEDGE_COLUMNS = ["item_type", "quantity", "available_from", "source_kind", "source_url", "source_document", "source_date"]
SECONDS = 2.0
PEAK_BYTES = 200 * 1024 * 1024
SAFETY_CAP_BYTES = 1536 * 1024 * 1024  # address space: Python and Django alone need ~0.5 GB of it
SAFETY_TIMEOUT = 60


def _workbook_with_sheet(path: Path, dimension: str, far_cells: dict[int, list[tuple[str, str]]]) -> None:
    """A valid workbook whose first sheet is written by hand: the header row, then the given rows."""
    header = "".join(
        f'<c r="{get_column_letter(n)}1" t="inlineStr"><is><t>{name}</t></is></c>' for n, name in enumerate(PLEDGE_COLUMNS, 1)
    )
    rows = f'<row r="1">{header}</row>' + "".join(
        f'<row r="{row}">' + "".join(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>' for ref, value in cells) + "</row>"
        for row, cells in far_cells.items()
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    )
    buffer = io.BytesIO()
    Workbook().save(buffer)
    source = zipfile.ZipFile(buffer)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            archive.writestr(entry, sheet.encode() if entry.filename == "xl/worksheets/sheet1.xml" else source.read(entry))


def far_cell_workbook(path: Path) -> None:
    _workbook_with_sheet(path, "A1:XFD1048576", {1048576: [("XFD1048576", "x")]})


def declared_huge_workbook(path: Path) -> None:
    _workbook_with_sheet(path, "A1:XFD1048576", {})


def far_row_small_dimension_workbook(path: Path) -> None:
    _workbook_with_sheet(path, "A1:B2", {1048576: [("B1048576", "x")]})


def far_column_small_dimension_workbook(path: Path) -> None:
    _workbook_with_sheet(path, "A1:B2", {2: [("XFD2", "x")]})


def hundred_thousand_columns_csv(path: Path) -> None:
    path.write_text(",".join(f"column{n}" for n in range(100_000)) + "\n")


def thousand_short_columns_csv(path: Path) -> None:
    path.write_text(",".join(f"c{n}" for n in range(1_000)) + "\n")


def five_megabyte_line_csv(path: Path) -> None:
    path.write_text("x" * 5_000_000 + "\n")


HOSTILE = [
    ("far-cell.xlsx", far_cell_workbook, "beyond the limits of 200 columns"),
    ("declared-huge.xlsx", declared_huge_workbook, "declares a sheet of A1:XFD1048576"),
    ("far-row.xlsx", far_row_small_dimension_workbook, "has a cell at B1048576"),
    ("far-column.xlsx", far_column_small_dimension_workbook, "has a cell at XFD2"),
    ("wide.csv", hundred_thousand_columns_csv, "characters long; the limit is 200,000"),
    ("columns.csv", thousand_short_columns_csv, "has 1,000 columns; the limit is 200"),
    ("long-line.csv", five_megabyte_line_csv, "line 1 is 5,000,001 characters long"),
]


def _test_database_url() -> str:
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    return f"postgres://{credentials}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"


# The command runs under a small launcher that caps its address space and reports its peak resident memory. The
# test process cannot measure it itself: a child forked from it starts with the test process's own resident pages,
# and Linux keeps that high-water mark across exec, so a large test process would be charged to the command.
LAUNCHER = """
import json, resource, subprocess, sys
cap, timeout, command = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
child = subprocess.Popen(command, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)))
try:
    code = child.wait(timeout)
except subprocess.TimeoutExpired:
    child.kill()
    code = child.wait()
sys.stdout.flush()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print("\\n" + json.dumps({"code": code, "peak": usage.ru_maxrss * 1024, "cpu": usage.ru_utime + usage.ru_stime}))
"""


def umbrella(*args: str) -> tuple[int, str, float, int]:
    """Run the installed `umbrella` command: exit status, output, processor seconds, peak resident bytes. Time is
    the processor time the command used, not the wall clock: on a machine busy with other work the clock counts
    the waiting too, while the work a hostile file costs shows in the processor time alone."""
    command = [str(Path(sys.executable).with_name("umbrella")), *args]
    env = {**os.environ, "UMBRELLA_DATABASE_URL": _test_database_url()}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(SAFETY_CAP_BYTES), str(SAFETY_TIMEOUT), *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=SAFETY_TIMEOUT + 30,
    )
    seconds = time.monotonic() - started
    output, _, measured = result.stdout.decode().rstrip("\n").rpartition("\n")
    report = json.loads(measured)
    assert seconds < SAFETY_TIMEOUT
    return report["code"], output, report["cpu"], report["peak"]


@pytest.fixture(scope="module")
def start_up(django_db_setup, tmp_path_factory) -> float:
    """The processor seconds the command takes to start and refuse an empty file: the least of two runs (the first
    on a fresh clone also compiles the code), measured once for every hostile file."""
    empty = tmp_path_factory.mktemp("start-up") / "empty.csv"
    empty.write_text("")
    runs = [umbrella("import", "pledges", str(empty), "--user", "alice") for _ in range(2)]
    assert all("is empty" in output for _code, output, _seconds, _peak in runs)
    return min(seconds for _code, _output, seconds, _peak in runs)


@pytest.mark.django_db
@pytest.mark.parametrize("name, make, message", HOSTILE, ids=[name for name, _, _ in HOSTILE])
def test_the_command_refuses_a_hostile_file_fast_and_within_memory(personas, tmp_path, start_up, name, make, message):
    path = tmp_path / name
    make(path)
    if path.suffix == ".xlsx":
        assert path.stat().st_size < 6_000  # the attack is a 5 KB workbook

    code, output, seconds, peak = umbrella("import", "pledges", str(path), "--user", "alice")

    assert code == 2, output
    assert message in output
    assert seconds - start_up < SECONDS, f"{seconds:.1f} processor seconds against {start_up:.1f} to start"
    assert peak < PEAK_BYTES, f"{peak / 2**20:.0f} MB"


@pytest.mark.django_db
def test_the_command_refuses_an_observer_before_opening_the_file(personas, tmp_path):
    path = tmp_path / "far-cell.xlsx"
    far_cell_workbook(path)
    code, output, seconds, peak = umbrella("import", "pledges", str(path), "--user", personas.observer.user.username)
    assert code == 2, output
    assert "Importing pledges needs the editor role." in output
    assert peak < PEAK_BYTES


def _kept_uploads() -> set[Path]:
    return set((Path(settings.DATA_DIR) / "uploads").glob("*"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, content",
    [
        ("far-cell.xlsx", None),
        (
            "p.csv",
            "item_type,quantity\nabc,\xe9\n".encode("latin-1"),
        ),  # unreadable: refusing it for its encoding would mean it was read
    ],
)
def test_an_observer_upload_is_refused_for_the_role_before_the_file_is_read(personas, as_client, tmp_path, name, content):
    if content is None:
        far_cell_workbook(tmp_path / name)
        content = (tmp_path / name).read_bytes()
    kept_before = _kept_uploads()
    started = time.monotonic()
    response = as_client("observer").post("/import/", {"kind": "pledges", "file": SimpleUploadedFile(name, content)})
    assert time.monotonic() - started < SECONDS
    assert response.status_code == 403
    page = response.content.decode()
    assert "Importing pledges needs the editor role." in page
    assert "not UTF-8 text" not in page and "beyond the limits" not in page
    assert _kept_uploads() == kept_before


@pytest.mark.django_db
@pytest.mark.parametrize("name, make, message", HOSTILE, ids=[name for name, _, _ in HOSTILE])
def test_an_editor_upload_of_a_hostile_file_is_refused_with_the_limit(personas, as_client, tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    upload = SimpleUploadedFile(name, path.read_bytes())
    tracemalloc.start()
    started = time.monotonic()
    try:
        response = as_client("donor_editor").post("/import/", {"kind": "pledges", "file": upload})
        seconds = time.monotonic() - started
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert seconds < SECONDS
    assert peak < PEAK_BYTES, f"{peak / 2**20:.0f} MB"


@pytest.mark.django_db
def test_a_workbook_declaring_too_small_a_sheet_still_imports_every_row(personas, tmp_path):
    from tests import factories

    item = factories.item_type(personas)
    rows = {
        row: [
            (f"{get_column_letter(n)}{row}", value)
            for n, value in enumerate(
                [item.code, str(row), "2026-03-01", "official", "https://example.invalid/a", "", "2026-01-05"], 1
            )
        ]
        for row in (2, 3, 7)
    }
    path = tmp_path / "pledges.xlsx"
    _workbook_with_sheet(path, "A1:B2", rows)
    code, output = run_import("pledges", path, user="alice", dry_run=True)
    assert code == 0, output
    assert "3 pledges row(s) checked" in output


def test_an_honest_csv_with_long_notes_reads_within_the_limits():
    from umbrella.core.tabular import read_table

    header = ",".join(PLEDGE_COLUMNS + ["notes", "end_use_restrictions"])
    row = "ITEM,1,2026-03-01,official,https://example.invalid,,2026-01-05," + "n" * 5000 + "," + "e" * 5000
    table = read_table(f"{header}\n{row}\n".encode(), "p.csv", max_bytes=1_000_000)
    assert [len(cell) for cell in next(table.rows)[1][-2:]] == [5000, 5000]
