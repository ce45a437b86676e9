"""Reading a Kiel Ukraine Support Tracker website data release (pure: no Django).

A release is a folder of CSV files published for the tracker's charts. Two are read into records:

    data_explorer.csv  country, iso, year, month, total, financial, humanitarian, military, commitments,
                       to_be_allocated, gdp, pct_gdp        (EUR bn; gdp in EUR bn; pct_gdp in %)
    weapons.csv        donor, category, number_of_weapons, monetary_value_eur, weapons_list

and release_info.csv names the release. Every problem in every file is collected (file, row, column,
value, reason) before anything is written; a folder with any problem imports nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from umbrella.core.tabular import Table, read_table

BILLION = Decimal(1_000_000_000)
CENT = Decimal("0.01")
MAX_FILE_BYTES = 20_000_000
FILES = {
    "release_info.csv": ("release", "period", "date", "label"),
    "data_explorer.csv": (
        "country",
        "iso",
        "year",
        "month",
        "total",
        "financial",
        "humanitarian",
        "military",
        "commitments",
        "to_be_allocated",
        "gdp",
        "pct_gdp",
    ),
    "weapons.csv": ("donor", "category", "number_of_weapons", "monetary_value_eur", "weapons_list"),
}
WEAPON_ITEM = re.compile(r"\s*(?P<name>.+?)\s*\((?P<count>\d+)\)\s*(?:[,;]|$)")


@dataclass(frozen=True)
class Problem:
    file: str
    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, column {self.column!r}, value {self.value!r}: {self.reason}"


@dataclass
class MonthlyAllocation:
    donor: str
    iso: str
    year: int
    month: int
    total_eur: Decimal
    financial_eur: Decimal
    humanitarian_eur: Decimal
    military_eur: Decimal
    commitments_eur: Decimal
    to_be_allocated_eur: Decimal
    gdp_eur_bn: Decimal | None
    pct_gdp: Decimal
    row: int


@dataclass
class WeaponsByCategory:
    donor: str
    category: str
    number: int
    value_eur: Decimal
    listed: str
    items: list[tuple[str, int]]
    row: int


@dataclass
class Release:
    release: str = ""
    period: str = ""
    date: str = ""
    label: str = ""
    allocations: list[MonthlyAllocation] = field(default_factory=list)
    weapons: list[WeaponsByCategory] = field(default_factory=list)
    file_digests: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class _Rows:
    """Cells of one file by column name, recording a Problem for every bad cell."""

    def __init__(self, release: Release, filename: str, table: Table) -> None:
        self.release, self.filename, self.table = release, filename, table
        self.index = {name: position for position, name in enumerate(table.header)}

    def __iter__(self):
        for number, cells in self.table.rows:
            yield number, {name: (cells[i].strip() if i < len(cells) else "") for name, i in self.index.items()}

    def problem(self, row: int, column: str, value: str, reason: str) -> None:
        self.release.problems.append(Problem(self.filename, row, column, value, reason))

    def text(self, row: int, cells: dict, column: str) -> str:
        value = cells[column]
        if not value:
            self.problem(row, column, value, "must not be empty")
        return value

    def number(
        self, row: int, cells: dict, column: str, *, minimum: Decimal | None = Decimal(0), blank: bool = False
    ) -> Decimal | None:
        value = cells[column]
        if blank and value in ("", "NA"):
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.problem(row, column, value, "is not a number")
            return Decimal(0)
        if not number.is_finite():
            self.problem(row, column, value, "is not a finite number")
            return Decimal(0)
        if minimum is not None and number < minimum:
            self.problem(row, column, value, f"must be at least {minimum}")
        return number

    def integer(self, row: int, cells: dict, column: str, low: int, high: int) -> int:
        value = cells[column]
        if not value.isdigit() or not low <= int(value) <= high:
            self.problem(row, column, value, f"must be a whole number from {low} to {high}")
            return low
        return int(value)


def _eur(billions: Decimal) -> Decimal:
    return (billions * BILLION).quantize(CENT)


def _read(release: Release, folder: Path, filename: str) -> _Rows | None:
    path = folder / filename
    if not path.is_file():
        release.problems.append(Problem(filename, 0, "", "", f"the release folder has no {filename}"))
        return None
    data = path.read_bytes()
    release.file_digests[filename] = hashlib.sha256(data).hexdigest()
    table = read_table(data, filename, max_bytes=MAX_FILE_BYTES)
    missing = [column for column in FILES[filename] if column not in table.header]
    if missing:
        release.problems.append(Problem(filename, 1, ", ".join(missing), "", "these columns are missing"))
        return None
    return _Rows(release, filename, table)


def _release_info(release: Release, rows: _Rows) -> None:
    lines = list(rows)
    if len(lines) != 1:
        rows.problem(2, "release", "", f"must hold exactly one release, not {len(lines)}")
        return
    row, cells = lines[0]
    release.release = rows.text(row, cells, "release")
    release.period, release.date, release.label = cells["period"], cells["date"], cells["label"]


def _allocations(release: Release, rows: _Rows) -> None:
    seen: dict[tuple[str, int, int], int] = {}
    for row, cells in rows:
        donor, iso = rows.text(row, cells, "country"), rows.text(row, cells, "iso")
        year, month = rows.integer(row, cells, "year", 2014, 2100), rows.integer(row, cells, "month", 1, 12)
        parts = {
            name: rows.number(row, cells, name) for name in ("total", "financial", "humanitarian", "military", "commitments")
        }
        to_be_allocated = rows.number(row, cells, "to_be_allocated", minimum=None)
        gdp = rows.number(row, cells, "gdp", blank=True)
        pct = rows.number(row, cells, "pct_gdp")
        if parts["total"] != parts["financial"] + parts["humanitarian"] + parts["military"]:
            rows.problem(row, "total", cells["total"], "is not financial + humanitarian + military")
        if (iso, year, month) in seen:
            rows.problem(row, "iso", iso, f"{iso} {year}-{month:02d} appears twice (first in row {seen[iso, year, month]})")
        seen.setdefault((iso, year, month), row)
        release.allocations.append(
            MonthlyAllocation(
                donor=donor,
                iso=iso,
                year=year,
                month=month,
                total_eur=_eur(parts["total"]),
                financial_eur=_eur(parts["financial"]),
                humanitarian_eur=_eur(parts["humanitarian"]),
                military_eur=_eur(parts["military"]),
                commitments_eur=_eur(parts["commitments"]),
                to_be_allocated_eur=_eur(to_be_allocated),
                gdp_eur_bn=gdp if gdp else None,
                pct_gdp=pct,
                row=row,
            )
        )


def parse_weapons_list(text: str) -> list[tuple[str, int]]:
    """'M777 howitzer (183); 105mm howitzer (72)' → [('M777 howitzer', 183), ('105mm howitzer', 72)]."""
    return [(match["name"], int(match["count"])) for match in WEAPON_ITEM.finditer(text)]


def _weapons(release: Release, rows: _Rows) -> None:
    for row, cells in rows:
        number = rows.integer(row, cells, "number_of_weapons", 0, 10_000_000)
        value = rows.number(row, cells, "monetary_value_eur")
        items = parse_weapons_list(cells["weapons_list"])
        if sum(count for _, count in items) != number:
            rows.problem(
                row,
                "weapons_list",
                cells["weapons_list"],
                f"its counts add up to {sum(c for _, c in items)}, not number_of_weapons {number}",
            )
        release.weapons.append(
            WeaponsByCategory(
                donor=rows.text(row, cells, "donor"),
                category=rows.text(row, cells, "category"),
                number=number,
                value_eur=value.quantize(CENT),
                listed=cells["weapons_list"],
                items=items,
                row=row,
            )
        )


def read_release(folder: Path) -> Release:
    """Every record of the release, or (in `problems`) everything wrong with it."""
    release = Release()
    for filename, reader in (("release_info.csv", _release_info), ("data_explorer.csv", _allocations), ("weapons.csv", _weapons)):
        rows = _read(release, folder, filename)
        if rows is not None:
            reader(release, rows)
    return release
