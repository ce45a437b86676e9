"""The browser journeys: Playwright drives Debian's Chromium (never a downloaded browser) against a real
`umbrella serve` on its own copy of the demo scenario as `umbrella demo --no-serve` loads it (tests/demo_copies.py).

The server gets a data directory of its own and, on the PostgreSQL leg, a database of its own next to the
test database, so the journeys are end to end on both engines (the layout checks, phone and desktop header, run on
the SQLite leg only: the same HTML and CSS on either). Screenshots go to var/screenshots/ (ignored
by git)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests import demo_copies

CHROMIUM = os.environ.get("UMBRELLA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "umbrella-demo"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
UMBRELLA = demo_copies.UMBRELLA


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server(request, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI installs Debian's chromium (scripts/test).")
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (scripts/test installs it when run as root)")
    demo = request.getfixturevalue("prepared_demo")
    with demo_copies.copy_of(demo, tmp_path_factory, "browser") as (data_dir, database_url):
        env = demo_copies.environment(data_dir, database_url, UMBRELLA_SECURE_COOKIES="false", UMBRELLA_DEBUG="false")
        port = _free_port()
        process = subprocess.Popen(
            [*UMBRELLA, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(base + "/sign-in/", process)
            yield {"base": base, "data_dir": data_dir, "env": env}
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_for(url: str, process: subprocess.Popen) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    process.kill()
    pytest.fail("umbrella serve did not answer")


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
