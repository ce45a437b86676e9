"""Killed midway, nothing partial: the installed `umbrella import` is killed with SIGKILL while it writes a
large file (on a pseudo-terminal, so it draws its progress bar and the test knows how far it got), and the
database is as it was before, with a ledger that verifies. Runs on the suite's database engine: SQLite here,
PostgreSQL (a database of its own) on that leg."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import select
import signal
import subprocess
import time

import pytest

from tests import demo_copies
from tests.test_cli_json import UMBRELLA

ROWS = 20_000
COUNTS = (
    "from umbrella.pledges.models import Pledge, PledgeSource; from umbrella.core.models import ChangeRecord; "
    "print('counts=' + ','.join(str(m.objects.count()) for m in (Pledge, PledgeSource, ChangeRecord)))"
)


def _counts(env) -> str:
    output = subprocess.run([UMBRELLA, "shell", "-c", COUNTS], env=env, capture_output=True, text=True, check=True).stdout
    return next(line for line in output.splitlines() if line.startswith("counts="))


def _item_codes(env) -> list[str]:
    script = (
        "from umbrella.catalog.models import ItemType; "
        "print(' '.join('code=' + c for c in ItemType.objects.values_list('code', flat=True)[:20]))"
    )
    output = subprocess.run([UMBRELLA, "shell", "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    return [word.removeprefix("code=") for word in output.split() if word.startswith("code=")]


def _write_pledges(path, codes: list[str], rows: int):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_type", "quantity", "available_from", "source_kind", "source_url", "source_date"])
        for number in range(rows):
            code, quantity, url = codes[number % len(codes)], 1 + number % 50, f"https://example.org/{number}"
            writer.writerow([code, quantity, "2027-05-01", "official", url, "2026-11-01"])
    return path


@pytest.fixture(scope="module")
def demo_env(prepared_demo, tmp_path_factory):
    """A copy of the small demo on its own database (SQLite, or PostgreSQL on that leg)."""
    with demo_copies.copy_of(prepared_demo, tmp_path_factory, "import_kill") as (data_dir, database_url):
        yield {"env": demo_copies.environment(data_dir, database_url), "dir": data_dir}


@pytest.fixture(scope="module")
def big_file(demo_env, tmp_path_factory):
    return _write_pledges(tmp_path_factory.mktemp("kill") / "pledges.csv", _item_codes(demo_env["env"]), ROWS)


def _import_until(env, arguments: list[str], rows_done: int) -> int:
    """Start `umbrella import ARGUMENTS` on a pseudo-terminal, kill it with SIGKILL once its bar says `rows_done`
    rows are done; the rows it had reached."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [UMBRELLA, "import", *arguments],
        env={**env, "COLUMNS": "120"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
    )
    os.close(secondary)
    seen, reached, deadline = b"", 0, time.monotonic() + 300
    try:
        while reached < rows_done and time.monotonic() < deadline and process.poll() is None:
            if select.select([primary], [], [], 0.5)[0]:
                try:
                    seen = (seen + os.read(primary, 65536))[-4096:]
                except OSError:
                    break
                counts = [int(n.replace(b",", b"")) for n in re.findall(rb"([\d,]+) of (?:about )?[\d,]+ rows", seen)]
                reached = max([reached, *counts])
        assert process.poll() is None, f"the import ended before it was killed: {seen[-500:]!r}"
        assert reached >= rows_done, f"no progress to {rows_done} rows was drawn: {seen[-500:]!r}"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        os.close(primary)
    return reached


@pytest.mark.parametrize("rows_done", [500, 2_500, 12_000])
def test_an_import_killed_midway_leaves_the_database_as_it_was(demo_env, big_file, rows_done):
    env = demo_env["env"]
    before = _counts(env)
    reached = _import_until(env, ["pledges", str(big_file), "--user", "deu-liaison"], rows_done)
    assert reached < ROWS
    assert _counts(env) == before
    result = subprocess.run([UMBRELLA, "ledger", "verify", "--json"], env=env, capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"], report["first_problem"]
    assert report["size"] == int(before.split(",")[-1])
    _an_import_after_it_is_written(env, big_file.with_name("three.csv"), before)


def _an_import_after_it_is_written(env, path, before: str) -> None:
    """The database is not left locked or half-recovered: the next import writes."""
    _write_pledges(path, _item_codes(env), 3)
    result = subprocess.run(
        [UMBRELLA, "import", "pledges", str(path), "--user", "deu-liaison", "--json"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0 and json.loads(result.stdout)["written"], result.stderr
    pledges, sources, _entries = (int(n) for n in before.removeprefix("counts=").split(","))
    assert _counts(env).startswith(f"counts={pledges + 3},{sources + 3},")
