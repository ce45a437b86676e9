"""Reading a Kiel Ukraine Support Tracker website data release (pure: no Django).

A release is a folder of CSV files published for the tracker's charts. These are read into records:

    data_explorer.csv       country, iso, year, month, total, financial, humanitarian, military, commitments,
                            to_be_allocated, gdp, pct_gdp        (EUR bn; gdp in EUR bn; pct_gdp in %)
    weapons.csv             donor, category, number_of_weapons, monetary_value_eur, weapons_list
    procurement_trends.csv  year, month, stockpile, procurement, unspecified, nato_purl   (military aid, EUR bn)
    total_allocations.csv   year, month, total_allocations, military, financial, humanitarian   (all donors, EUR bn)

and release_info.csv names the release. The last two are read where the release has them (earlier releases'
folders did not): their figures carry up to 17 decimals of a billion, so they are kept exactly as published, in
EUR bn, and summed before they are rounded to the cent. Every problem in every file is collected (file, row, column,
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
    "procurement_trends.csv": ("year", "month", "stockpile", "procurement", "unspecified", "nato_purl"),
    "total_allocations.csv": ("year", "month", "total_allocations", "military", "financial", "humanitarian"),
}
OPTIONAL_FILES = frozenset({"procurement_trends.csv", "total_allocations.csv"})
# The monthly series are kept exactly: up to 20 decimals of a billion and 15 significant digits, which every
# database keeps unchanged (SQLite holds a decimal as a double), so the digest sealed at import still verifies.
EXACT_PLACES = 20
EXACT_DIGITS = 15
EXACT_QUANTUM = Decimal(1).scaleb(-EXACT_PLACES)
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
class MonthlyFigures:
    """One month of one of the release's all-donor series, in EUR bn exactly as published, by column."""

    year: int
    month: int
    figures_eur_bn: dict[str, Decimal]
    row: int


@dataclass
class Release:
    release: str = ""
    period: str = ""
    date: str = ""
    label: str = ""
    allocations: list[MonthlyAllocation] = field(default_factory=list)
    weapons: list[WeaponsByCategory] = field(default_factory=list)
    procurement: list[MonthlyFigures] = field(default_factory=list)  # military aid from stocks, procurement, PURL
    all_donors: list[MonthlyFigures] = field(default_factory=list)  # allocations of all donors by type of aid
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
    if not path.is_file() and filename in OPTIONAL_FILES:
        return None
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


def _monthly_figures(rows: _Rows, columns: tuple[str, ...]) -> list[MonthlyFigures]:
    """Rows of year, month and figures in EUR bn, one row a month, every figure kept to EXACT_PLACES decimals."""
    months: list[MonthlyFigures] = []
    seen: dict[tuple[int, int], int] = {}
    for row, cells in rows:
        year, month = rows.integer(row, cells, "year", 2014, 2100), rows.integer(row, cells, "month", 1, 12)
        figures = {}
        for column in columns:
            number = rows.number(row, cells, column)
            if number.as_tuple().exponent < -EXACT_PLACES:
                rows.problem(row, column, cells[column], f"has more than {EXACT_PLACES} decimal places")
            elif len(number.as_tuple().digits) > EXACT_DIGITS:
                rows.problem(row, column, cells[column], f"has more than {EXACT_DIGITS} significant digits")
            figures[column] = number.quantize(EXACT_QUANTUM)
        if (year, month) in seen:
            rows.problem(row, "month", cells["month"], f"{year}-{month:02d} appears twice (first in row {seen[year, month]})")
        seen.setdefault((year, month), row)
        months.append(MonthlyFigures(year=year, month=month, figures_eur_bn=figures, row=row))
    return months


def _procurement(release: Release, rows: _Rows) -> None:
    release.procurement = _monthly_figures(rows, FILES["procurement_trends.csv"][2:])


def _all_donors(release: Release, rows: _Rows) -> None:
    release.all_donors = _monthly_figures(rows, FILES["total_allocations.csv"][2:])


READERS = (
    ("release_info.csv", _release_info),
    ("data_explorer.csv", _allocations),
    ("weapons.csv", _weapons),
    ("procurement_trends.csv", _procurement),
    ("total_allocations.csv", _all_donors),
)


def read_release(folder: Path) -> Release:
    """Every record of the release, or (in `problems`) everything wrong with it."""
    release = Release()
    for filename, reader in READERS:
        rows = _read(release, folder, filename)
        if rows is not None:
            reader(release, rows)
    if not any(p.file == "data_explorer.csv" for p in release.problems):
        _check_all_donors_against_donors(release)
    return release


# total_allocations.csv's columns and the data_explorer.csv columns they add up.
ALL_DONOR_COLUMNS = {
    "total_allocations": "total",
    "military": "military",
    "financial": "financial",
    "humanitarian": "humanitarian",
}


def _check_all_donors_against_donors(release: Release) -> None:
    """total_allocations.csv is the sum of data_explorer.csv month by month; a release whose two files disagree
    contradicts itself, and which of them is right cannot be told here."""
    by_month: dict[tuple[int, int], dict[str, Decimal]] = {}
    for a in release.allocations:
        sums = by_month.setdefault((a.year, a.month), dict.fromkeys(ALL_DONOR_COLUMNS.values(), Decimal(0)))
        for name in sums:
            sums[name] += getattr(a, f"{name}_eur")
    for month in release.all_donors:
        sums = by_month.get((month.year, month.month), dict.fromkeys(ALL_DONOR_COLUMNS.values(), Decimal(0)))
        for column, name in ALL_DONOR_COLUMNS.items():
            if _eur(month.figures_eur_bn[column]) != sums[name]:
                release.problems.append(
                    Problem(
                        "total_allocations.csv",
                        month.row,
                        column,
                        str(month.figures_eur_bn[column].normalize()),
                        f"is not the sum of data_explorer.csv's {name} for {month.year}-{month.month:02d} "
                        f"({sums[name] / BILLION} bn)",
                    )
                )
