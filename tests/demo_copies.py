"""The demo as `umbrella demo --no-serve` loads it, prepared once per test run and copied for every suite that
serves or scripts against it: a copy takes a second, a load most of a minute (longer on PostgreSQL).

Each copy is a data directory of its own and, on the PostgreSQL leg, a database of its own next to the test
database (created from the prepared one as its template), so what one suite writes no other suite sees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dj_database_url
import psycopg

DEMO_SCALE = "0.1"
UMBRELLA = [sys.executable, "-m", "umbrella"]


def _admin(url: str) -> psycopg.Connection:
    config = dj_database_url.parse(url)
    return psycopg.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        autocommit=True,
    )


@contextmanager
def own_database(url: str | None, suffix: str, template: str | None = None):
    """A fresh PostgreSQL database named after the test database's with `suffix` (a copy of `template` if
    given), dropped on leaving; its URL, or None on the SQLite leg."""
    if not url:
        yield None
        return
    name = f"{dj_database_url.parse(url)['NAME']}_{suffix}"
    with _admin(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        try:
            yield url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(data_dir: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of an `umbrella` subprocess on this data directory and database, with its own settings
    module's defaults (not the test run's)."""
    env = {key: value for key, value in os.environ.items() if key not in ("UMBRELLA_DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env |= {"UMBRELLA_DATA_DIR": str(data_dir), **extra}
    if database_url:
        env["UMBRELLA_DATABASE_URL"] = database_url
    return env


@dataclass(frozen=True)
class PreparedDemo:
    data_dir: Path
    database_url: str | None  # the template database on the PostgreSQL leg


@contextmanager
def prepared_demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo-prepared")
    with own_database(os.environ.get("UMBRELLA_DATABASE_URL"), "demo") as database_url:
        subprocess.run(
            [*UMBRELLA, "demo", "--no-serve", "--scale", DEMO_SCALE],
            env=environment(data_dir, database_url),
            check=True,
            capture_output=True,
            timeout=600,
        )
        yield PreparedDemo(data_dir, database_url)
    shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def copy_of(demo: PreparedDemo, tmp_path_factory, name: str):
    """A copy of the prepared demo, as (data directory, database URL or None)."""
    data_dir = tmp_path_factory.mktemp(f"{name}-data")
    shutil.copytree(demo.data_dir, data_dir, dirs_exist_ok=True)
    template = dj_database_url.parse(demo.database_url)["NAME"] if demo.database_url else None
    try:
        with own_database(demo.database_url, name, template) as database_url:
            yield data_dir, database_url
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
