"""The browser journeys: Playwright drives Debian's Chromium (never a downloaded browser) against a real
`umbrella serve` on its own database, loaded with the demo scenario by `umbrella demo --no-serve`.

The server gets a data directory of its own and, on the PostgreSQL leg, a database of its own next to the
test database, so the journeys are end to end on both engines. Screenshots go to var/screenshots/ (ignored
by git)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dj_database_url
import psycopg
import pytest

CHROMIUM = os.environ.get("UMBRELLA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_SCALE = "0.1"
PASSWORD = "umbrella-demo"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
UMBRELLA = [sys.executable, "-m", "umbrella"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _own_database(url: str | None):
    """A fresh PostgreSQL database for the server on the PostgreSQL leg (None on SQLite)."""
    if not url:
        return None, None
    config = dj_database_url.parse(url)
    name = f"{config['NAME']}_browser"
    admin = psycopg.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        autocommit=True,
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}", (admin, name)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI installs Debian's chromium (scripts/test).")
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (scripts/test installs it when run as root)")
    data_dir = tmp_path_factory.mktemp("browser-data")
    database_url, admin = _own_database(os.environ.get("UMBRELLA_DATABASE_URL"))
    env = {**os.environ, "UMBRELLA_DATA_DIR": str(data_dir), "UMBRELLA_SECURE_COOKIES": "false", "UMBRELLA_DEBUG": "false"}
    env.pop("UMBRELLA_DATABASE_URL", None)
    if database_url:
        env["UMBRELLA_DATABASE_URL"] = database_url
    subprocess.run(
        [*UMBRELLA, "demo", "--no-serve", "--scale", DEMO_SCALE], env=env, check=True, capture_output=True, timeout=600
    )
    port = _free_port()
    process = subprocess.Popen(
        [*UMBRELLA, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/sign-in/", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("umbrella serve did not answer")
    yield {"base": base, "data_dir": data_dir, "env": env}
    process.terminate()
    process.wait(timeout=30)
    if admin:
        connection, name = admin
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server["base"], viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page, username: str) -> None:
    page.goto("/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
