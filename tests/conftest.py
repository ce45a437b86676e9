from __future__ import annotations

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


def pytest_configure(config):
    # Argon2 is deliberately slow; tests that check the production hasher read umbrella.settings itself.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
