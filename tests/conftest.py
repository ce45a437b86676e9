from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from tests import demo_copies
from umbrella.core.testing import build_personas, load_personas


def load_gazetteer() -> None:
    """The packaged gazetteer, as the demo loads it: destinations in tests name real places (Lviv, UA-63). The
    headquarters' administrator writes it, so that the coordinator's history (which the ledger page's person
    filter lists in full) does not start with ninety places."""
    from umbrella.core import imports
    from umbrella.core.tabular import read_table
    from umbrella.places.importers import GAZETTEER

    table = read_table(GAZETTEER.read_bytes(), GAZETTEER.name, max_bytes=1_000_000)
    report = imports.run_import(
        imports.importer_for("places"), actor=load_personas().hq_admin, table=table, filename=GAZETTEER.name, dry_run=False
    )
    assert report.ok, report.errors


# The rows migrations load, by the migrations' own functions: what a transactional test's flush removes.
BASE_DATA = (
    ("umbrella.core.migrations.0002_ledger_head", "create_head"),
    ("umbrella.catalog.migrations.0002_capability_areas", "add_areas"),
)


def ensure_base_data() -> None:
    """Transactional tests flush the database after them; put back what migrations load and the personas. The
    migrations' data functions are called directly (each is idempotent): migrating back and forth to run them
    again would take most of the schema down and up."""
    from django.apps import apps
    from django.contrib.auth import get_user_model

    for module, function in BASE_DATA:
        getattr(importlib.import_module(module), function)(apps, None)
    if not get_user_model().objects.filter(username="alice").exists():
        build_personas()


def pytest_configure(config):
    # Argon2 is deliberately slow; tests that check the production hasher read umbrella.settings itself.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# What a test may not use and still be marked database_independent: pytest-django's ways into the database, the
# fixtures of this suite that read it, and, in its module, a subprocess or a database URL (a command run against
# the leg's database).
DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}
    | {"personas", "as_client", "client", "admin_client", "prepared_demo"}
)
DATABASE_WORDS = ("subprocess", "UMBRELLA_DATABASE_URL", "demo_copies", "connection")


SECOND_LEG = bool(os.environ.get("UMBRELLA_TEST_SECOND_LEG"))  # set by scripts/test on the PostgreSQL leg


def pytest_collection_modifyitems(config, items):
    """Tests marked database_independent (pure engines, the code's own shape) run on one leg of `make test`
    only: scripts/test sets UMBRELLA_TEST_SECOND_LEG on the PostgreSQL leg, which leaves them out, since they
    would run there exactly as on SQLite. The mark is refused on a test that reaches a database. A test marked
    one_leg is left out there too, each for the reason its mark gives."""
    for item in items:
        if item.get_closest_marker("database_independent"):
            _refuse_database_use(item)
    if SECOND_LEG:
        left = [item for item in items if item.get_closest_marker("database_independent") or item.get_closest_marker("one_leg")]
        if left:
            config.hook.pytest_deselected(items=left)
            items[:] = [item for item in items if item not in left]


def _refuse_database_use(item) -> None:
    used = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
    source = Path(item.fspath).read_text(encoding="utf-8")
    words = [word for word in DATABASE_WORDS if word in source]
    if item.get_closest_marker("django_db") or used or words:
        reasons = ["marked django_db"] * bool(item.get_closest_marker("django_db")) + sorted(used) + words
        raise pytest.UsageError(f"{item.nodeid} is marked database_independent but uses {', '.join(reasons)}")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        build_personas()
        load_gazetteer()


@pytest.fixture(scope="session")
def prepared_demo(tmp_path_factory):
    """The demo loaded once for the whole run; suites that need one take a copy (`demo_copies.copy_of`)."""
    with demo_copies.prepared_demo(tmp_path_factory) as demo:
        yield demo


@pytest.fixture(autouse=True)
def english_unless_asked():
    """A request leaves its language active in the thread; each test starts in the default language again."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def personas(db):
    return load_personas()


@pytest.fixture
def as_client(client, personas):
    """A test client signed in as the named persona (anonymous: not signed in)."""

    def sign_in(name: str):
        client.logout()
        actor = personas[name]
        if actor.user is not None:
            client.force_login(actor.user)
        return client

    return sign_in
