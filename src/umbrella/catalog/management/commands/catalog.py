"""umbrella catalog check-kiel DIR: does the catalog know every system a Kiel tracker release names?

The release's weapons.csv lists, per donor and category, the systems given as free text ("M777 howitzer (183);
105mm howitzer (72)"). Each name is looked up, ignoring case, accents and spaces, among the item types' codes and
names and their aliases (scheme "kiel" first). The catalog read is the one in the database, as --user may see
it; without --user the whole catalog (the command is run by whoever runs the server, who holds the database).
Exit 0 when every name maps, 1 listing the names that do not (with the donors and categories naming them),
2 when the folder or its weapons.csv cannot be read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management import BaseCommand, CommandError

from umbrella.catalog.queries import name_index, resolve_name
from umbrella.core.access import Actor
from umbrella.core.errors import UnreadableFile
from umbrella.core.tabular import read_table
from umbrella.tracker.kiel import MAX_FILE_BYTES, parse_weapons_list
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments

WEAPONS_COLUMNS = ("donor", "category", "weapons_list")


@dataclass
class Named:
    """One system name as the release writes it, and where it appears."""

    name: str
    count: int = 0
    appearances: list[dict] = field(default_factory=list)


def _read_names(folder: Path) -> dict[str, Named]:
    path = folder / "weapons.csv"
    if not path.is_file():
        raise CommandError(f"{folder} has no weapons.csv (a Kiel tracker release folder has one).", returncode=2)
    try:
        table = read_table(path.read_bytes(), path.name, max_bytes=MAX_FILE_BYTES)
    except UnreadableFile as error:
        raise CommandError(f"{path}: {error}", returncode=2) from None
    missing = [column for column in WEAPONS_COLUMNS if column not in table.header]
    if missing:
        raise CommandError(f"{path} lacks the column(s) {', '.join(missing)}.", returncode=2)
    where = {name: table.header.index(name) for name in WEAPONS_COLUMNS}
    names: dict[str, Named] = {}
    for row, cells in table.rows:
        cell = {name: (cells[i].strip() if i < len(cells) else "") for name, i in where.items()}
        for name, count in parse_weapons_list(cell["weapons_list"]):
            named = names.setdefault(name, Named(name))
            named.count += count
            named.appearances.append({"donor": cell["donor"], "category": cell["category"], "count": count, "row": row})
    return names


class Command(BaseCommand):
    help = "The catalog against outside lists: check-kiel DIR maps every system a Kiel tracker release names."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        check = actions.add_parser(
            "check-kiel", help="Map every system name in DIR/weapons.csv to an item type; exit 1 listing those that do not."
        )
        check.add_argument("folder", type=Path, help="A Kiel Ukraine Support Tracker release folder.")
        check.add_argument("--json", action="store_true", help="Print JSON: every name, its item type or none.")
        add_actor_arguments(check)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=False) if options.get("user") else Actor.system("check-kiel")
        names = _read_names(options["folder"])
        index = name_index(actor, scheme="kiel")
        mapped, unmapped = [], []
        for named in sorted(names.values(), key=lambda n: n.name.casefold()):
            item = resolve_name(index, named.name)
            row = {"name": named.name, "count": named.count, "appearances": named.appearances}
            if item is None:
                unmapped.append(row)
            else:
                mapped.append({**row, "item_type": item.code})
        if options["json"]:
            payload = {"folder": str(options["folder"]), "ok": not unmapped, "names": len(names)}
            self.stdout.write(json.dumps({**payload, "mapped": mapped, "unmapped": unmapped}, indent=2))
        else:
            for row in mapped:
                self.stdout.write(f"  {row['name']}  →  {row['item_type']}")
            for row in unmapped:
                where = "; ".join(f"{a['donor']} ({a['category']}, {a['count']})" for a in row["appearances"])
                self.stdout.write(f"  UNMAPPED {row['name']}  — {where}")
            self.stdout.write(f"{len(mapped):,} of {len(names):,} system names map to an item type.")
        if unmapped:
            raise CommandError(
                f"{len(unmapped):,} system name(s) map to no item type: "
                + ", ".join(repr(row["name"]) for row in unmapped)
                + ". Add the item types, or aliases for them.",
                returncode=1,
            )
