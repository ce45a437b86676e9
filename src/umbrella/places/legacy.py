"""Mapping destinations kept as free text (before places existed) to places, for the schema upgrade.

Used by the migrations that turn a requirement's destination and a pledge's allowed destinations into references
(needs 0003, pledges 0004), with the historical models those migrations hand over. Text that names no place, or
more than one, is never dropped: the upgrade stops and lists each such text with the records that use it and
how to fix it, and nothing is changed (the migration's transaction is rolled back)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from umbrella.places.queries import normalized

GAZETTEER = Path(__file__).parent / "data" / "gazetteer.csv"
UNMAPPED_LIMIT = 200  # texts listed in the message; the count says how many more


def gazetteer_rows() -> list[dict[str, str]]:
    with GAZETTEER.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def _decimal(text: str) -> Decimal | None:
    return Decimal(text) if text.strip() else None


def _integer(text: str) -> int | None:
    return int(text) if text.strip() else None


def add_packaged_places(place_model: Any, organization_model: Any) -> int:
    """Insert each packaged gazetteer row whose code the table lacks (parents first, as the file lists them);
    the coordinating headquarters owns them. The schema upgrade then takes them into the ledger (`Place.ledgered_since`).
    Returns how many were added."""
    owner = (
        organization_model.objects.filter(kind="coordinator").order_by("pk").first()
        or organization_model.objects.order_by("pk").first()
    )
    if owner is None:
        return 0
    by_code = {place.code: place for place in place_model.objects.all()}
    added = 0
    for row in gazetteer_rows():
        if row["code"] in by_code:
            continue
        parent = by_code.get(row["parent"]) if row["parent"] else None
        place = place_model.objects.create(
            owner=owner,
            code=row["code"],
            kind=row["kind"],
            parent=parent,
            path=row["code"] if parent is None else f"{parent.path}/{row['code']}",
            name_en=row["name_en"],
            name_uk=row["name_uk"],
            aliases="\n".join(alias.strip() for alias in row["aliases"].split(";") if alias.strip()),
            latitude=_decimal(row["latitude"]),
            longitude=_decimal(row["longitude"]),
            hub_capacity=_integer(row["hub_capacity"]),
            hub_capacity_unit=row["hub_capacity_unit"],
            hub_handling_days=_integer(row["hub_handling_days"]),
            source=row["source"],
            marking="public",
        )
        by_code[place.code] = place
        added += 1
    return added


def name_index(places: Iterable[tuple[str, Iterable[str]]]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """From (code, other names) pairs: each normalized code's code, and the codes each normalized name answers to."""
    codes: dict[str, str] = {}
    names: dict[str, set[str]] = defaultdict(set)
    for code, others in places:
        codes[normalized(code)] = code
        for name in (code, *others):
            if name.strip():
                names[normalized(name)].add(code)
    return codes, names


def packaged_names() -> list[tuple[str, list[str]]]:
    return [(row["code"], [row["name_en"], row["name_uk"], *row["aliases"].split(";")]) for row in gazetteer_rows()]


def stored_names(rows: Iterable[tuple[str, str, str, str]]) -> list[tuple[str, list[str]]]:
    """From (code, name_en, name_uk, aliases) rows of the places table."""
    return [(code, [name_en, name_uk, *aliases.splitlines()]) for code, name_en, name_uk, aliases in rows]


def map_texts(
    texts: Iterable[str], codes: dict[str, str], names: dict[str, set[str]]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each text's place code, and the texts no place (or more than one) answers to, with the candidate codes."""
    found: dict[str, str] = {}
    unmapped: dict[str, list[str]] = {}
    for text in dict.fromkeys(texts):
        key = normalized(text)
        if key in codes:
            found[text] = codes[key]
        elif len(names.get(key, ())) == 1:
            found[text] = next(iter(names[key]))
        else:
            unmapped[text] = sorted(names.get(key, ()))
    return found, unmapped


def mapped(texts: Iterable[str], place_model: Any) -> tuple[dict[str, int], dict[str, list[str]]]:
    """For a migration: each text's place id among the stored places, and the texts none (or several) answer to."""
    stored = place_model.objects.values_list("code", "name_en", "name_uk", "aliases")
    found, unmapped = map_texts(texts, *name_index(stored_names(stored)))
    ids = dict(place_model.objects.values_list("code", "pk"))
    return {text: ids[code] for text, code in found.items()}, unmapped


def split_names(text: str) -> list[str]:
    names = (name.strip() for line in (text or "").splitlines() for name in line.split(";"))
    return list(dict.fromkeys(name for name in names if name))


def texts_in_use(cursor: Any, tables: set[str]) -> dict[str, list[str]]:
    """Each destination text the old columns hold, with the records that use it (read with plain SQL, before
    any migration of this run changed a table)."""
    used_by: dict[str, list[str]] = {}
    if "needs_requirement" in tables:
        cursor.execute("SELECT id, destination FROM needs_requirement ORDER BY id")
        for pk, text in cursor.fetchall():
            used_by.setdefault(text, []).append(f"requirement {pk}")
    if "pledges_pledge" in tables:
        cursor.execute("SELECT id, allowed_destinations FROM pledges_pledge WHERE allowed_destinations <> '' ORDER BY id")
        for pk, text in cursor.fetchall():
            for name in split_names(text):
                used_by.setdefault(name, []).append(f"pledge {pk}")
    return used_by


def check_before_upgrade(connection: Any) -> None:
    """Before a migrate run that will turn text destinations into places applies anything: stop, listing every
    text that neither the packaged gazetteer nor the places already stored answer to. (Stopping inside the
    migration would leave the run's earlier migrations applied without what the run records after them.)"""
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        used_by = texts_in_use(cursor, tables)
        if not used_by:
            return
        places = packaged_names()
        if "places_place" in tables:
            cursor.execute("SELECT code, name_en, name_uk, aliases FROM places_place")
            places += stored_names(cursor.fetchall())
    _found, unmapped = map_texts(used_by, *name_index(places))
    refuse_unmapped(unmapped, used_by)


def refuse_unmapped(unmapped: dict[str, list[str]], used_by: dict[str, list[str]]) -> None:
    """Stop the upgrade with every unmapped text, the records that use it, and how to fix it."""
    if not unmapped:
        return
    lines = []
    for text in list(unmapped)[:UNMAPPED_LIMIT]:
        why = "names more than one place" if unmapped[text] else "names no place"
        lines.append(f"  {text!r} ({why}): {', '.join(used_by.get(text, []))}")
    if len(unmapped) > UNMAPPED_LIMIT:
        lines.append(f"  … and {len(unmapped) - UNMAPPED_LIMIT} more")
    raise RuntimeError(
        "Destinations are becoming references to places, and these texts could not be mapped; nothing was changed:\n"
        + "\n".join(lines)
        + "\nTo fix: run `umbrella migrate core` and `umbrella migrate places`; import the packaged gazetteer "
        f"(`umbrella import places {GAZETTEER} --user <coordination staff>`) and a file of places that gives each "
        "text as a place's code, name or alias (a row whose code exists updates that place, so a text can be added "
        "to its aliases); then run `umbrella migrate` again."
    )
