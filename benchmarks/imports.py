"""Bulk import speed: pledge files of 100,000 and 1,000,000 rows through `umbrella import`.

    python benchmarks/imports.py [--rows 100000] [--database-url URL] [--json FILE]

A fresh data directory gets a small demo (`umbrella demo --no-serve --scale 0.1`: the organizations, the
donor liaison deu-liaison and the item catalogue); a pledge file of `--rows` rows is drawn from the demo's
item types; then each run is the installed command as its own process, timed by the wall clock, with its
peak resident memory (ru_maxrss of that one child):

    valid, dry run      the whole file checked, nothing written
    1 % bad rows        every hundredth row names an item type that does not exist: all reported, nothing written
    valid               written: every pledge, its source and their ledger entries
    ledger verify       the whole ledger checked afterwards

Targets (issue #13, this project's 2-core machine): 100,000 rows within 30 s on SQLite and 45 s on
PostgreSQL, the bad file no slower than the valid one, 1,000,000 rows within 6 minutes and 1 GB.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

UMBRELLA = str(Path(sys.executable).with_name("umbrella"))
HEADER = ["item_type", "quantity", "available_from", "value_eur", "reference", "marking", "source_kind", "source_url",
          "source_date"]  # fmt: skip


def run(arguments: list[str], environment: dict[str, str]) -> dict:
    """The command as its own process, its output in files (a pipe read only at the end would fill and stall
    it), timed, with its own peak memory."""
    with tempfile.TemporaryFile() as output, tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen([UMBRELLA, *arguments], env=environment, stdout=output, stderr=errors)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        output.seek(0)
        errors.seek(0)
        return {
            "seconds": round(seconds, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mb": round(usage.ru_maxrss / 1024),
            "exit": os.waitstatus_to_exitcode(status),
            "output": output.read().decode(),
            "stderr": errors.read().decode()[-2000:],
        }


def write_pledges(path: Path, rows: int, item_codes: list[str], *, bad_every: int | None = None) -> None:
    chooser = random.Random(13)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for number in range(1, rows + 1):
            code = "NO-SUCH-ITEM" if bad_every and number % bad_every == 0 else chooser.choice(item_codes)
            writer.writerow([
                code, chooser.randint(1, 500), f"2027-{chooser.randint(1, 12):02d}-{chooser.randint(1, 28):02d}",
                chooser.randint(10_000, 5_000_000), f"BULK-{number}", "coordination", "official",
                f"https://example.org/pledges/{number}", "2026-11-01",
            ])  # fmt: skip


def item_codes(environment: dict[str, str]) -> list[str]:
    script = (
        "from umbrella.catalog.models import ItemType; "
        "print('\\n'.join('code=' + c for c in ItemType.objects.values_list('code', flat=True)))"
    )
    result = subprocess.run([UMBRELLA, "shell", "-c", script], env=environment, capture_output=True, text=True, check=True)
    return [line.removeprefix("code=") for line in result.stdout.splitlines() if line.startswith("code=")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (its database is dropped and created); default SQLite.")
    parser.add_argument("--skip", nargs="*", default=[], choices=["dry", "bad"], help="Runs to leave out.")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="umbrella-bench-imports-") as directory:
        environment = {**os.environ, "UMBRELLA_DATA_DIR": directory}
        environment.pop("UMBRELLA_DATABASE_URL", None)
        if options.database_url:
            environment["UMBRELLA_DATABASE_URL"] = options.database_url
            reset_postgres(options.database_url)
        subprocess.run([UMBRELLA, "demo", "--no-serve", "--scale", "0.1"], env=environment, check=True, capture_output=True)
        codes = item_codes(environment)
        valid, bad = Path(directory) / "pledges.csv", Path(directory) / "pledges-bad.csv"
        write_pledges(valid, options.rows, codes)
        write_pledges(bad, options.rows, codes, bad_every=100)
        command = ["import", "pledges", "--user", "deu-liaison", "--json"]
        results = {"rows": options.rows, "database": "postgresql" if options.database_url else "sqlite", "runs": {}}
        if "dry" not in options.skip:
            results["runs"]["valid, dry run"] = run([*command, str(valid), "--dry-run"], environment)
        if "bad" not in options.skip:
            results["runs"]["1 % bad rows"] = run([*command, str(bad)], environment)
        results["runs"]["valid"] = run([*command, str(valid)], environment)
        results["runs"]["ledger verify"] = run(["ledger", "verify", "--json"], environment)
        for name, outcome in results["runs"].items():
            problems = len(json.loads(outcome["output"]).get("errors", [])) if outcome["output"].startswith("{") else "-"
            print(
                f"{name:16} {outcome['seconds']:8.1f} s {outcome['peak_mb']:6d} MB  exit {outcome['exit']}  problems {problems}"
            )
            outcome["output"] = outcome["output"][:2000]
        if options.json:
            options.json.parent.mkdir(parents=True, exist_ok=True)
            options.json.write_text(json.dumps(results, indent=2))


def reset_postgres(url: str) -> None:
    import dj_database_url
    import psycopg

    settings = dj_database_url.parse(url)
    with psycopg.connect(dbname="postgres", user=settings["USER"] or None, host=settings["HOST"] or None,
                         port=settings["PORT"] or None, autocommit=True) as connection:  # fmt: skip
        connection.execute(f'DROP DATABASE IF EXISTS "{settings["NAME"]}"')
        connection.execute(f'CREATE DATABASE "{settings["NAME"]}"')


if __name__ == "__main__":
    main()
