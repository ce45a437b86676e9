"""Ledger at scale: append, checkpoint, proofs and verify on a ledger of N entries.

    python benchmarks/ledger.py [--entries 1000000] [--database-url postgres://user@host:5432/scratch] [--json FILE]

A scratch data directory gets the demo at scale 0.02 (its organizations, people, catalogue and pledges), then
pledges cloned from the demo's are inserted in batches and each is ledgered through `record_changes`, the one
append path, with its real snapshot: a `create` entry, then an `update` entry when its quantity changes. Every
entry is therefore a real, hash-chained entry about a real row, and verify replays all of them into the table.
With --database-url, that PostgreSQL database is dropped and created afresh (give a scratch name).

A checkpoint is signed when the ledger holds N - 1000 entries and kept in a file; the last 1000 are appended
after it. Then, each timed:

- `umbrella ledger checkpoint --json` (a subprocess, as an operator runs it);
- the inclusion proof of 100 random entries and the consistency proof from 20 random sizes, through the API
  (`GET /api/v1/ledger/proofs/...` with Django's test client, in process, after one request to warm up):
  median and slowest;
- `umbrella ledger verify --json` (everything), and `umbrella ledger verify --since FILE --json` against the
  kept checkpoint (on code without --since: `--checkpoint FILE`, which verifies everything).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROWS_PER_BATCH = 5000
KEPT_BEFORE_END = 1000


def fresh_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(
        dbname="postgres",
        user=parts.username,
        password=parts.password,
        host=parts.hostname,
        port=parts.port or 5432,
        autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def umbrella(*arguments: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "umbrella", *arguments], env=env, capture_output=True, text=True)
    return time.perf_counter() - started, result


class Builder:
    """Appends entries about cloned pledges until the ledger holds the size asked for."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        from umbrella.orgs.queries import actor_for
        from umbrella.pledges.models import Pledge

        self.actor = actor_for(get_user_model().objects.get(username="deu-liaison"))
        self.templates = list(Pledge.objects.select_related("owner").order_by("pk"))
        self.rng = random.Random(6962)
        self.appending = 0.0  # seconds spent inside record_changes
        self.cloned = 0

    def grow_to(self, size: int) -> None:
        from umbrella.core.models import LedgerHead

        while (missing := size - LedgerHead.objects.get(pk=1).size) > 0:
            self._batch(min(ROWS_PER_BATCH, (missing + 1) // 2), updates=min(ROWS_PER_BATCH, missing // 2))

    def _clone(self):
        from umbrella.pledges.models import Pledge

        template = self.rng.choice(self.templates)
        self.cloned += 1
        fields = {f.attname: getattr(template, f.attname) for f in Pledge._meta.concrete_fields if not f.primary_key}
        clone = Pledge(**fields)
        clone.owner = template.owner  # cached, so the entry's owner costs no query
        clone.reference = f"{template.owner.code}-BENCH-{self.cloned:07d}"
        clone.quantity = self.rng.randint(1, 500)
        return clone

    def _batch(self, rows: int, updates: int) -> None:
        from django.db import transaction

        from umbrella.core.ledger import Change, record_changes, snapshot
        from umbrella.pledges.models import Pledge

        with transaction.atomic():
            pledges = Pledge.objects.bulk_create([self._clone() for _ in range(rows)])
            creates = [Change("create", pledge, None, snapshot(pledge)) for pledge in pledges]
            started = time.perf_counter()
            record_changes(actor=self.actor, changes=creates)
            self.appending += time.perf_counter() - started
            changed = pledges[:updates]
            befores = [change.after for change in creates[:updates]]
            for pledge in changed:
                pledge.quantity += 1
                pledge.version += 1
            Pledge.objects.bulk_update(changed, ["quantity", "version"], batch_size=1000)
            changes = [
                Change("update", pledge, before, snapshot(pledge)) for pledge, before in zip(changed, befores, strict=True)
            ]
            started = time.perf_counter()
            record_changes(actor=self.actor, changes=changes)
            self.appending += time.perf_counter() - started


def timed_requests(client, urls: list[str]) -> list[float]:
    timings = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return timings


def measure(entries: int, env: dict[str, str], data_dir: Path) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from umbrella.core.models import LedgerHead

    builder = Builder()
    started = time.perf_counter()
    builder.grow_to(entries - KEPT_BEFORE_END)
    kept = data_dir / "checkpoint-kept.json"
    out = io.StringIO()
    call_command("ledger", "checkpoint", "--json", stdout=out)
    kept.write_text(out.getvalue())
    builder.grow_to(entries)
    build_seconds = time.perf_counter() - started
    size = LedgerHead.objects.get(pk=1).size
    print(f"built {size} entries in {build_seconds:.0f} s ({builder.appending:.0f} s in record_changes)", file=sys.stderr)

    results: dict = {"entries": size, "build_s": round(build_seconds, 1), "append_s": round(builder.appending, 1)}
    seconds, result = umbrella("ledger", "checkpoint", "--json", env=env)
    assert result.returncode == 0, result.stderr
    results["checkpoint_s"] = round(seconds, 2)

    rng = random.Random(9162)
    client = Client(HTTP_HOST="127.0.0.1")
    timed_requests(client, ["/api/v1/ledger/checkpoint"])  # the first request loads the API's modules; not timed
    inclusion = timed_requests(client, [f"/api/v1/ledger/proofs/inclusion?sequence={rng.randint(1, size)}" for _ in range(100)])
    consistency = timed_requests(client, [f"/api/v1/ledger/proofs/consistency?first={rng.randint(1, size)}" for _ in range(20)])
    results["inclusion_ms"] = {"median": round(statistics.median(inclusion), 1), "max": round(max(inclusion), 1)}
    results["consistency_ms"] = {"median": round(statistics.median(consistency), 1), "max": round(max(consistency), 1)}
    print(f"proofs: inclusion {results['inclusion_ms']}, consistency {results['consistency_ms']}", file=sys.stderr)

    seconds, result = umbrella("ledger", "verify", "--json", env=env)
    report = json.loads(result.stdout)
    results["verify_s"] = round(seconds, 1)
    results["verify_ok"] = report["ok"]
    results["rows_checked"] = report["rows_checked"]
    print(f"verify: {seconds:.1f} s, ok={report['ok']}, {report['rows_checked']} rows", file=sys.stderr)

    help_text = umbrella("ledger", "verify", "--help", env=env)[1].stdout
    since = "--since" if "--since" in help_text else "--checkpoint"
    seconds, result = umbrella("ledger", "verify", since, str(kept), "--json", env=env)
    report = json.loads(result.stdout)
    results["since"] = {"option": since, "seconds": round(seconds, 1), "ok": report["ok"]}
    print(f"verify {since} (checkpoint at {size - KEPT_BEFORE_END}): {seconds:.1f} s, ok={report['ok']}", file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="a scratch PostgreSQL database, dropped and created afresh")
    parser.add_argument("--data-dir", type=Path, help="keep the data here (default: a temporary directory, removed)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        results = measure(args.entries, dict(os.environ), Path(os.environ["UMBRELLA_DATA_DIR"]))
        print(json.dumps(results))
        return 0
    with tempfile.TemporaryDirectory(prefix="umbrella-ledger-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "UMBRELLA_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "umbrella.settings"}
        env.pop("UMBRELLA_DATABASE_URL", None)
        if args.database_url:
            fresh_postgres_database(args.database_url)
            env["UMBRELLA_DATABASE_URL"] = args.database_url
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "umbrella", "demo", "--no-serve", "--scale", "0.02"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"demo loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        output = subprocess.run(
            [sys.executable, __file__, "--measure", "--entries", str(args.entries)],
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        results = {"database": "postgresql" if args.database_url else "sqlite", **json.loads(output.stdout.splitlines()[-1])}
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
