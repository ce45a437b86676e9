"""Ledger at scale: append, checkpoint, proofs and verify on a ledger of N entries.

    python benchmarks/ledger.py [--entries 1000000] [--database-url postgres://user@host:5432/scratch]
                                [--data-dir DIR [--reuse]] [--repeat 3] [--json FILE]

A scratch data directory gets the demo at scale 0.02 (its organizations, people, catalogue and pledges), then
pledges cloned from the demo's are inserted in batches and each is ledgered through `record_changes`, the one
append path, with its real snapshot: a `create` entry, then an `update` entry when its quantity changes. Every
entry is therefore a real, hash-chained entry about a real row, and verify replays all of them into the table.
With --database-url, that PostgreSQL database is dropped and created afresh (give a scratch name).

A checkpoint is signed when the ledger holds N - 1000 entries and kept in a file; the last 1000 are appended
after it. `--reuse` measures a ledger an earlier run built and kept in `--data-dir` (to compare two versions
of the code on the same ledger). Then, each timed:

- `umbrella ledger checkpoint --json` (a subprocess, as an operator runs it);
- the inclusion proof of 100 random entries and the consistency proof from 20 random sizes, through the API
  (`GET /api/v1/ledger/proofs/...` with Django's test client, in process, after one request to warm up):
  median and slowest;
- `umbrella ledger verify --json` (everything), and `umbrella ledger verify --since FILE --json` against the
  kept checkpoint (on code without --since: `--checkpoint FILE`, which verifies everything).

Each command runs `--repeat` times; the fastest is reported, with the processor time it took (user and system,
its own processes included), which other work on a shared machine stretches less than the wall time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROWS_PER_BATCH = 5000
KEPT_BEFORE_END = 1000
KEPT = "checkpoint-kept.json"


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


def umbrella(*arguments: str, env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Runs the command; its wall time, its processor time (its processes included) and its result."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "umbrella", *arguments], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime), result


def fastest(repeat: int, *arguments: str, env: dict[str, str]) -> tuple[dict, subprocess.CompletedProcess]:
    runs = [umbrella(*arguments, env=env) for _ in range(repeat)]
    wall, cpu, result = min(runs, key=lambda run: run[0])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return {"s": round(wall, 2), "cpu_s": round(cpu, 1), "all_s": [round(run[0], 1) for run in runs]}, result


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


def build(entries: int, data_dir: Path) -> dict:
    from django.core.management import call_command

    from umbrella.core.models import LedgerHead

    builder = Builder()
    started = time.perf_counter()
    builder.grow_to(entries - KEPT_BEFORE_END)
    out = io.StringIO()
    call_command("ledger", "checkpoint", "--json", stdout=out)
    (data_dir / KEPT).write_text(out.getvalue())
    builder.grow_to(entries)
    build_seconds = time.perf_counter() - started
    size = LedgerHead.objects.get(pk=1).size
    print(f"built {size} entries in {build_seconds:.0f} s ({builder.appending:.0f} s in record_changes)", file=sys.stderr)
    return {"build_s": round(build_seconds, 1), "append_s": round(builder.appending, 1)}


def measure(env: dict[str, str], data_dir: Path, repeat: int) -> dict:
    from django.test import Client

    from umbrella.core.models import LedgerHead

    size = LedgerHead.objects.get(pk=1).size
    results: dict = {"entries": size}
    results["checkpoint"] = fastest(repeat, "ledger", "checkpoint", "--json", env=env)[0]

    rng = random.Random(9162)
    client = Client(HTTP_HOST="127.0.0.1")
    timed_requests(client, ["/api/v1/ledger/checkpoint"])  # the first request loads the API's modules; not timed
    inclusion = timed_requests(client, [f"/api/v1/ledger/proofs/inclusion?sequence={rng.randint(1, size)}" for _ in range(100)])
    consistency = timed_requests(client, [f"/api/v1/ledger/proofs/consistency?first={rng.randint(1, size)}" for _ in range(20)])
    results["inclusion_ms"] = {"median": round(statistics.median(inclusion), 1), "max": round(max(inclusion), 1)}
    results["consistency_ms"] = {"median": round(statistics.median(consistency), 1), "max": round(max(consistency), 1)}
    print(f"proofs: inclusion {results['inclusion_ms']}, consistency {results['consistency_ms']}", file=sys.stderr)

    results["verify"], result = fastest(repeat, "ledger", "verify", "--json", env=env)
    report = json.loads(result.stdout)
    results["verify"].update(ok=report["ok"], rows_checked=report["rows_checked"])
    print(f"verify: {results['verify']}", file=sys.stderr)

    help_text = umbrella("ledger", "verify", "--help", env=env)[2].stdout
    since = "--since" if "--since" in help_text else "--checkpoint"
    results["since"], result = fastest(repeat, "ledger", "verify", since, str(data_dir / KEPT), "--json", env=env)
    results["since"].update(option=since, ok=json.loads(result.stdout)["ok"])
    print(f"verify {since} (checkpoint at {size - KEPT_BEFORE_END}): {results['since']}", file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="a scratch PostgreSQL database, dropped and created afresh")
    parser.add_argument("--data-dir", type=Path, help="keep the data here (default: a temporary directory, removed)")
    parser.add_argument("--reuse", action="store_true", help="measure the ledger an earlier run built in --data-dir")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the fastest is reported")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--measure", choices=["build", "reuse"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        import django

        django.setup()
        data_dir = Path(os.environ["UMBRELLA_DATA_DIR"])
        built = build(args.entries, data_dir) if args.measure == "build" else {}
        print(json.dumps({**built, **measure(dict(os.environ), data_dir, args.repeat)}))
        return 0
    if args.reuse and not (args.data_dir and (args.data_dir / KEPT).exists()):
        parser.error("--reuse needs the --data-dir of an earlier run")
    with tempfile.TemporaryDirectory(prefix="umbrella-ledger-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "UMBRELLA_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "umbrella.settings"}
        env.pop("UMBRELLA_DATABASE_URL", None)
        if args.database_url:
            env["UMBRELLA_DATABASE_URL"] = args.database_url
        if not args.reuse:
            if args.database_url:
                fresh_postgres_database(args.database_url)
            started = time.perf_counter()
            demo = [sys.executable, "-m", "umbrella", "demo", "--no-serve", "--scale", "0.02"]
            subprocess.run(demo, env=env, check=True, stdout=subprocess.DEVNULL)
            print(f"demo loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        mode = "reuse" if args.reuse else "build"
        command = [sys.executable, __file__, "--measure", mode, "--entries", str(args.entries), "--repeat", str(args.repeat)]
        output = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True)
        results = {"database": "postgresql" if args.database_url else "sqlite", **json.loads(output.stdout.splitlines()[-1])}
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
