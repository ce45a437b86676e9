"""A write that meets a database held by another writer (a long import, say) is told to try again: a 503
problem with Retry-After on the API, the 503 page on the site, exit status 75 on the command line. The lock is
really held by a second connection (SQLite: BEGIN IMMEDIATE; PostgreSQL: the ledger head row FOR UPDATE) and
the wait is shortened through the database settings, as a deployment would set it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client
from django.utils import translation

from tests.conftest import ensure_base_data
from umbrella.core.access import Actor
from umbrella.core.database import BUSY, EX_TEMPFAIL, FULL, unavailable
from umbrella.core.testing import load_personas
from umbrella.needs.models import RequirementList
from umbrella.orgs.services import issue_token

SQLITE = connection.vendor == "sqlite"
WAIT = {"timeout": 1} if SQLITE else {"options": "-c lock_timeout=300"}
UMBRELLA = Path(sys.executable).with_name("umbrella")


@pytest.fixture
def short_wait():
    """The connection waits for a lock this long instead of 20 s (the settings a deployment would change)."""
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    options.update(WAIT)
    connection.close()
    yield
    options.clear()
    options.update(saved)
    connection.close()


@contextmanager
def write_lock_held_elsewhere():
    if SQLITE:
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    import psycopg

    parameters = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in parameters.items() if k in ("dbname", "user", "host", "port", "password")}) as other:
        other.execute("SELECT 1 FROM core_ledgerhead WHERE id = 1 FOR UPDATE")
        yield
        other.rollback()


def _database_url() -> str:
    """The test database as UMBRELLA_DATABASE_URL, with the short wait in its query."""
    db = connection.settings_dict
    if SQLITE:
        return f"sqlite:///{db['NAME']}?timeout={WAIT['timeout']}"
    query = urllib.parse.urlencode({"options": WAIT["options"]})
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}?{query}"


@pytest.mark.django_db(transaction=True)
def test_an_api_write_meeting_a_held_lock_is_a_503_to_retry(short_wait):
    ensure_base_data()
    recipient = load_personas().recipient
    _, secret = issue_token(
        actor=Actor.system("tests"), user_id=recipient.user.pk, organization_id=recipient.organization.pk, name="busy"
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = json.dumps({"series": "BUSY", "title": "Written while an import runs"})
    key = {"HTTP_IDEMPOTENCY_KEY": "busy-1"}
    with write_lock_held_elsewhere():
        response = client.post("/api/v1/requirement-lists", body, content_type="application/json", **key)
    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) > 0
    problem = response.json()
    assert problem["status"] == 503 and "busy" in problem["detail"] and "Traceback" not in response.content.decode()
    assert not RequirementList.objects.filter(series="BUSY").exists()
    retried = client.post("/api/v1/requirement-lists", body, content_type="application/json", **key)
    assert retried.status_code == 201  # the same key again: the refused attempt kept nothing of it


@pytest.mark.django_db(transaction=True)
def test_a_page_post_meeting_a_held_lock_shows_the_503_page_in_the_readers_language(short_wait):
    ensure_base_data()
    client = Client()
    client.force_login(load_personas().recipient.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    with write_lock_held_elsewhere():
        response = client.post(
            "/requirements/new/",
            {"series": "BUSY", "title": "Written while an import runs", "notes": "", "marking": "participants"},
        )
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    page = response.content.decode()
    with translation.override("uk"):
        back = translation.gettext("Back to the overview")
    assert '<html lang="uk">' in page and back in page and back != "Back to the overview"
    assert not RequirementList.objects.filter(series="BUSY").exists()


@pytest.mark.django_db(transaction=True)
def test_an_import_meeting_a_held_lock_exits_75_not_1_or_2(tmp_path, short_wait):
    ensure_base_data()
    path = tmp_path / "item-types.csv"
    path.write_text("code,name,capability_area,unit_of_issue,unit_value_eur\nBUSY-1,Written while locked,artillery,each,10.00\n")
    env = {**os.environ, "UMBRELLA_DATABASE_URL": _database_url()}
    with write_lock_held_elsewhere():
        result = subprocess.run(
            [str(UMBRELLA), "import", "item-types", str(path), "--user", "cora"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == EX_TEMPFAIL, (result.returncode, result.stdout, result.stderr[-2000:])
    assert "busy" in result.stderr and "Traceback" not in result.stderr
    again = subprocess.run(
        [str(UMBRELLA), "import", "item-types", str(path), "--user", "cora"], env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, (again.stdout, again.stderr[-2000:])


def test_what_counts_as_busy_or_full():
    assert unavailable(OperationalError("database is locked")).reason == BUSY
    assert unavailable(OperationalError("database or disk is full")).reason == FULL
    assert unavailable(OSError(28, "No space left on device")).reason == FULL
    assert unavailable(OperationalError("no such table: x")) is None
    assert unavailable(ValueError("database is locked")) is None


@pytest.mark.skipif(SQLITE, reason="PostgreSQL's own errors")
@pytest.mark.django_db(transaction=True)
def test_postgresql_lock_and_statement_timeouts_are_busy():
    from django.db import transaction

    ensure_base_data()
    for setting in ("lock_timeout", "statement_timeout"):
        with write_lock_held_elsewhere(), pytest.raises(OperationalError) as caught, transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL {setting} = 200")
                cursor.execute("SELECT 1 FROM core_ledgerhead WHERE id = 1 FOR UPDATE")
        assert unavailable(caught.value).reason == BUSY, setting


@pytest.mark.skipif(SQLITE, reason="PostgreSQL's lock wait")
@pytest.mark.django_db
def test_a_postgresql_connection_waits_at_most_20_seconds_for_a_lock_unless_the_url_says_otherwise():
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "20s"
