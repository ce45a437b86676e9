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


def place_names(place_model: Any) -> dict[str, set[int]]:
    """Every place id by each normalized name it answers to (code, English and Ukrainian name, aliases)."""
    names: dict[str, set[int]] = defaultdict(set)
    for place in place_model.objects.all():
        for name in (place.code, place.name_en, place.name_uk, *place.aliases.splitlines()):
            if name.strip():
                names[normalized(name)].add(place.pk)
    return names


def mapped(texts: Iterable[str], place_model: Any) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Each text's place id, and the texts no place (or more than one) answers to, with the candidate ids."""
    codes = {normalized(code): pk for pk, code in place_model.objects.values_list("pk", "code")}
    names = place_names(place_model)
    found: dict[str, int] = {}
    unmapped: dict[str, list[int]] = {}
    for text in dict.fromkeys(texts):
        key = normalized(text)
        if key in codes:
            found[text] = codes[key]
        elif len(names.get(key, ())) == 1:
            found[text] = next(iter(names[key]))
        else:
            unmapped[text] = sorted(names.get(key, ()))
    return found, unmapped


def refuse_unmapped(unmapped: dict[str, list[int]], used_by: dict[str, list[str]]) -> None:
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
        + "\nTo fix: run `umbrella migrate places`, then import a file of places that gives each text as a place's "
        "code, name or alias (`umbrella import places FILE --user <coordination staff>`; a row whose code exists "
        "updates that place, so add the text to its aliases), and run `umbrella migrate` again."
    )
