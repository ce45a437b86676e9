"""What a new user's walkthrough of the #11 work found: the admin's password link went around the ledger, a page's
500 left no traceback, a misspelt API filter answered with the whole list, a closing reason gave no warning of who
reads it, and a donor lost sight of its own gap on the fair-share page."""

import datetime as dt
import logging
from decimal import Decimal

import pytest
from django.test import Client

from tests import factories
from tests.test_partial_figures import PARTIAL, YEAR, committed, shares  # noqa: F401  (the fixture)
from umbrella.core.access import Actor, Marking
from umbrella.core.models import ChangeRecord
from umbrella.core.testing import PERSONA_PASSWORD
from umbrella.core.verify import verify
from umbrella.funding.queries import fair_share
from umbrella.orgs.services import issue_token, set_user_flags

NEW_PASSWORD = "a-new-and-long-passphrase-2026"

pytestmark = pytest.mark.django_db


def test_the_admins_password_link_leads_to_a_change_the_ledger_records(client, personas):
    client.force_login(
        set_user_flags(actor=Actor.system("tests"), user_id=personas.hq_admin.user.pk, is_staff=True, is_superuser=True)
    )
    assert client.get("/admin/password_change/")["Location"] == "/password/"
    answer = client.post("/password/", {"current": PERSONA_PASSWORD, "new": NEW_PASSWORD, "repeated": NEW_PASSWORD})
    assert answer.status_code == 302
    entry = ChangeRecord.objects.order_by("-sequence").first()
    assert (entry.action, entry.entity, entry.entity_id) == ("set-password", "auth.user", str(personas.hq_admin.user.pk))
    assert verify().ok
    assert client.get("/").status_code == 200  # still signed in after the change
    fresh = Client()
    assert fresh.login(username=personas.hq_admin.user.username, password=NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing(as_client, personas):
    before = ChangeRecord.objects.count()
    answer = as_client("donor_editor").post("/password/", {"current": "not it", "new": NEW_PASSWORD, "repeated": NEW_PASSWORD})
    assert answer.status_code == 400 and "That is not your current password." in answer.content.decode()
    assert ChangeRecord.objects.count() == before


def test_a_pages_unexpected_error_goes_to_the_servers_log():
    """Django reports a page's 500, with its traceback, only to the `django.request` logger; unless that logger
    writes somewhere, the operator sees an access line and nothing else."""
    logger = logging.getLogger("django.request")
    assert logger.isEnabledFor(logging.ERROR) and not logger.propagate
    assert any(isinstance(handler, logging.StreamHandler) for handler in logger.handlers)


def api_client(actor) -> Client:
    _, secret = issue_token(actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="api")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_a_misspelt_list_parameter_is_refused_not_ignored(personas):
    factories.pledge(personas)
    client = api_client(personas.coordinator)
    refused = client.get("/api/v1/pledges", {"stat": "withdrawn", "page": 1})
    assert refused.status_code == 422 and refused["Content-Type"] == "application/problem+json"
    assert list(refused.json()["errors"]) == ["stat"]
    assert client.get("/api/v1/pledges", {"state": "withdrawn", "page": 1, "page_size": 10}).status_code == 200
    item = factories.item_type(personas)
    assert client.get("/api/v1/compatibilities", {"item": item.code}).status_code == 200  # a plain query parameter


def test_a_closing_reason_says_who_will_read_it(as_client, personas):
    pledge = factories.advance(personas, factories.pledge(personas, marking=Marking.PUBLIC), "offer")
    page = as_client("donor_editor").get(f"/pledges/{pledge.pk}/withdraw/").content.decode()
    assert "shown with the pledge to everyone it is released to: Public" in page


def test_a_donor_sees_its_own_gap_on_the_fair_share_page_and_no_other(as_client, personas, shares):  # noqa: F811
    committed(personas, "second_donor", "50000.00", "coordination")
    report = fair_share(personas.donor_editor, YEAR)
    own, other = (next(s for s in report.shares if s.code == code) for code in ("XDA", "XDB"))
    assert not report.complete and report.gap_eur(own) == Decimal("150000.00") and report.gap_eur(other) is None
    page = as_client("donor_editor").get(f"/funding/fair-share/?year={YEAR}").content.decode()
    assert "live, your organization" in page and "150,000.00" in page and "Donor B" not in page  # XDB: partial, not shown
    assert dt.date.today().year == YEAR
