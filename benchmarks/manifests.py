"""Manifest import speed: one serial-tracked line of a planned consignment imported as one row per serial.

    PYTHONPATH=src:. python benchmarks/manifests.py [--rows 2000] [--database-url URL]

A fresh database (a temporary SQLite file unless `--database-url` names an empty PostgreSQL database) gets the
test personas, one approved requirement of a serial-tracked item type fully allocated from one pledge of
`--rows` units, and a planned consignment of one unit of it. The manifest adds `--rows` rows of line 2 (one
serial each) through the import pipeline, in this process; then the same file imported again, changed in one
serial (an update of the line), then that file once more (nothing to change). Each is timed by the wall clock,
with the ledger entries it appended and the bytes of their before- and after-images.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    options = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="umbrella-manifests-")
    os.environ["UMBRELLA_DATA_DIR"] = data_dir
    if options.database_url:
        os.environ["UMBRELLA_DATABASE_URL"] = options.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "umbrella.settings")
    sys.path += [str(ROOT / "src"), str(ROOT)]  # after PYTHONPATH: a copy of another version of the code may come first
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    from tests import factories
    from tests.conftest import load_gazetteer
    from tests.test_logistics import allocated
    from umbrella.core import imports
    from umbrella.core.models import ChangeRecord
    from umbrella.core.tabular import read_table
    from umbrella.core.testing import build_personas, load_personas
    from umbrella.logistics import services as logistics

    build_personas()
    load_gazetteer()
    personas = load_personas()
    places = factories.hub_and_city(personas)
    shipped = allocated(personas, quantity=options.rows + 1, sensitive=True)
    allocation = shipped["allocation"]
    logistics.create_consignment(
        actor=personas.donor_editor,
        fields={"reference": "CN-BENCH"},
        lines=[{"allocation": allocation.pk, "quantity": 1, "serials": ["SN-START"]}],
        legs=[{"from_place": places["hub"], "to_place": places["lviv"], "mode": "road"}],
    )

    def manifest(serials: list[str], line_id: int | str = "") -> bytes:
        rows = [f"{line_id},CN-BENCH,2,{allocation.pk},{serial},1" for serial in serials]
        return "\n".join(["id,consignment,line,allocation,serials,quantity", *rows]).encode()

    def timed(label: str, content: bytes) -> dict:
        table = read_table(content, "manifest.csv", max_bytes=settings.IMPORT_FILE_MAX_BYTES)
        last = ChangeRecord.objects.order_by("-sequence").values_list("sequence", flat=True).first()
        started = time.perf_counter()
        report = imports.run_import(
            imports.importer_for("manifest"), actor=personas.donor_editor, table=table, filename="m.csv", dry_run=False
        )
        seconds = time.perf_counter() - started
        assert report.written, report.errors[:5]
        entries = ChangeRecord.objects.filter(sequence__gt=last).values_list("before", "after")
        images = sum(len(json.dumps(before or {})) + len(json.dumps(after or {})) for before, after in entries)
        return {"run": label, "rows": report.rows, "seconds": round(seconds, 2), "entries": len(entries), "image_bytes": images}

    serials = [f"SN-{number:06d}" for number in range(options.rows)]
    results = [timed("new line", manifest(serials))]
    from umbrella.logistics.models import ConsignmentLine

    exported_line = ConsignmentLine.objects.order_by("-id").first()
    if len(exported_line.serials) == options.rows:
        edited = [*serials[:-1], "SN-FIXED"]
        try:
            results.append(timed("same line, one serial changed", manifest(edited, exported_line.pk)))
            results.append(timed("same line again, unchanged", manifest(edited, exported_line.pk)))
        except AssertionError as error:
            results.append({"run": "same line, one serial changed", "refused": str(error)[:200]})
    vendor = django.db.connection.vendor
    for result in results:
        print(json.dumps({"database": vendor, **result}))


if __name__ == "__main__":
    main()
